/**
 * Each app's delivery pipeline, rendered from the model into `dist/pipelines/<app>/Jenkinsfile`
 * (outside every Argo CD Application path). Jenkins' job for the app (JCasC) loads it from this
 * repository, so a change of the pipeline is reviewed in the diff of `dist/` like everything else.
 *
 *   Build pod (kaniko):   checkout -> test (Dockerfile stage `test`) -> build and push to Harbor,
 *                         tagged with the commit SHA -> wait for Harbor's Trivy scan, stop on
 *                         critical findings
 *   Per environment, in the model's order (the first automatically, each next after an approval):
 *   Deploy pod:           `npm run set-image` in this repository, policy gates, push (Argo CD
 *                         deploys it) -> wait for the rollout -> the app's smoke tests
 *
 * Values from the model enter the Groovy as quoted literals in `environment` blocks; the shell
 * steps read them as environment variables, so no value is ever spliced into a command line.
 *
 * @see docs/decisions/0043-pipeline-in-this-repository.md
 */
import { appNamespace, type Platform } from '../../config';
import { APP_CONTAINER, appImageRepository, appInClusterUrl } from '../apps/app';
import { CREDENTIALS, DEPLOY_AGENT, GITLAB_CONNECTION, KANIKO_AGENT, PIPELINE_BRANCH, pipelineFile, pipelinePath } from './names';

/** How long the pipeline waits for Harbor's scan and for a rollout, and for an approval. */
export const SCAN_TIMEOUT_SECONDS = 900;
export const ROLLOUT_TIMEOUT_SECONDS = 900;
export const APPROVAL_TIMEOUT_DAYS = 14;

/** A Groovy single-quoted string literal: no interpolation, backslash and quote escaped. */
export function groovyString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** A Groovy triple-single-quoted literal for a multi-line shell script (no interpolation). */
export function groovyScript(script: string, indent: string): string {
  const body = script.replace(/\\/g, '\\\\').replace(/'''/g, "\\'\\'\\'");
  return `'''\n${body
    .split('\n')
    .map((line) => (line ? `${indent}  ${line}` : ''))
    .join('\n')}\n${indent}'''`;
}

/** Reads a script back from the Groovy literal `groovyScript` wrote (for tests and reviewers). */
export function scriptOfGroovy(literal: string): string {
  const inner = literal.replace(/^'''\n/, '').replace(/\n\s*'''$/, '');
  const lines = inner.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines
    .map((l) => l.slice(indent))
    .join('\n')
    .replace(/\\'\\'\\'/g, "'''")
    .replace(/\\\\/g, '\\');
}

/**
 * The deploy step, run in a clone of this repository's branch: set the environment's image tag
 * (model and dist/), run the policy gates, commit, push. A rejected push (someone else pushed
 * meanwhile) starts over from the new head, so the change is always rendered on top of it.
 */
export function deployScript(platform: Platform): string {
  return [
    'set -eu',
    '# Expanded by the credential helper when git calls it, not here: the token never is an argument.',
    '# shellcheck disable=SC2016',
    `git config --global credential.helper '!f() { echo "username=$GIT_USERNAME"; echo "password=$GIT_PASSWORD"; }; f'`,
    "git config --global user.name 'Jenkins (delivery pipeline)'",
    `git config --global user.email 'jenkins@${platform.domain}'`,
    'attempt=1',
    'while [ "$attempt" -le 3 ]; do',
    '  rm -rf deploy',
    '  git clone --quiet --depth 1 --branch "$PLATFORM_BRANCH" "$PLATFORM_REPOSITORY" deploy',
    '  cd deploy',
    '  npm ci --no-audit --no-fund',
    '  npm run --silent set-image -- --app "$APP" --env "$APP_ENV" --tag "$TAG"',
    '  npm run --silent policy',
    '  git add config/app-images.json dist',
    '  if git diff --cached --quiet; then',
    '    echo "$APP_ENV already runs $TAG: nothing to push"',
    '    exit 0',
    '  fi',
    '  git commit --quiet -m "Deploy $APP $TAG to $APP_ENV" -m "Built, tested and scanned by $BUILD_URL"',
    '  if git push --quiet origin "HEAD:$PLATFORM_BRANCH"; then',
    '    exit 0',
    '  fi',
    '  cd ..',
    '  echo "the push was rejected (the branch moved): starting over from its new head" >&2',
    '  attempt=$((attempt + 1))',
    'done',
    'echo "could not push after 3 attempts" >&2',
    'exit 1',
  ].join('\n');
}

/** The kaniko invocations: the `test` stage without pushing, then the image itself. */
export const TEST_SCRIPT = '/kaniko/executor --context "dir://$WORKSPACE/app" --dockerfile "$WORKSPACE/app/Dockerfile" --target test --no-push --cleanup';
export const BUILD_SCRIPT =
  '/kaniko/executor --context "dir://$WORKSPACE/app" --dockerfile "$WORKSPACE/app/Dockerfile" --destination "$IMAGE:$TAG"' +
  ' --label "org.opencontainers.image.revision=$TAG" --label "org.opencontainers.image.source=$APP_REPOSITORY" --cleanup';
export const SCAN_SCRIPT = `node platform/cli/pipeline-steps.mjs harbor-scan --harbor-url "$HARBOR_URL" --repository "$HARBOR_REPOSITORY" --tag "$TAG" --docker-config /kaniko/.docker/config.json --timeout-seconds ${SCAN_TIMEOUT_SECONDS}`;
export const ROLLOUT_SCRIPT = `node platform/cli/pipeline-steps.mjs wait-rollout --namespace "$APP_NAMESPACE" --deployment "$APP" --container ${APP_CONTAINER} --image "$IMAGE:$TAG" --timeout-seconds ${ROLLOUT_TIMEOUT_SECONDS}`;

function checkoutApp(revision: string): string {
  return `checkout([$class: 'GitSCM', branches: [[name: ${revision}]], userRemoteConfigs: [[url: env.APP_REPOSITORY, credentialsId: ${groovyString(CREDENTIALS.git)}]]])`;
}

function kubernetesAgent(template: string, indent: string): string[] {
  return [
    `${indent}agent {`,
    `${indent}  kubernetes {`,
    `${indent}    inheritFrom ${groovyString(template)}`,
    `${indent}    defaultContainer 'tools'`,
    `${indent}  }`,
    `${indent}}`,
  ];
}

/** The Jenkinsfile of one app. */
export function renderJenkinsfile(platform: Platform, app: string): string {
  const spec = platform.apps[app];
  if (!spec) throw new Error(`apps.${app}: no such app`);
  const gitlab = platform.services.gitlab.host;
  const harbor = platform.services.harbor.host;
  if (!gitlab || !harbor) throw new Error('services.gitlab.host and services.harbor.host: the pipeline clones from GitLab and pushes to Harbor; give both a public host');
  const envs = Object.keys(platform.environments);
  const lines: string[] = [
    `// The delivery pipeline of app ${app}, rendered by \`npm run synth\` from the platform model.`,
    `// Do not edit: change apps.${app} in the model (or charts/build/pipeline.ts) and render again.`,
    `// Jenkins' job ${app} (JCasC) loads it from ${pipelinePath(app)} of the platform repository; a push`,
    `// to ${PIPELINE_BRANCH} of ${spec.repository} on GitLab starts it. Environments in order: ${envs.join(' -> ')}.`,
    '',
    '// Deploys TAG to APP_ENV: `npm run set-image` in a fresh clone of the platform repository (model',
    '// and dist/), the policy gates, commit, push; Argo CD syncs it within three minutes. A rejected',
    '// push (the branch moved meanwhile) starts over from the new head.',
    'def setImageAndPush() {',
    `  withCredentials([usernamePassword(credentialsId: ${groovyString(CREDENTIALS.git)}, usernameVariable: 'GIT_USERNAME', passwordVariable: 'GIT_PASSWORD')]) {`,
    `    sh(label: 'npm run set-image, the policy gates, push', script: ${groovyScript(deployScript(platform), '    ')})`,
    '  }',
    '}',
    '',
    'pipeline {',
    '  agent none',
    '  options {',
    `    gitLabConnection(${groovyString(GITLAB_CONNECTION)})`,
    '    disableConcurrentBuilds()',
    "    buildDiscarder(logRotator(numToKeepStr: '50'))",
    '    skipDefaultCheckout()',
    '  }',
    '  environment {',
    `    APP = ${groovyString(app)}`,
    `    APP_REPOSITORY = ${groovyString(`https://${gitlab}/${spec.repository}.git`)}`,
    `    HARBOR_URL = ${groovyString(`https://${harbor}`)}`,
    `    HARBOR_REPOSITORY = ${groovyString(spec.image)}`,
    `    IMAGE = ${groovyString(appImageRepository(platform, app))}`,
    `    PLATFORM_REPOSITORY = ${groovyString(platform.git.repoURL)}`,
    `    PLATFORM_BRANCH = ${groovyString(platform.git.targetRevision)}`,
    '  }',
    '  stages {',
    "    stage('Build') {",
    ...kubernetesAgent(KANIKO_AGENT.name, '      '),
    '      stages {',
    "        stage('Checkout') {",
    '          steps {',
    "            updateGitlabCommitStatus(name: 'build', state: 'running')",
    "            dir('app') {",
    '              script {',
    "                // The pushed commit (GitLab's webhook); a manual run builds the branch head.",
    `                def source = ${checkoutApp(`env.gitlabAfter ?: ${groovyString(`refs/heads/${PIPELINE_BRANCH}`)}`)}`,
    '                env.TAG = source.GIT_COMMIT',
    '              }',
    '            }',
    "            dir('platform') {",
    '              checkout scm',
    '            }',
    '          }',
    '        }',
    "        stage('Test') {",
    '          steps {',
    "            container('kaniko') {",
    `              sh(label: 'build the Dockerfile stage test (runs the tests)', script: ${groovyString(TEST_SCRIPT)})`,
    '            }',
    '          }',
    '        }',
    "        stage('Build and push') {",
    '          steps {',
    "            container('kaniko') {",
    `              sh(label: 'build the image, tag it with the commit and push it to Harbor', script: ${groovyString(BUILD_SCRIPT)})`,
    '            }',
    '          }',
    '        }',
    "        stage('Vulnerability scan') {",
    '          steps {',
    `            sh(label: 'wait for Harbor\\'s Trivy scan; stop on critical vulnerabilities', script: ${groovyString(SCAN_SCRIPT)})`,
    '          }',
    '        }',
    '      }',
    '      post {',
    "        success { updateGitlabCommitStatus(name: 'build', state: 'success') }",
    "        failure { updateGitlabCommitStatus(name: 'build', state: 'failed') }",
    "        aborted { updateGitlabCommitStatus(name: 'build', state: 'canceled') }",
    '      }',
    '    }',
  ];

  envs.forEach((env, index) => {
    const deployment = spec.environments[env];
    if (!deployment) throw new Error(`apps.${app}.environments: misses ${env}; declare every environment of the model`);
    if (index > 0) {
      lines.push(
        `    stage(${groovyString(`Approve ${env}`)}) {`,
        '      steps {',
        `        timeout(time: ${APPROVAL_TIMEOUT_DAYS}, unit: 'DAYS') {`,
        `          input(message: 'Deploy ' + env.APP + ' ' + env.TAG + ${groovyString(` to ${env}?`)}, ok: ${groovyString(`Deploy to ${env}`)})`,
        '        }',
        '      }',
        '    }',
      );
    }
    lines.push(
      `    stage(${groovyString(`Deploy ${env}`)}) {`,
      ...kubernetesAgent(DEPLOY_AGENT.name, '      '),
      '      environment {',
      `        APP_ENV = ${groovyString(env)}`,
      `        APP_NAMESPACE = ${groovyString(appNamespace(app, env))}`,
      `        APP_URL = ${groovyString(appInClusterUrl(app, env))}`,
      `        APP_HOST = ${groovyString(deployment.host)}`,
      '      }',
      '      stages {',
      `        stage(${groovyString(`Set the image of ${env}`)}) {`,
      '          steps {',
      "            dir('platform') {",
      '              checkout scm',
      '            }',
      '            script {',
      '              setImageAndPush()',
      '            }',
      '          }',
      '        }',
      `        stage(${groovyString(`Integration test ${env}`)}) {`,
      '          steps {',
      `            sh(label: 'wait until the environment runs the new image', script: ${groovyString(ROLLOUT_SCRIPT)})`,
      "            dir('app') {",
      `              ${checkoutApp('env.TAG')}`,
      `              sh(label: ${groovyString(`smoke tests of ${app} in ${env}`)}, script: ${groovyString(spec.smokeTest)})`,
      '            }',
      '          }',
      '        }',
      '      }',
      '    }',
    );
  });
  lines.push('  }', '}', '');
  return lines.join('\n');
}

/** Every app's Jenkinsfile, by its path under dist/. */
export function renderPipelines(platform: Platform): Map<string, string> {
  return new Map(Object.keys(platform.apps).map((app) => [pipelineFile(app), renderJenkinsfile(platform, app)]));
}
