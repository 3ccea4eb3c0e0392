/**
 * Each app's delivery pipeline, rendered from the model into `dist/pipelines/<app>/Jenkinsfile`
 * (outside every Argo CD Application path). Jenkins' job for the app (JCasC) loads it from this
 * repository, so a change of the pipeline is reviewed in the diff of `dist/` like everything else.
 *
 *   Build pod (kaniko-<app>): checkout -> test (Dockerfile stage `test`) -> build into a tarball
 *                         (Kaniko, no registry credential) -> push it to Harbor, tagged with the
 *                         commit SHA (crane, with the credential) -> wait for Harbor's Trivy scan
 *                         of the pushed digest, stop on critical findings
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
import { APP_CONTAINER, DEPLOY_AGENT, appInClusterUrl, imageRepository } from '../lib/delivery';
import { CREDENTIALS, GITLAB_CONNECTION, PIPELINE_BRANCH, REGISTRY_CONFIG_DIR, buildAgentName, pipelineFile, pipelinePath } from './names';

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
 * Where the jnlp container keeps its own clone of this repository: its home (an emptyDir only
 * that container mounts), outside the workspace every container of the pod shares.
 */
export const PRIVATE_CLONE = '/home/jenkins/platform';
/** The one commit the render step hands to the push step (in the shared workspace). */
export const DEPLOY_BUNDLE = 'deploy.bundle';

/**
 * Git with no configuration but what the step itself passes: neither the system's nor a global
 * file (a dependency's install script could have written one), the credentials from the
 * environment through the helper, no hooks. Only the fetch and push steps define it.
 */
const TRUSTED_GIT = [
  'export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null',
  '# Expanded by the credential helper when git calls it, not here: the token never is an argument.',
  '# shellcheck disable=SC2016',
  `helper='!f() { echo "username=$GIT_USERNAME"; echo "password=$GIT_PASSWORD"; }; f'`,
];

/**
 * Step 1 of a deploy, in the jnlp container with the Git token: a fresh clone of this
 * repository's branch into the container's private home, and a copy of it (no token, no remote
 * that needs one) into the workspace for the render.
 */
export function fetchScript(): string {
  return [
    'set -eu',
    ...TRUSTED_GIT,
    `rm -rf ${PRIVATE_CLONE} deploy ${DEPLOY_BUNDLE}`,
    `git -c credential.helper="$helper" -c core.hooksPath=/dev/null clone --quiet --depth 1 --branch "$PLATFORM_BRANCH" "$PLATFORM_REPOSITORY" ${PRIVATE_CLONE}`,
    `git -c core.hooksPath=/dev/null clone --quiet --no-hardlinks ${PRIVATE_CLONE} deploy`,
  ].join('\n');
}

/**
 * Step 2, in the tools container without the Git token (npm ci runs every dependency's install
 * script): set the environment's image (model and dist/), run the policy gates, commit, and hand
 * the one new commit to the push step as a bundle. No change, no bundle.
 */
export function renderScript(domain: string): string {
  return [
    'set -eu',
    `rm -f ${DEPLOY_BUNDLE}`,
    'cd deploy',
    "git config user.name 'Jenkins (delivery pipeline)'",
    `git config user.email 'jenkins@${domain}'`,
    'npm ci --no-audit --no-fund',
    // The digest the push printed and the scan approved: the Deployment runs exactly that image.
    'npm run --silent set-image -- --app "$APP" --env "$APP_ENV" --tag "$TAG" --digest "$DIGEST"',
    'npm run --silent policy',
    'git add config/app-images.json dist',
    'if git diff --cached --quiet; then',
    '  echo "$APP_ENV already runs $TAG: nothing to push"',
    '  exit 0',
    'fi',
    'git commit --quiet -m "Deploy $APP $TAG to $APP_ENV" -m "Built, tested and scanned by $BUILD_URL"',
    `git bundle create --quiet ../${DEPLOY_BUNDLE} "origin/$PLATFORM_BRANCH..HEAD"`,
  ].join('\n');
}

/** The files a deploy commit may change: the image model and the render (what set-image writes). */
export const DEPLOY_COMMIT_PATHS = /^(config\/app-images\.json|dist\/.*)$/;

/**
 * Step 3, in the jnlp container with the Git token again: take the bundle's commit into the
 * private clone only if it is exactly one commit on top of what step 1 fetched and changes only
 * the image model and dist/ (so a dependency of the render cannot push anything else with the
 * token), then push it. Exit 1 when the push is rejected (the branch moved): the caller starts
 * over. Any other refusal exits 2.
 */
export function pushScript(): string {
  return [
    'set -eu',
    ...TRUSTED_GIT,
    `bundle="$PWD/${DEPLOY_BUNDLE}"`,
    `cd ${PRIVATE_CLONE}`,
    'git fetch --quiet "$bundle" HEAD || exit 2',
    'base=$(git rev-parse HEAD)',
    'if [ "$(git rev-list --count "$base..FETCH_HEAD")" != 1 ] || [ "$(git rev-parse FETCH_HEAD^)" != "$base" ]; then',
    '  echo "the render step handed over more than one commit on top of $base: refused" >&2',
    '  exit 2',
    'fi',
    `others=$(git diff --name-only "$base" FETCH_HEAD | grep -Ev '${DEPLOY_COMMIT_PATHS.source}' || true)`,
    'if [ -n "$others" ]; then',
    '  echo "the deploy commit changes more than config/app-images.json and dist/: refused: $others" >&2',
    '  exit 2',
    'fi',
    'git -c credential.helper="$helper" -c core.hooksPath=/dev/null push --quiet origin "FETCH_HEAD:refs/heads/$PLATFORM_BRANCH" || exit 1',
  ].join('\n');
}

/** How many times a deploy starts over when its push is rejected because the branch moved. */
export const PUSH_ATTEMPTS = 3;

/** The tarball Kaniko writes and crane pushes (in the workspace both containers mount). */
export const IMAGE_TARBALL = 'image.tar';
/**
 * The scan step's own copy of the pipeline steps, taken before any app code runs: the Dockerfile's
 * `RUN` steps execute in the Kaniko container, which mounts the shared workspace (and could
 * rewrite platform/cli there), but not the tools container's home.
 */
export const PIPELINE_STEPS_COPY = '/home/node/pipeline-steps.mjs';
export const COPY_STEPS_SCRIPT = `cp platform/cli/pipeline-steps.mjs ${PIPELINE_STEPS_COPY}`;

/**
 * The kaniko invocations: the `test` stage, then the image, both without pushing and without a
 * registry credential in the container (osscontainertools/kaniko v1.28.3
 * cmd/executor/cmd/root.go: --no-push skips the push permission check, --tar-path writes the
 * image tagged with --destination into a tarball).
 */
export const TEST_SCRIPT = '/kaniko/executor --context "dir://$WORKSPACE/app" --dockerfile "$WORKSPACE/app/Dockerfile" --target test --no-push --cleanup';
export const BUILD_SCRIPT =
  '/kaniko/executor --context "dir://$WORKSPACE/app" --dockerfile "$WORKSPACE/app/Dockerfile" --destination "$IMAGE:$TAG"' +
  ` --no-push --tar-path "$WORKSPACE/${IMAGE_TARBALL}"` +
  ' --label "org.opencontainers.image.revision=$TAG" --label "org.opencontainers.image.source=$APP_REPOSITORY" --cleanup';
/**
 * The push, in the crane container: print the digest of the image under the commit's tag. Tags
 * are immutable in Harbor (a second push of a tag is refused), so a re-run of the same commit
 * keeps the image the first run pushed and scanned.
 */
export const PUSH_IMAGE_SCRIPT = [
  'set -eu',
  'if digest=$(crane digest "$IMAGE:$TAG" 2>/dev/null); then',
  '  echo "$IMAGE:$TAG is in Harbor already (tags are immutable): keeping $digest" >&2',
  'else',
  `  reference=$(crane push "$WORKSPACE/${IMAGE_TARBALL}" "$IMAGE:$TAG")`,
  '  digest=${reference#*@}',
  'fi',
  'echo "$digest"',
].join('\n');
export const SCAN_SCRIPT = `node ${PIPELINE_STEPS_COPY} harbor-scan --harbor-url "$HARBOR_URL" --repository "$HARBOR_REPOSITORY" --digest "$DIGEST" --docker-config ${REGISTRY_CONFIG_DIR}/config.json --timeout-seconds ${SCAN_TIMEOUT_SECONDS}`;
export const ROLLOUT_SCRIPT = `node platform/cli/pipeline-steps.mjs wait-rollout --namespace "$APP_NAMESPACE" --deployment "$APP" --container ${APP_CONTAINER} --image "$IMAGE:$TAG@$DIGEST" --timeout-seconds ${ROLLOUT_TIMEOUT_SECONDS}`;

function checkoutApp(revision: string): string {
  return `checkout([$class: 'GitSCM', branches: [[name: ${revision}]], userRemoteConfigs: [[url: env.APP_REPOSITORY, credentialsId: ${groovyString(CREDENTIALS.git)}]]])`;
}

/** A step in the jnlp container with the Git token bound to its environment, and nowhere else. */
function withGitToken(step: string, indent: string): string[] {
  return [
    `${indent}container('jnlp') {`,
    `${indent}  withCredentials([usernamePassword(credentialsId: ${groovyString(CREDENTIALS.git)}, usernameVariable: 'GIT_USERNAME', passwordVariable: 'GIT_PASSWORD')]) {`,
    `${indent}    ${step}`,
    `${indent}  }`,
    `${indent}}`,
  ];
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

/** What one app's Jenkinsfile reads of the model. */
export interface PipelineProps {
  /** The app's name (`apps.<app>`). */
  readonly app: string;
  /** Its GitLab project (`apps.<app>.repository`), cloned by the build. */
  readonly repository: string;
  /** Its Harbor repository without the registry (`apps.<app>.image`, e.g. `apps/hello`). */
  readonly image: string;
  /** The shell script of its smoke tests (`apps.<app>.smokeTest`), run against each environment. */
  readonly smokeTest: string;
  /** The environments it is deployed to, in the model's order, with the app's host in each. */
  readonly environments: readonly { readonly name: string; readonly host: string }[];
  /** GitLab's host (`services.gitlab.host`). */
  readonly gitlabHost: string;
  /** Harbor's host (`services.harbor.host`). */
  readonly registryHost: string;
  /** This repository (`git`), where the deploy stage sets the image. */
  readonly git: { readonly repoURL: string; readonly targetRevision: string };
  /** The platform's domain: the deploy commits' author address. */
  readonly domain: string;
}

/** One app's pipeline props from the model (the schema requires both hosts and every app in every environment). */
export function pipelineProps(platform: Platform, app: string): PipelineProps {
  const spec = platform.apps[app];
  if (!spec) throw new Error(`apps.${app}: no such app`);
  return {
    app,
    repository: spec.repository,
    image: spec.image,
    smokeTest: spec.smokeTest,
    environments: Object.keys(platform.environments).map((env) => ({ name: env, host: spec.environments[env].host })),
    gitlabHost: platform.services.gitlab.host!,
    registryHost: platform.services.harbor.host!,
    git: platform.git,
    domain: platform.domain,
  };
}

/** The Jenkinsfile of one app. */
export function renderJenkinsfile(props: PipelineProps): string {
  const { app, gitlabHost: gitlab, registryHost: harbor } = props;
  const envs = props.environments.map((env) => env.name);
  const lines: string[] = [
    `// The delivery pipeline of app ${app}, rendered by \`npm run synth\` from the platform model.`,
    `// Do not edit: change apps.${app} in the model (or charts/build/pipeline.ts) and render again.`,
    `// Jenkins' job ${app} (JCasC) loads it from ${pipelinePath(app)} of the platform repository; a push`,
    `// to ${PIPELINE_BRANCH} of ${props.repository} on GitLab starts it. Environments in order: ${envs.join(' -> ')}.`,
    '',
    '// Deploys TAG to APP_ENV: `npm run set-image` in a fresh clone of the platform repository (model',
    '// and dist/), the policy gates, commit, push; Argo CD syncs it within three minutes. A rejected',
    '// push (the branch moved meanwhile) starts over from the new head. The Git token is bound only',
    '// around the clone and the push, in the jnlp container; npm ci and the render never see it.',
    'def setImageAndPush() {',
    `  for (int attempt = 1; attempt <= ${PUSH_ATTEMPTS}; attempt++) {`,
    ...withGitToken(`sh(label: 'clone the platform repository (Git token)', script: ${groovyScript(fetchScript(), '        ')})`, '    '),
    `    sh(label: 'npm run set-image, the policy gates, commit (no Git token)', script: ${groovyScript(renderScript(props.domain), '    ')})`,
    `    if (!fileExists(${groovyString(DEPLOY_BUNDLE)})) {`,
    '      return',
    '    }',
    '    def status = 0',
    ...withGitToken(`status = sh(label: 'push the deploy commit (Git token)', returnStatus: true, script: ${groovyScript(pushScript(), '        ')})`, '    '),
    '    if (status == 0) {',
    '      return',
    '    }',
    '    if (status != 1) {',
    "      error('the deploy commit was refused before the push (see the log above)')",
    '    }',
    "    echo 'the push was rejected (the branch moved): starting over from its new head'",
    '  }',
    `  error(${groovyString(`could not push after ${PUSH_ATTEMPTS} attempts`)})`,
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
    `    APP_REPOSITORY = ${groovyString(`https://${gitlab}/${props.repository}.git`)}`,
    `    HARBOR_URL = ${groovyString(`https://${harbor}`)}`,
    `    HARBOR_REPOSITORY = ${groovyString(props.image)}`,
    `    IMAGE = ${groovyString(imageRepository(harbor, props.image))}`,
    `    PLATFORM_REPOSITORY = ${groovyString(props.git.repoURL)}`,
    `    PLATFORM_BRANCH = ${groovyString(props.git.targetRevision)}`,
    '  }',
    '  stages {',
    "    stage('Build') {",
    // The app's own build pod: its Vault role reads this app's push robot and no other.
    ...kubernetesAgent(buildAgentName(app), '      '),
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
    `            sh(label: 'keep a copy of the scan step out of the build\\'s reach', script: ${groovyString(COPY_STEPS_SCRIPT)})`,
    '          }',
    '        }',
    "        stage('Test') {",
    '          steps {',
    "            container('kaniko') {",
    `              sh(label: 'build the Dockerfile stage test (runs the tests)', script: ${groovyString(TEST_SCRIPT)})`,
    '            }',
    '          }',
    '        }',
    "        stage('Build') {",
    '          steps {',
    "            container('kaniko') {",
    `              sh(label: 'build the image into a tarball, tagged with the commit (no registry credential)', script: ${groovyString(BUILD_SCRIPT)})`,
    '            }',
    '          }',
    '        }',
    "        stage('Push') {",
    '          steps {',
    "            container('crane') {",
    '              script {',
    `                def digest = sh(label: 'push the image to Harbor, print its digest', returnStdout: true, script: ${groovyScript(PUSH_IMAGE_SCRIPT, '                ')}).trim()`,
    "                if (!(digest ==~ /sha256:[0-9a-f]{64}/)) {",
    "                  error('the push printed no image digest: ' + digest)",
    '                }',
    '                env.DIGEST = digest',
    '              }',
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

  props.environments.forEach(({ name: env, host }, index) => {
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
      `        APP_HOST = ${groovyString(host)}`,
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
      // In the jnlp container: the tools container ran npm ci and may hold what an install script left behind.
      "              container('jnlp') {",
      `                ${checkoutApp('env.TAG')}`,
      '              }',
      `              sh(label: ${groovyString(`smoke tests of ${app} in ${env}`)}, script: ${groovyString(props.smokeTest)})`,
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
  return new Map(Object.keys(platform.apps).map((app) => [pipelineFile(app), renderJenkinsfile(pipelineProps(platform, app))]));
}
