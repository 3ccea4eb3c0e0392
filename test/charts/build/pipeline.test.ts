import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_CONTAINER, APP_SERVICE_PORT } from '../../../charts/apps/app';
import { CREDENTIALS, DEPLOY_AGENT, KANIKO_AGENT, pipelineFile } from '../../../charts/build/names';
import {
  deployScript,
  groovyScript,
  groovyString,
  renderJenkinsfile,
  renderPipelines,
  scriptOfGroovy,
} from '../../../charts/build/pipeline';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform } from '../../../config';
import { applyPatch } from '../../support/patch';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';

const platform = loadDefaultPlatform();
const jenkinsfile = () => defaultRender().get('pipelines/hello/Jenkinsfile')!;
const stages = (text: string) => [...text.matchAll(/^\s*stage\('((?:[^'\\]|\\.)*)'\)/gm)].map((m) => m[1]);

/** The scripts of every `sh` step, as the shell will see them. */
function shellScripts(text: string): string[] {
  const single = [...text.matchAll(/script: '((?:[^'\\]|\\.)*)'\)/g)].map((m) => m[1].replace(/\\n/g, '\n').replace(/\\'/g, "'").replace(/\\\\/g, '\\'));
  const triple = [...text.matchAll(/script: ('''\n[\s\S]*?\n\s*''')\)/g)].map((m) => scriptOfGroovy(m[1]));
  return [...single, ...triple];
}

describe('the rendered pipeline of an app', () => {
  it('is written for every app, outside every Argo CD Application path', () => {
    expect([...defaultRender().keys()].filter((p) => p.startsWith('pipelines/'))).toEqual(['pipelines/hello/Jenkinsfile']);
    expect(pipelineFile('hello')).toBe('pipelines/hello/Jenkinsfile');
    const paths = kubeObjects(defaultRender())
      .filter(({ object }) => object.kind === 'Application')
      .flatMap(({ object }) => {
        const spec = object.spec as { source?: { path?: string }; sources?: { path?: string }[] };
        return [spec.source, ...(spec.sources ?? [])].flatMap((s) => (s?.path ? [s.path] : []));
      });
    for (const path of paths) expect(path.startsWith('dist/pipelines')).toBe(false);
  });

  it('tests, builds, pushes and scans in a Kaniko pod, then deploys each environment in the model order, approvals before all but the first', () => {
    expect(stages(jenkinsfile())).toEqual([
      'Build',
      'Checkout',
      'Test',
      'Build and push',
      'Vulnerability scan',
      'Deploy dev',
      'Set the image of dev',
      'Integration test dev',
      'Approve staging',
      'Deploy staging',
      'Set the image of staging',
      'Integration test staging',
      'Approve prod',
      'Deploy prod',
      'Set the image of prod',
      'Integration test prod',
    ]);
    const text = jenkinsfile();
    const section = (from: string, to: string) => text.slice(text.indexOf(`stage('${from}')`), text.indexOf(`stage('${to}')`));
    expect(section('Build', 'Deploy dev')).toContain(`inheritFrom '${KANIKO_AGENT.name}'`);
    for (const env of ['staging', 'prod']) {
      expect(section(`Approve ${env}`, `Deploy ${env}`)).toContain(`input(message: 'Deploy ' + env.APP + ' ' + env.TAG + ' to ${env}?', ok: 'Deploy to ${env}')`);
      expect(section(`Approve ${env}`, `Deploy ${env}`)).toContain("timeout(time: 14, unit: 'DAYS')");
    }
    expect(section('Deploy dev', 'Approve staging')).toContain(`inheritFrom '${DEPLOY_AGENT.name}'`);
    expect(section('Deploy dev', 'Approve staging')).not.toContain('input(');
    // Approvals hold no pod: the pipeline has no agent of its own and the approval stages none.
    expect(text).toMatch(/^pipeline \{\n {2}agent none$/m);
    expect(section('Approve staging', 'Deploy staging')).not.toContain('agent');
  });

  it('follows the order of the model: another platform deploys staging first and approves prod', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const text = renderPipelines(single).get('pipelines/shop/Jenkinsfile')!;
    expect(stages(text).filter((s) => /^(Deploy|Approve) /.test(s))).toEqual(['Deploy staging', 'Approve prod', 'Deploy prod']);
    expect(text).toContain("IMAGE = 'images.example.net/team/storefront'");
    expect(text).toContain("APP_REPOSITORY = 'https://code.example.net/team/shop.git'");
    expect(text).toContain("PLATFORM_BRANCH = 'production'");
    expect(text).not.toContain('lumetium');
  });

  it('tags the image with the commit it built and pushes it to the app repository in Harbor', () => {
    const text = jenkinsfile();
    expect(text).toContain('env.TAG = source.GIT_COMMIT');
    expect(text).toContain("IMAGE = 'registry.lumetium.com/apps/hello'");
    expect(text).toContain('--destination "$IMAGE:$TAG"');
    expect(text).toContain('--target test --no-push');
    // The pushed commit of the webhook, else the head of main.
    expect(text).toContain("branches: [[name: env.gitlabAfter ?: 'refs/heads/main']]");
    expect(text).toContain(`credentialsId: '${CREDENTIALS.git}'`);
  });

  it('stops on critical vulnerabilities: the scan step reads the credentials Vault wrote for Kaniko', () => {
    const scan = shellScripts(jenkinsfile()).find((s) => s.includes('harbor-scan'))!;
    expect(scan).toBe(
      'node platform/cli/pipeline-steps.mjs harbor-scan --harbor-url "$HARBOR_URL" --repository "$HARBOR_REPOSITORY" --tag "$TAG" --docker-config /kaniko/.docker/config.json --timeout-seconds 900',
    );
    expect(jenkinsfile()).toContain("HARBOR_URL = 'https://registry.lumetium.com'");
    expect(jenkinsfile()).toContain("HARBOR_REPOSITORY = 'apps/hello'");
  });

  it('deploys with npm run set-image in this repository, runs the policy gates and pushes', () => {
    const [deploy] = shellScripts(jenkinsfile()).filter((s) => s.includes('set-image'));
    expect(deploy).toBe(deployScript(platform));
    expect(deploy).toContain('npm run --silent set-image -- --app "$APP" --env "$APP_ENV" --tag "$TAG"');
    expect(deploy).toContain('npm run --silent policy');
    expect(deploy).toContain('git push --quiet origin "HEAD:$PLATFORM_BRANCH"');
    expect(jenkinsfile()).toContain("PLATFORM_REPOSITORY = 'https://git.lumetium.com/platform/platform.git'");
    // The credentials reach git through its helper, from the environment: never a command-line argument.
    expect(deploy).not.toMatch(/https:\/\/[^"]*\$GIT_/);
    expect(jenkinsfile().match(/setImageAndPush\(\)/g)).toHaveLength(4); // defined once, called per environment
  });

  it('waits for the rollout of the environment it deployed, then runs the smoke tests against it', () => {
    const text = jenkinsfile();
    const deployment = kubeObjects(defaultRender()).find(({ path }) => path === 'k8s/staging/hello/deployment-hello.yaml')!.object as any;
    const service = kubeObjects(defaultRender()).find(({ path }) => path === 'k8s/staging/hello/service-hello.yaml')!.object as any;
    const staging = text.slice(text.indexOf("stage('Deploy staging')"), text.indexOf("stage('Approve prod')"));
    expect(staging).toContain(`APP_NAMESPACE = '${deployment.metadata.namespace}'`);
    expect(staging).toContain(`APP_URL = 'http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local'`);
    expect(service.spec.ports[0].port).toBe(APP_SERVICE_PORT);
    expect(staging).toContain("APP_HOST = 'hello-staging.lumetium.com'");
    const rollout = shellScripts(staging).find((s) => s.includes('wait-rollout'))!;
    expect(rollout).toContain(`--container ${APP_CONTAINER} --image "$IMAGE:$TAG"`);
    expect(deployment.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual([APP_CONTAINER]);
    expect(staging.indexOf('wait-rollout')).toBeLessThan(staging.indexOf(platform.apps.hello.smokeTest.slice(0, 20)));
    expect(shellScripts(staging)).toContain(platform.apps.hello.smokeTest);
  });

  it('passes every shell step through shellcheck', (ctx) => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) ctx.skip();
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const scripts = [...shellScripts(jenkinsfile()), ...shellScripts(renderPipelines(single).get('pipelines/shop/Jenkinsfile')!)];
    expect(scripts.length).toBeGreaterThanOrEqual(12);
    for (const script of new Set(scripts)) {
      const result = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: `${script}\n`, encoding: 'utf8' });
      expect(result.stdout + result.stderr, script).toBe('');
      expect(result.status).toBe(0);
    }
    const broken = spawnSync('shellcheck', ['--shell=sh', '-'], { input: 'cd $DIR\n', encoding: 'utf8' });
    expect(broken.status).not.toBe(0);
  });

  it('keeps Groovy literals intact, whatever the model says', () => {
    expect(groovyString("it's a \\ path")).toBe("'it\\'s a \\\\ path'");
    const smoke = `./smoke.sh --name 'it'\\''s' "$APP_URL"`;
    const model = validatePlatform(applyPatch(platform, { apps: { hello: { smokeTest: smoke } } }));
    expect(shellScripts(renderJenkinsfile(model, 'hello'))).toContain(smoke);
    const script = "echo '''quoted''' \\\n  done";
    expect(scriptOfGroovy(groovyScript(script, '    '))).toBe(script);
    // Braces, parentheses and brackets pair up (no Groovy parser here).
    for (const [open, close] of [['{', '}'], ['(', ')'], ['[', ']']]) expect(jenkinsfile().split(open).length, open).toBe(jenkinsfile().split(close).length);
  });
});

describe('the platform repository the pipeline pushes to', () => {
  it('is where Argo CD reads the environments from', () => {
    const root = parse(defaultRender().get('k8s/dev/bootstrap/application-dev-root.yaml')!) as { spec: { source: { repoURL: string; targetRevision: string } } };
    expect(jenkinsfile()).toContain(`PLATFORM_REPOSITORY = '${root.spec.source.repoURL}'`);
    expect(jenkinsfile()).toContain(`PLATFORM_BRANCH = '${root.spec.source.targetRevision}'`);
  });
});
