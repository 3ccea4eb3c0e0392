import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_CONTAINER, APP_SERVICE_PORT, DEPLOY_AGENT } from '../../../charts/lib/delivery';
import { CREDENTIALS, REGISTRY_CONFIG_DIR, buildAgentName, pipelineFile } from '../../../charts/build/names';
import {
  COPY_STEPS_SCRIPT,
  DEPLOY_BUNDLE,
  PIPELINE_STEPS_COPY,
  PUSH_IMAGE_SCRIPT,
  fetchScript,
  groovyScript,
  groovyString,
  pipelineProps,
  renderJenkinsfile,
  renderPipelines,
  renderScript,
  pushScript,
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

/**
 * The container a position of a Jenkinsfile runs in: the innermost `container('...') {` block
 * still open there, else the pod's default container (tools). Braces inside the shell literals
 * pair up (checked below), so counting them is enough.
 */
function containerOf(text: string, position: number): string {
  const open = [...text.slice(0, position).matchAll(/container\('([^']+)'\) \{/g)].filter((m) => {
    let depth = 0;
    for (let i = m.index! + m[0].length - 1; i < position; i++) {
      depth += text[i] === '{' ? 1 : text[i] === '}' ? -1 : 0;
      if (depth === 0) return false;
    }
    return true;
  });
  return open.at(-1)?.[1] ?? 'tools';
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
      'Build',
      'Push',
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
    // The app's own build pod template: its Vault role reads this app's push robot only.
    expect(section('Build', 'Deploy dev')).toContain(`inheritFrom '${buildAgentName('hello')}'`);
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

  it('GIVEN small props with environments qa then live WHEN rendered THEN it deploys qa, asks for approval, deploys live, each at its host, from the given repositories', () => {
    const text = renderJenkinsfile({
      app: 'cart',
      repository: 'team/cart',
      image: 'team/cart',
      smokeTest: 'curl -fsS "$APP_URL/healthz"',
      environments: [
        { name: 'qa', host: 'cart-qa.example.test' },
        { name: 'live', host: 'cart.example.test' },
      ],
      gitlabHost: 'git.example.test',
      registryHost: 'registry.example.test',
      git: { repoURL: 'https://git.example.test/platform.git', targetRevision: 'trunk' },
      domain: 'example.test',
    });
    expect(stages(text).filter((s) => /^(Deploy|Approve) /.test(s))).toEqual(['Deploy qa', 'Approve live', 'Deploy live']);
    expect(text).toContain("IMAGE = 'registry.example.test/team/cart'");
    expect(text).toContain("APP_REPOSITORY = 'https://git.example.test/team/cart.git'");
    expect(text).toContain("PLATFORM_BRANCH = 'trunk'");
    expect(text).toContain("APP_HOST = 'cart-qa.example.test'");
    expect(text).toContain("APP_HOST = 'cart.example.test'");
    expect(text).toContain("APP_NAMESPACE = 'cart-live'");
    expect(shellScripts(text)).toContain('curl -fsS "$APP_URL/healthz"');
    expect(text).toContain("git config user.email 'jenkins@example.test'");
  });

  it('tags the image with the commit it built and pushes it to the app repository in Harbor', () => {
    const text = jenkinsfile();
    expect(text).toContain('env.TAG = source.GIT_COMMIT');
    expect(text).toContain("IMAGE = 'registry.lumetium.com/apps/hello'");
    expect(text).toContain('--destination "$IMAGE:$TAG" --no-push --tar-path "$WORKSPACE/image.tar"');
    expect(text).toContain('--target test --no-push');
    expect(shellScripts(text)).toContain(PUSH_IMAGE_SCRIPT);
    // The pushed commit of the webhook, else the head of main.
    expect(text).toContain("branches: [[name: env.gitlabAfter ?: 'refs/heads/main']]");
    expect(text).toContain(`credentialsId: '${CREDENTIALS.git}'`);
  });

  it('stops on critical vulnerabilities of the pushed digest: the scan step reads the credentials Vault wrote for the push', () => {
    const scan = shellScripts(jenkinsfile()).find((s) => s.includes('harbor-scan'))!;
    expect(scan).toBe(
      `node ${PIPELINE_STEPS_COPY} harbor-scan --harbor-url "$HARBOR_URL" --repository "$HARBOR_REPOSITORY" --digest "$DIGEST" --docker-config ${REGISTRY_CONFIG_DIR}/config.json --timeout-seconds 900`,
    );
    expect(jenkinsfile()).toContain("HARBOR_URL = 'https://registry.lumetium.com'");
    expect(jenkinsfile()).toContain("HARBOR_REPOSITORY = 'apps/hello'");
  });

  it('deploys with npm run set-image in this repository, runs the policy gates and pushes', () => {
    const scripts = shellScripts(jenkinsfile());
    const render = scripts.find((s) => s.includes('set-image'))!;
    expect(render).toBe(renderScript(platform.domain));
    // The digest the push printed (and the scan judged), not just the tag.
    expect(render).toContain('npm run --silent set-image -- --app "$APP" --env "$APP_ENV" --tag "$TAG" --digest "$DIGEST"');
    expect(render).toContain('npm run --silent policy');
    expect(render).toContain(`git bundle create --quiet ../${DEPLOY_BUNDLE}`);
    const push = scripts.find((s) => s.includes(' push '))!;
    expect(push).toBe(pushScript());
    expect(push).toContain('push --quiet origin "FETCH_HEAD:refs/heads/$PLATFORM_BRANCH"');
    expect(scripts).toContain(fetchScript());
    expect(jenkinsfile()).toContain("PLATFORM_REPOSITORY = 'https://git.lumetium.com/platform/platform.git'");
    // The credentials reach git through its helper, from the environment: never a command-line argument.
    for (const script of scripts) expect(script).not.toMatch(/https:\/\/[^"]*\$GIT_/);
    expect(jenkinsfile().match(/setImageAndPush\(\)/g)).toHaveLength(4); // defined once, called per environment
  });

  describe('the Git token (it writes to the repository Argo CD applies to the whole cluster)', () => {
    /** Every `withCredentials(...) { ... }` block of a Jenkinsfile: its body, and where it starts. */
    function credentialBlocks(text: string): { start: number; end: number; body: string }[] {
      const blocks: { start: number; end: number; body: string }[] = [];
      for (const match of text.matchAll(/withCredentials\(/g)) {
        const open = text.indexOf('{', match.index);
        let depth = 0;
        let end = open;
        for (; end < text.length; end++) {
          // Braces inside the shell literals pair up too (checked below), so counting is enough.
          if (text[end] === '{') depth++;
          if (text[end] === '}' && --depth === 0) break;
        }
        blocks.push({ start: match.index!, end, body: text.slice(open + 1, end) });
      }
      return blocks;
    }
    const containerAt = containerOf;
    /** Commands a script runs: the first word of each line (shell keywords and assignments aside). */
    function commands(script: string): string[] {
      return script
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.replace(/^(if|then|else|fi|elif|!)\s*/, ''))
        .map((line) => line.split(/\s+/)[0])
        .filter((word) => word && !/^[A-Za-z_]+=/.test(word) && !['then', 'fi', 'else'].includes(word));
    }

    it('binds it only around the clone and the push, in the jnlp container, never where npm or the app runs', () => {
      for (const text of [jenkinsfile(), renderPipelines(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'))).get('pipelines/shop/Jenkinsfile')!]) {
        const blocks = credentialBlocks(text);
        expect(blocks.length).toBe(2);
        for (const block of blocks) {
          expect(containerAt(text, block.start)).toBe('jnlp');
          const scripts = shellScripts(block.body);
          expect(scripts).toHaveLength(1);
          expect([fetchScript(), pushScript()]).toContain(scripts[0]);
          expect(block.body).not.toMatch(/npm|node /);
        }
        // The token's variable is named nowhere else (checkout uses the credential without exposing it).
        for (const match of text.matchAll(/GIT_PASSWORD|GIT_USERNAME/g)) {
          expect(blocks.some((b) => b.start < match.index! && match.index! < b.end), `${match[0]} at ${match.index}`).toBe(true);
        }
        for (const script of shellScripts(text).filter((s) => s !== fetchScript() && s !== pushScript())) {
          expect(script, script).not.toMatch(/GIT_PASSWORD|GIT_USERNAME/);
        }
        // Checkouts after the render (app sources for the smoke tests) run in jnlp, not where npm ci ran.
        const deploy = text.slice(text.indexOf("stage('Deploy "));
        for (const match of deploy.matchAll(/checkout\(\[/g)) expect(containerAt(deploy, match.index!)).toBe('jnlp');
      }
    });

    it('is seen only by git and the shell itself in the steps that bind it', () => {
      const trusted = new Set(['set', 'export', 'git', 'rm', 'cd', 'exit', 'echo', 'others=$(git', 'base=$(git', 'bundle="$PWD/deploy.bundle"', 'helper=\'!f()', '[']);
      for (const script of [fetchScript(), pushScript()]) {
        for (const command of commands(script)) expect(trusted, `${command} in\n${script}`).toContain(command);
        expect(script).toContain('GIT_CONFIG_GLOBAL=/dev/null');
        expect(script).toContain('GIT_CONFIG_NOSYSTEM=1');
      }
      expect(commands(renderScript(platform.domain))).toContain('npm');
    });

    it('pushes only one commit that changes the image model and dist/: a dependency of the render cannot push other files', (ctx) => {
      if (!requireValidator('git', hasCommand('git'), 'apt-get install git')) ctx.skip();
      const dir = mkdtempSync(join(tmpdir(), 'push-step-'));
      const git = (cwd: string, ...args: string[]) => {
        const result = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
        if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
        return result.stdout.trim();
      };
      try {
        // GIVEN a "remote" with one commit, the private clone and the workspace copy of step 1
        const remote = join(dir, 'remote.git');
        const seed = join(dir, 'seed');
        git(dir, 'init', '--quiet', seed);
        writeFileSync(join(seed, 'README.md'), 'x\n');
        git(seed, 'add', '.');
        git(seed, 'commit', '--quiet', '-m', 'seed');
        git(dir, 'clone', '--quiet', '--bare', seed, remote);
        const privateClone = join(dir, 'private');
        const workspace = join(dir, 'workspace');
        mkdirSync(workspace);
        const run = (script: string) =>
          spawnSync('sh', ['-c', script.replaceAll('/home/jenkins/platform', privateClone)], {
            cwd: workspace,
            encoding: 'utf8',
            env: { PATH: process.env.PATH, HOME: dir, PLATFORM_BRANCH: 'main', PLATFORM_REPOSITORY: `file://${remote}`, GIT_USERNAME: 'u', GIT_PASSWORD: 'p' },
          });
        const step1 = run(fetchScript());
        expect(step1.stderr).toBe('');
        const deploy = join(workspace, 'deploy');
        const commitAndBundle = (file: string) => {
          mkdirSync(dirname(join(deploy, file)), { recursive: true });
          writeFileSync(join(deploy, file), `${file}\n`);
          git(deploy, 'add', '.');
          git(deploy, 'commit', '--quiet', '-m', `change ${file}`);
          git(deploy, 'bundle', 'create', '--quiet', join(workspace, DEPLOY_BUNDLE), 'origin/main..HEAD');
        };
        // WHEN the render step commits a file outside config/app-images.json and dist/
        commitAndBundle('charts/evil.ts');
        const refused = run(pushScript());
        // THEN nothing is pushed
        expect(refused.status).toBe(2);
        expect(refused.stderr).toContain('charts/evil.ts');
        expect(git(remote, 'rev-list', '--count', 'main')).toBe('1');
        // WHEN it commits only dist/ (on top of a clean copy) THEN the push goes through
        run(fetchScript());
        commitAndBundle('dist/k8s/dev/hello/deployment-hello.yaml');
        const pushed = run(pushScript());
        expect(pushed.stderr).toBe('');
        expect(pushed.status).toBe(0);
        expect(git(remote, 'log', '-1', '--format=%s', 'main')).toBe('change dist/k8s/dev/hello/deployment-hello.yaml');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the registry credential (an app\'s Dockerfile must not be able to read it)', () => {
    const stepsIn = (text: string, container: string) =>
      [...text.matchAll(/sh\(label: /g)].filter((m) => containerOf(text, m.index!) === container).map((m) => text.slice(m.index!, text.indexOf('\n', m.index!)));

    it('builds in the Kaniko container without it: every Kaniko run writes no registry, none names the credential', () => {
      const kaniko = stepsIn(jenkinsfile(), 'kaniko');
      expect(kaniko).toHaveLength(2);
      for (const step of kaniko) {
        expect(step).toContain('/kaniko/executor');
        expect(step).toContain('--no-push');
        expect(step).not.toContain(REGISTRY_CONFIG_DIR);
        expect(step).not.toContain('.docker');
      }
    });

    it('pushes from the crane container and takes the digest it printed, refusing anything else', () => {
      const text = jenkinsfile();
      const push = text.indexOf("stage('Push')");
      expect(containerOf(text, text.indexOf('crane push', push))).toBe('crane');
      expect(text).toContain('if (!(digest ==~ /sha256:[0-9a-f]{64}/)) {');
      expect(text.indexOf('env.DIGEST = digest')).toBeGreaterThan(text.indexOf('==~ /sha256:[0-9a-f]{64}/'));
      // The scan step, in tools, runs the copy of the steps taken before the Dockerfile ran.
      const copy = text.indexOf(COPY_STEPS_SCRIPT);
      expect(copy).toBeGreaterThan(0);
      expect(copy).toBeLessThan(text.indexOf("stage('Test')"));
      expect(containerOf(text, copy)).toBe('tools');
      expect(containerOf(text, text.indexOf('harbor-scan'))).toBe('tools');
      expect(text).not.toContain('node platform/cli/pipeline-steps.mjs harbor-scan');
    });

    it('push step: pushes a new tag and prints only its digest; keeps the digest of a tag Harbor has already', (ctx) => {
      if (!requireValidator('sh', hasCommand('sh'), 'apt-get install dash')) ctx.skip();
      const dir = mkdtempSync(join(tmpdir(), 'push-image-'));
      try {
        const digest = `sha256:${'0f'.repeat(32)}`;
        // A stand-in for crane: `digest` fails unless the tag "exists", `push` records its arguments.
        writeFileSync(
          join(dir, 'crane'),
          ['#!/bin/sh', 'echo "$@" >> "$WORKSPACE/calls"', 'case "$1" in', `  digest) [ -f "$WORKSPACE/exists" ] && echo ${digest} || { echo "MANIFEST_UNKNOWN" >&2; exit 1; } ;;`, `  push) echo "$3@${digest}" ;;`, 'esac', ''].join('\n'),
          { mode: 0o755 },
        );
        writeFileSync(join(dir, 'image.tar'), 'tarball');
        const env = { PATH: `${dir}:${process.env.PATH}`, WORKSPACE: dir, IMAGE: 'registry.example.com/apps/hello', TAG: 'abc123' };
        const fresh = spawnSync('sh', ['-c', PUSH_IMAGE_SCRIPT], { env, encoding: 'utf8' });
        expect(fresh.status).toBe(0);
        expect(fresh.stdout).toBe(`${digest}\n`);
        expect(readFileSync(join(dir, 'calls'), 'utf8')).toContain(`push ${dir}/image.tar registry.example.com/apps/hello:abc123`);
        writeFileSync(join(dir, 'exists'), '');
        writeFileSync(join(dir, 'calls'), '');
        const rerun = spawnSync('sh', ['-c', PUSH_IMAGE_SCRIPT], { env, encoding: 'utf8' });
        expect(rerun.stdout).toBe(`${digest}\n`);
        expect(rerun.stderr).toContain('tags are immutable');
        expect(readFileSync(join(dir, 'calls'), 'utf8')).not.toContain('push');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
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
    expect(rollout).toContain(`--container ${APP_CONTAINER} --image "$IMAGE:$TAG@$DIGEST"`);
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
    expect(shellScripts(renderJenkinsfile(pipelineProps(model, 'hello')))).toContain(smoke);
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
