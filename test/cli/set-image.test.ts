/**
 * `npm run set-image`, end to end, in a copy of this project (it writes the model file and dist/,
 * so it never runs on the repository itself): the tag changes in exactly one environment's
 * manifests and nowhere else, the model file changes in exactly that value, a fresh render agrees
 * with the result, and bad input changes nothing.
 *
 * Refusals, no-ops and deploys of a model file run the command in this process (`inProcess`, the
 * function the CLI entry calls): what they print, return and write is the property, and a process
 * costs half a second to a second of CPU each. "A fresh render agrees with dist/" renders the
 * copied project's own model in this process (`expectFreshRender`). What only a process shows
 * stays a process: that the exit code and stderr reach the shell (one refusal, the usage, one
 * deploy of the default model), the lock between processes, the kills and the command after each,
 * and a config/default.ts of the copied project (bundled per process).
 * docs/decisions/0096-test-run-speed.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { diffTrees, markerText, readTree, RENDER_MARKER } from '../../cli/dist';
import { renderPlatform } from '../../cli/render';
import { runSetImage } from '../../cli/set-image';
import { semanticDiff, type GroupChange } from '../../cli/semantic-diff';
import { APP_IMAGE_TAGS_FILE } from '../../config/app-images';
import { checkImageTags, type Platform } from '../../config';
import { runSynth } from '../../main';
import { captureOutput } from '../support/in-process';
import { ROOT } from '../support/render';

const work = mkdtempSync(join(tmpdir(), 'set-image-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the project's sources (not dist/, not the render cache) with the shared node_modules. */
function copyProject(name: string): string {
  const project = join(work, name);
  for (const entry of ['package.json', 'main.ts', 'tsconfig.json', 'cli', 'config', 'common', 'charts', 'infra', 'imports', 'policy']) {
    cpSync(join(ROOT, entry), join(project, entry), { recursive: true });
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(project, 'node_modules'));
  return project;
}

/**
 * dist/ of `project` as a render of the default model wrote it: a copy of the first project's
 * render, taken while describe blocks are collected (before any test deploys into it). Every
 * project copy has the same sources, so a render of its own would write the same bytes, at about
 * a second of CPU each (docs/decisions/0096-test-run-speed.md).
 */
function copyBaselineRender(project: string) {
  const baseline = join(work, 'default', 'dist');
  if (!existsSync(join(baseline, RENDER_MARKER))) return { status: 1, stderr: `${baseline}: the baseline render is missing` };
  cpSync(baseline, join(project, 'dist'), { recursive: true });
  return { status: 0, stderr: '' };
}

function run(project: string, entry: string, args: string[]) {
  return spawnSync(process.execPath, ['cli/launch.mjs', entry, ...args], { cwd: project, encoding: 'utf8' });
}

/**
 * `npm run set-image ARGS` in this process against `project`: its exit code and what it printed,
 * line by line as the process would. With the default model, only for runs that refuse or change
 * nothing: the default model in this process is this repository's (config/default.ts), with the
 * tags file of `project`. With `--config FILE` the model is that file's, so deploys too.
 */
function inProcess(project: string, args: string[]) {
  return captureOutput(() => runSetImage(args, project));
}

/**
 * The default model of `project` as its own process loads it: its config/ (config/default.ts with
 * its config/app-images.json) bundled the way cli/launch.mjs bundles an entry, and run here. The
 * copied charts are this repository's, so rendering the model here is what `main.ts --check` in
 * `project` renders, without the second of CPU of a process.
 */
async function projectDefaultPlatform(project: string): Promise<Platform> {
  const entry = join(project, 'config/index.ts');
  const bundle = await build({ absWorkingDir: project, entryPoints: [entry], bundle: true, packages: 'external', platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
  const module = { exports: {} as { loadDefaultPlatform: () => Platform } };
  runInThisContext(`(function (module, exports, require) {${bundle.outputFiles[0].text}\n})`, { filename: entry })(module, module.exports, createRequire(entry));
  return module.exports.loadDefaultPlatform();
}

/**
 * A fresh render of `project`'s model agrees with its dist/ (files and render marker), as
 * `npm run check` there decides it; without its lock and recovery, so a commit the command
 * before left unfinished shows as drift instead of being finished by the check.
 */
async function expectFreshRender(project: string, why = '') {
  const files = renderPlatform(await projectDefaultPlatform(project));
  const dist = join(project, 'dist');
  const drift = diffTrees(files, readTree(dist));
  if (readFileSync(join(dist, RENDER_MARKER), 'utf8') !== markerText(files)) drift.push(`~ ${RENDER_MARKER} (the render marker)`);
  expect(drift, `${why}: ${project}/dist differs from a fresh render`).toEqual([]);
}

const SHA = '3f9c2d1e4b5a6c7d8e9f0a1b2c3d4e5f6a7b8c9d';

/** Asserts that a diff of dist/ is exactly: the env's Deployment image, and the inventory's row of it. */
function expectOnlyTheTag(changes: GroupChange[], env: string, app: string, image: string, before: string, after: string) {
  expect(changes.map((g) => g.group)).toEqual(['(top)', `k8s/${env}/${app}`]);
  const [inventory, manifests] = changes;
  expect(manifests.changes).toEqual([
    {
      kind: 'changed',
      object: `Deployment ${app}-${env}/${app}`,
      fields: [{ path: `spec.template.spec.containers[app].image`, before: `${image}:${before}`, after: `${image}:${after}` }],
    },
  ]);
  // dist/README.md (the inventory) lists what runs: its row of that app in that environment, and only it.
  expect(inventory.changes).toHaveLength(1);
  const [removed, added] = inventory.changes[0].fields;
  expect(inventory.changes[0].fields).toHaveLength(2);
  expect(removed.before).toMatch(new RegExp(`^\\| ${env} \\| ${app} \\| ${app}-${env} \\|`));
  expect(added.after).toBe((removed.before as string).replace(`${image}:${before}`, `${image}:${after}`));
}

describe('npm run set-image on the default model', () => {
  const project = copyProject('default');
  // The copy's sources and tags are this repository's until the first deploy: a render here writes
  // the bytes its own `npm run synth` would (the deploys below are processes of the copy).
  const rendered = captureOutput(() => runSynth(['--out', join(project, 'dist')]));
  const dist = join(project, 'dist');
  const tagsFile = join(project, APP_IMAGE_TAGS_FILE);
  const initialTags = JSON.parse(readFileSync(tagsFile, 'utf8'));

  it('sets the tag of one environment: exactly that Deployment changes, in dist/ and in config/app-images.json', async () => {
    expect(rendered.status, rendered.stderr).toBe(0);
    const before = readTree(dist);
    const result = run(project, 'cli/set-image.ts', ['--app', 'hello', '--env', 'staging', '--tag', SHA]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`hello in staging: ${initialTags.hello.staging} -> ${SHA}`);

    expectOnlyTheTag(semanticDiff(before, readTree(dist)), 'staging', 'hello', 'registry.lumetium.com/apps/hello', initialTags.hello.staging, SHA);
    expect(JSON.parse(readFileSync(tagsFile, 'utf8'))).toEqual({ ...initialTags, hello: { ...initialTags.hello, staging: SHA } });
    // The result is what a fresh render of the edited model produces (config/default.ts reads the file).
    await expectFreshRender(project, 'after the deploy');
  });

  it('is idempotent: the same tag again changes nothing', () => {
    const before = readTree(dist);
    const result = inProcess(project, ['--app', 'hello', '--env', 'staging', '--tag', SHA]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`hello in staging already runs ${SHA}; nothing changed\n`);
    expect(readTree(dist)).toEqual(before);
  });

  it('refuses a bad app, environment or tag with a clear message and changes nothing', () => {
    const before = readTree(dist);
    const tags = readFileSync(tagsFile, 'utf8');
    const cases: [string[], string][] = [
      [['--app', 'shop', '--env', 'dev', '--tag', SHA], '--app "shop": no such app in the default model; choose one of: hello\n'],
      [['--app', 'hello', '--env', 'qa', '--tag', SHA], '--env "qa": app hello has no such environment; choose one of: dev, staging, prod\n'],
      // Names every JavaScript object inherits are no environment and no app.
      [['--app', 'hello', '--env', 'constructor', '--tag', SHA], '--env "constructor": app hello has no such environment; choose one of: dev, staging, prod\n'],
      [['--app', 'hello', '--env', '__proto__', '--tag', SHA], '--env "__proto__": app hello has no such environment; choose one of: dev, staging, prod\n'],
      [['--app', 'toString', '--env', 'dev', '--tag', SHA], '--app "toString": no such app in the default model; choose one of: hello\n'],
      [['--app', 'x'.repeat(5000), '--env', 'dev', '--tag', SHA], `--app "${'x'.repeat(78)}… (5002 characters): no such app in the default model; choose one of: hello\n`],
      [['--app', 'hello', '--env', 'dev', '--tag', 'latest'], '--tag "latest": "latest" moves under a running deployment; use the immutable commit SHA the pipeline built\n'],
      [
        ['--app', 'hello', '--env', 'dev', '--tag', 'a b'],
        '--tag "a b": must be an image tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-"), e.g. the commit SHA the pipeline built\n',
      ],
    ];
    cases.forEach(([args, message], i) => {
      // The first one as a process: the exit code and the message reach the shell.
      const result = i === 0 ? run(project, 'cli/set-image.ts', args) : inProcess(project, args);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(message);
      expect(result.stdout).toBe('');
    });
    // --out shares the render's rule: only a folder a render wrote is replaced.
    const atRoot = inProcess(project, ['--app', 'hello', '--env', 'dev', '--tag', SHA, '--out', project]);
    expect(atRoot.status).toBe(1);
    expect(atRoot.stderr).toBe(`--out ${project}: is the project itself; a render replaces its folder whole, so pass a folder of its own such as dist/; nothing was changed\n`);
    const usage = run(project, 'cli/set-image.ts', ['--app', 'hello']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^missing --env, --tag\nusage: npm run set-image/);
    expect(readFileSync(tagsFile, 'utf8')).toBe(tags);
    expect(readTree(dist)).toEqual(before);
  });

  it('refuses when config/default.ts stops reading a tag from config/app-images.json (editing the file would do nothing)', () => {
    const broken = copyProject('hard-coded');
    const defaults = join(broken, 'config/default.ts');
    writeFileSync(defaults, readFileSync(defaults, 'utf8').replace("tag: imageTagOf('hello', 'prod')", "tag: '0.0.1'"));
    const result = run(broken, 'cli/set-image.ts', ['--app', 'hello', '--env', 'dev', '--tag', SHA, '--out', join(broken, 'dist')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "config/default.ts: apps.hello.environments.prod.tag is not read from config/app-images.json; use imageTagOf('hello', 'prod') so set-image can change it\n",
    );
  });
});

describe('npm run set-image -- --config FILE', () => {
  const file = join(work, 'platform.yaml');
  const original = readFileSync(join(ROOT, 'test/fixtures/valid/single-node.yaml'), 'utf8');
  writeFileSync(file, original);
  const dist = join(work, 'single-dist');
  const rendered = captureOutput(() => runSynth(['--config', file, '--out', dist]));

  it('changes only the tag in the file, keeping its comments and layout, and only that environment in dist/', () => {
    expect(rendered.status, rendered.stderr).toBe(0);
    const before = readTree(dist);
    const result = inProcess(ROOT, ['--config', file, '--app', 'shop', '--env', 'prod', '--tag', SHA, '--out', dist]);
    expect(result.status, result.stderr).toBe(0);
    const edited = readFileSync(file, 'utf8').split('\n');
    const lines = original.split('\n');
    const changed = lines.flatMap((line, i) => (line === edited[i] ? [] : [i]));
    expect(edited).toHaveLength(lines.length);
    expect(changed).toHaveLength(1);
    expect(edited[changed[0]]).toBe(lines[changed[0]].replace(/tag: \S+/, `tag: ${SHA}`));
    expectOnlyTheTag(semanticDiff(before, readTree(dist)), 'prod', 'shop', 'images.example.net/team/storefront', '9b2e4c1d7a3f5e6b8c0d2f4a6b8c0e2f4a6b8c0d', SHA);
  });

  it('refuses an environment the app does not have, naming the file, and leaves it as it was', () => {
    const text = readFileSync(file, 'utf8');
    const result = inProcess(ROOT, ['--config', file, '--app', 'shop', '--env', 'dev', '--tag', SHA, '--out', dist]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('--env "dev": app shop has no such environment; choose one of: staging, prod\n');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

/** The tag of an app's Deployment in one environment, as dist/ holds it. */
function deployedTag(dist: string, env: string, app: string): string | undefined {
  const tree = readTree(dist);
  const file = [...tree.keys()].find((path) => path.startsWith(`k8s/${env}/${app}/`) && /deployment/i.test(path));
  return file ? /image: \S+:(\S+)/.exec(tree.get(file)!)?.[1] : undefined;
}

function sha(n: number): string {
  return n.toString(16).padStart(40, 'a');
}

describe('npm run set-image, concurrently and killed', () => {
  const project = copyProject('concurrent');
  const dist = join(project, 'dist');
  const tagsFile = join(project, APP_IMAGE_TAGS_FILE);
  const rendered = copyBaselineRender(project);

  function start(args: string[], env: NodeJS.ProcessEnv = {}) {
    return new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['cli/launch.mjs', 'cli/set-image.ts', ...args], { cwd: project, env: { ...process.env, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('exit', (status, signal) => resolve({ status, signal, stdout, stderr }));
    });
  }

  it('GIVEN deploys to dev and staging at once THEN each one that says it is done is in the model and in dist/, and the rest say they failed', async () => {
    expect(rendered.status, rendered.stderr).toBe(0);
    for (let round = 1; round <= 2; round++) {
      const wanted = { dev: sha(round * 10 + 1), staging: sha(round * 10 + 2) };
      const results = await Promise.all(Object.entries(wanted).map(([env, tag]) => start(['--app', 'hello', '--env', env, '--tag', tag])));
      const tags = JSON.parse(readFileSync(tagsFile, 'utf8')).hello;
      Object.keys(wanted).forEach((env, i) => {
        const { status, stdout, stderr } = results[i];
        const tag = wanted[env as keyof typeof wanted];
        if (status === 0) {
          expect(stdout, `round ${round} ${env}`).toContain(`hello in ${env}: `);
          expect(tags[env], `round ${round}: ${env} said done`).toBe(tag);
          expect(deployedTag(dist, env, 'hello')).toBe(tag);
        } else {
          expect(status, stderr).toBe(1);
          expect(stderr).not.toBe('');
          expect(tags[env]).not.toBe(tag);
        }
      });
      // The lock serializes them: with its default wait, neither has to fail.
      expect(results.map((r) => r.status)).toEqual([0, 0]);
    }
    await expectFreshRender(project, 'after the concurrent deploys');
  }, 300_000);

  it('GIVEN a kill at every step of the commit THEN the next command, of any kind, leaves the model and dist/ consistent, with the tag of before or after', async () => {
    // Each step is followed by another kind of command: each must finish or drop the commit first.
    const steps: [string, string, string[]][] = [
      ['staged', 'policy/cli.ts', []],
      ['journal', 'cli/diff.ts', []],
      ['model', 'main.ts', ['--check']],
      ['dist-moved', 'main.ts', []],
      ['dist-swapped', 'cli/set-image.ts', ['--app', 'hello', '--env', 'dev', '--tag', sha(99)]],
      ['previous-removed', 'policy/cli.ts', []],
    ];
    for (const [i, [step, nextEntry, nextArgs]] of steps.entries()) {
      const before = JSON.parse(readFileSync(tagsFile, 'utf8')).hello.prod;
      const tag = sha(100 + i);
      const killed = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/set-image.ts', '--app', 'hello', '--env', 'prod', '--tag', tag], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, PLATFORM_TEST_CRASH_AT: step },
      });
      // Killed: no exit status, and it claimed nothing.
      expect(killed.signal, `${step}: ${killed.stderr}`).toBe('SIGKILL');
      expect(killed.status).toBe(null);
      expect(killed.stdout).toBe('');
      // The next command finishes or drops the commit first, then does its own work truthfully.
      const next = run(project, nextEntry, nextArgs);
      expect(next.status, `${step} then ${nextEntry}: ${next.stderr}${next.stdout}`).toBe(0);
      if (step !== 'staged') expect(next.stderr, step).toMatch(/^finished an interrupted npm run set-image \(pid \d+\)/);
      // A fresh render of the model on disk agrees with dist/ (after 'model' the next command
      // was that check, as a process, already).
      if (!(nextEntry === 'main.ts' && nextArgs[0] === '--check')) await expectFreshRender(project, step);
      const after = JSON.parse(readFileSync(tagsFile, 'utf8')).hello.prod;
      // Before the journal the commit is dropped; from the journal on it is finished.
      expect(after, step).toBe(step === 'staged' ? before : tag);
      expect(deployedTag(dist, 'prod', 'hello')).toBe(after);
      expect(readdirSync(project).filter((entry) => entry.startsWith('.platform-journal') || entry.startsWith('.dist-previous'))).toEqual([]);
    }
  }, 600_000);
});

describe('npm run set-image refuses a shared YAML node', () => {
  const original = readFileSync(join(ROOT, 'test/fixtures/valid/single-node.yaml'), 'utf8');
  const cases: [string, string, RegExp][] = [
    [
      'an anchored tag',
      original.replace(/(staging:\n(?:.*\n)*?\s+tag: )(\S+)/, '$1&shared $2').replace(/(prod:\n(?:.*\n)*?\s+tag: )(\S+)/, '$1*shared'),
      /apps\.shop\.environments\.staging\.tag is anchored \(&shared\)/,
    ],
    [
      'an aliased tag',
      original.replace(/(staging:\n(?:.*\n)*?\s+tag: )(\S+)/, '$1&shared $2').replace(/(prod:\n(?:.*\n)*?\s+tag: )(\S+)/, '$1*shared'),
      /apps\.shop\.environments\.prod\.tag is an alias \(\*shared\)/,
    ],
  ];
  cases.forEach(([what, text, message], i) => {
    it(`fails when the tag is ${what}, naming it, and changes nothing`, () => {
      const file = join(work, `anchored-${i}.yaml`);
      writeFileSync(file, text);
      const env = what === 'an anchored tag' ? 'staging' : 'prod';
      const result = inProcess(ROOT, ['--config', file, '--app', 'shop', '--env', env, '--tag', SHA, '--out', join(work, `anchored-dist-${i}`)]);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(readFileSync(file, 'utf8')).toBe(text);
    });
  });

  it('fails when the environment is reached through an alias of a shared mapping', () => {
    const file = join(work, 'aliased-environment.yaml');
    const text = original.replace(/      staging:\n/, '      staging: &stage\n').replace(/      prod:\n(?:        .*\n|          .*\n)*/, '      prod: *stage\n');
    writeFileSync(file, text);
    const result = inProcess(ROOT, ['--config', file, '--app', 'shop', '--env', 'staging', '--tag', SHA, '--out', join(work, 'aliased-dist')]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/apps\.shop\.environments\.staging is anchored \(&stage\)/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('a corrupt config/app-images.json', () => {
  const project = copyProject('corrupt-tags');
  const tagsFile = join(project, APP_IMAGE_TAGS_FILE);

  it('fails naming that file and the key when an entry has the wrong type, without a stack trace', () => {
    writeFileSync(tagsFile, '{ "hello": { "dev": 5, "staging": "0.1.0", "prod": "0.1.0" } }\n');
    // main.ts as a process (the model is bundled with the file); set-image reads the file itself.
    const runs = [
      ['main.ts', run(project, 'main.ts', [])],
      ['cli/set-image.ts', inProcess(project, ['--app', 'hello', '--env', 'prod', '--tag', SHA])],
    ] as const;
    for (const [entry, result] of runs) {
      expect(result.status, entry).toBe(1);
      expect(result.stderr, entry).toBe(
        'config/app-images.json: the platform model is invalid (1 problem):\n  hello.dev: 5: must be a string, the image tag (e.g. the commit SHA the pipeline built)\n',
      );
    }
  });

  it('fails naming that file and the position when it is not JSON, without a stack trace', () => {
    writeFileSync(tagsFile, '{ "hello": { "dev": \n');
    const result = run(project, 'main.ts', []);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('main.ts: cannot be built; nothing was changed:\n  config/app-images.json:2:0: ');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('npm run set-image --digest (the digest the pipeline pushed and the scan approved)', () => {
  const project = copyProject('digest');
  const rendered = copyBaselineRender(project);
  const dist = join(project, 'dist');
  const tagsFile = join(project, APP_IMAGE_TAGS_FILE);
  const DIGEST = `sha256:${'4e'.repeat(32)}`;
  const image = (tree: Map<string, string>, env: string, app = 'hello') => /image: (\S+)/.exec(tree.get(`k8s/${env}/${app}/deployment-${app}.yaml`) ?? '')?.[1];

  it('GIVEN the default model WHEN a tag and its digest are set THEN the Deployment runs repo:tag@digest and the file keeps both', async () => {
    expect(rendered.status, rendered.stderr).toBe(0);
    const before = readTree(dist);
    const result = run(project, 'cli/set-image.ts', ['--app', 'hello', '--env', 'dev', '--tag', SHA, '--digest', DIGEST]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(new RegExp(`^hello in dev: \\S+ -> ${SHA}@${DIGEST}$`));
    expect(JSON.parse(readFileSync(tagsFile, 'utf8')).hello.dev).toEqual({ tag: SHA, digest: DIGEST });
    const after = readTree(dist);
    expect(image(after, 'dev')).toBe(`registry.lumetium.com/apps/hello:${SHA}@${DIGEST}`);
    // The other environments keep their tag-only image (models from before digests keep rendering).
    expect(image(after, 'staging')).toBe(image(before, 'staging'));
    expect(image(after, 'staging')).not.toContain('@');
    await expectFreshRender(project, 'after the digest deploy');
    const again = inProcess(project, ['--app', 'hello', '--env', 'dev', '--tag', SHA, '--digest', DIGEST]);
    expect(again.stdout).toBe(`hello in dev already runs ${SHA}@${DIGEST}; nothing changed\n`);
  });

  it('fails when a new tag comes without a digest where the environment has one, or the digest is malformed, and changes nothing', () => {
    const before = readTree(dist);
    const tags = readFileSync(tagsFile, 'utf8');
    const cases: [string[], string][] = [
      [
        ['--app', 'hello', '--env', 'dev', '--tag', 'abc'],
        '--digest: (missing): config/app-images.json (hello.dev) has a digest, and the new tag would run with it; pass the new image\'s digest (crane digest <image>:abc prints it), or remove the digest by hand to deploy by tag alone\n',
      ],
      [
        ['--app', 'hello', '--env', 'dev', '--tag', SHA, '--digest', 'sha256:abc'],
        '--digest "sha256:abc": must be "sha256:" and 64 lowercase hex digits, the digest the pipeline pushed (crane digest IMAGE:TAG prints it)\n',
      ],
    ];
    for (const [args, message] of cases) {
      const result = inProcess(project, args);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(message);
    }
    expect(readFileSync(tagsFile, 'utf8')).toBe(tags);
    expect(readTree(dist)).toEqual(before);
  });

  it('GIVEN a model file WHEN a digest is set THEN one line "digest:" appears below the tag, and the next deploy replaces both in place', () => {
    const file = join(work, 'digest-platform.yaml');
    const original = readFileSync(join(ROOT, 'test/fixtures/valid/single-node.yaml'), 'utf8');
    writeFileSync(file, original);
    const out = join(work, 'digest-dist');
    const deploy = (tag: string, digest: string) => inProcess(ROOT, ['--config', file, '--app', 'shop', '--env', 'prod', '--tag', tag, '--digest', digest, '--out', out]);
    const first = deploy(SHA, DIGEST);
    expect(first.status, first.stderr).toBe(0);
    const lines = original.split('\n');
    const edited = readFileSync(file, 'utf8').split('\n');
    expect(edited).toHaveLength(lines.length + 1);
    const tagLine = edited.findIndex((line) => line.includes(`tag: ${SHA}`));
    expect(edited[tagLine + 1]).toBe(`${/^\s*/.exec(edited[tagLine])![0]}digest: ${DIGEST}`);
    expect(image(readTree(out), 'prod', 'shop')).toBe(`images.example.net/team/storefront:${SHA}@${DIGEST}`);
    const next = `sha256:${'5f'.repeat(32)}`;
    const second = deploy(sha(7), next);
    expect(second.status, second.stderr).toBe(0);
    const again = readFileSync(file, 'utf8').split('\n');
    expect(again).toHaveLength(edited.length);
    expect(again[tagLine + 1]).toBe(edited[tagLine + 1].replace(DIGEST, next));
    expect(image(readTree(out), 'prod', 'shop')).toBe(`images.example.net/team/storefront:${sha(7)}@${next}`);
  });

  it('fails when config/app-images.json has an entry with a digest but no tag, or a bad digest, naming it', () => {
    const bad = { hello: { dev: { digest: DIGEST }, staging: { tag: SHA, digest: 'md5:1' }, prod: '0.1.0' } };
    const message = (() => {
      try {
        checkImageTags(bad);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })().split('\n');
    expect(message[0]).toBe('config/app-images.json: the platform model is invalid (2 problems):');
    expect(message[1]).toMatch(/^ {2}hello\.dev: \{"digest":"sha256:4e4e.*: must be the tag, or \{"tag": "<tag>", "digest": "sha256:<64 hex>"\} with exactly these keys$/);
    expect(message[2]).toBe('  hello.staging.digest: "md5:1": must be "sha256:" and 64 lowercase hex digits, the digest the pipeline pushed (crane digest IMAGE:TAG prints it)');
  });
});
