import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTree, recoverAll } from '../cli/dist';
import { withLock } from '../cli/transaction.mjs';
import { runSynth } from '../main';
import { captureOutput } from './support/in-process';
import { ROOT, runEntry } from './support/render';

const work = mkdtempSync(join(tmpdir(), 'platform-main-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SINGLE_NODE = join(ROOT, 'test/fixtures/valid/single-node.yaml');

function synthInto(dir: string, args: string[] = []) {
  const result = runEntry('main.ts', ['--out', dir, ...args]);
  expect(result.status, result.stderr).toBe(0);
  return readTree(dir);
}

/**
 * `npm run synth ARGS` in this process (runSynth, what the entry calls), with `env` as its
 * environment: its exit code and what it printed. For runs whose output or effect on a folder is
 * the property; a process stays where the process is (byte-identical output across processes,
 * exit codes reaching the shell, kills, the lock). docs/decisions/0096-test-run-speed.md.
 */
function inProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  return captureOutput(() => runSynth(args, { ...process.env, ...env }));
}

function synthInProcess(dir: string, args: string[] = []) {
  const result = inProcess(['--out', dir, ...args]);
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^rendered \d+ files into /);
  return readTree(dir);
}

/**
 * A folder a render wrote, for a test about what the next run does with it: a copy of the first
 * describe's baseline render (byte for byte what a render writes, marker included), which costs
 * milliseconds where another render process costs about a second of CPU.
 */
function renderedFolder(dir: string): void {
  cpSync(join(work, 'baseline'), dir, { recursive: true });
}

describe('npm run synth', () => {
  const baseline = join(work, 'baseline');
  const reference = synthInto(baseline);
  // The default model as YAML, printed once (in this process: what --print-config writes is the property).
  let printedOnce: ReturnType<typeof inProcess> | undefined;
  const printed = () => (printedOnce ??= inProcess(['--print-config']));

  it('renders the default platform', () => {
    expect(reference.size).toBeGreaterThan(10);
    expect(reference.has('terraform/state/cdk.tf.json')).toBe(true);
    expect(reference.has('k8s/platform/bootstrap/application-platform-root.yaml')).toBe(true);
  });

  it('gives byte-identical output across two processes', () => {
    expect(synthInto(join(work, 'second'))).toEqual(reference);
  });

  it('renders the printed default config to exactly the default render', () => {
    const result = printed();
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^domain: lumetium.com\n/);
    const file = join(work, 'printed.yaml');
    writeFileSync(file, result.stdout);
    expect(synthInProcess(join(work, 'from-printed'), ['--config', file])).toEqual(reference);
  });

  it('removes stale files: the folder is replaced, not merged', () => {
    const dir = join(work, 'stale');
    renderedFolder(dir);
    writeFileSync(join(dir, 'k8s/platform/argocd/leftover.yaml'), 'kind: Leftover\n');
    expect(synthInProcess(dir)).toEqual(reference);
  });

  it('fails when the config is invalid, lists the problems and leaves dist/ untouched', () => {
    const dir = join(work, 'bad-config');
    renderedFolder(dir);
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, printed().stdout.replace('host: grafana.lumetium.com', 'host: grafana').replace('retentionDays: 30', 'retentionDays: 0'));
    const result = inProcess(['--out', dir, '--config', bad]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `${bad}: the platform model is invalid (2 problems):\n` +
        '  backups.retentionDays: 0: must be at least 1 day\n' +
        '  services.grafana.host: "grafana": must be a fully qualified domain name under lumetium.com, e.g. "grafana.lumetium.com"\n',
    );
    expect(readTree(dir)).toEqual(reference);
  });

  it('fails at once when --config is /dev/zero or a FIFO, instead of reading forever', () => {
    const fifo = join(work, 'model.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const [file, kind] of [['/dev/zero', 'a device'], [fifo, 'a pipe (FIFO)']]) {
      const result = spawnSync(process.execPath, ['cli/launch.mjs', 'main.ts', '--config', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(result.signal, file).toBe(null);
      expect(result.status, file).toBe(1);
      expect(result.stderr).toBe(`${file}: the platform model is invalid (1 problem):\n  (file): is ${kind}, not a regular file; pass a YAML or JSON file to --config\n`);
    }
  });

  it('fails on an unknown flag with the usage', () => {
    const result = runEntry('main.ts', ['--conifg', 'x.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Unknown option '--conifg'");
    expect(result.stderr).toContain('usage: npm run synth');
  });

  it('fails on an exception without touching dist/', () => {
    const dir = join(work, 'exception');
    renderedFolder(dir);
    const result = inProcess([], { CDKTF_OUTDIR: join(dir, 'not-terraform') });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^synth failed; dist\/ was not changed: CDKTF_OUTDIR: .*must end in \/terraform/);
    expect(readTree(dir)).toEqual(reference);
  });

  it('leaves dist/ either fully old or fully new when the process is killed at any moment', async () => {
    const dir = join(work, 'killed');
    const other = readTree(join(work, 'other'));
    const otherRender = other.size ? other : synthInProcess(join(work, 'other'), ['--config', SINGLE_NODE]);
    const outcomes: string[] = [];
    for (const delay of [50, 150, 250, 350, 450, 550, 650, 750, 900, Infinity]) {
      rmSync(dir, { recursive: true, force: true });
      cpSync(baseline, dir, { recursive: true });
      const child = spawn(process.execPath, ['cli/launch.mjs', 'main.ts', '--out', dir, '--config', SINGLE_NODE], { cwd: ROOT, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (delay !== Infinity) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        child.kill('SIGKILL');
      }
      await exited;
      // What the next run does first: finish or undo an interrupted swap.
      withLock(ROOT, 'test', () => recoverAll(ROOT, dir));
      const tree = readTree(dir);
      const state = JSON.stringify([...tree]) === JSON.stringify([...reference]) ? 'old' : JSON.stringify([...tree]) === JSON.stringify([...otherRender]) ? 'new' : 'partial';
      expect(state, `killed after ${delay} ms`).not.toBe('partial');
      outcomes.push(state);
    }
    // The first kill lands before the swap; the last run is not killed and completes.
    expect(outcomes[0]).toBe('old');
    expect(outcomes.at(-1)).toBe('new');
  });
});

describe('npm run synth refuses a folder it did not write', () => {
  /** What a refused run must leave: the folder exactly as it was. */
  const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);

  const cases: [string, () => { args: string[]; env?: NodeJS.ProcessEnv; dir: string }, RegExp][] = [
    ['--out at the repository root', () => ({ args: ['--out', ROOT], dir: ROOT }), /^--out .*: is the project itself; .*nothing was changed\n$/],
    ['--out above the repository', () => ({ args: ['--out', join(ROOT, '..')], dir: join(ROOT, '..') }), /^--out .*: holds the project \(.*\);.*nothing was changed\n$/],
    [
      '--out at a folder of someone else\'s files',
      () => {
        const dir = join(work, 'home');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'thesis.tex'), 'mine\n');
        return { args: ['--out', dir], dir };
      },
      /^--out .*home: was not written by a render \(it has no \.platform-render\) and is not empty;/,
    ],
    [
      '--out at a file',
      () => {
        const file = join(work, 'a-file');
        writeFileSync(file, 'mine\n');
        return { args: ['--out', file], dir: work };
      },
      /^--out .*a-file: is a file, not a render folder;/,
    ],
    ['CDK8S_OUTDIR at the repository root', () => ({ args: [], env: { CDK8S_OUTDIR: ROOT }, dir: ROOT }), /^CDK8S_OUTDIR .*: is the project itself;/],
    [
      'CDKTF_OUTDIR inside a folder of someone else\'s files',
      () => {
        const dir = join(work, 'home-tf');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'notes.txt'), 'mine\n');
        return { args: [], env: { CDKTF_OUTDIR: join(dir, 'terraform') }, dir };
      },
      /^CDKTF_OUTDIR .*home-tf: was not written by a render/,
    ],
  ];
  for (const [what, setup, message] of cases) {
    it(`fails when ${what}, and changes nothing`, () => {
      const { args, env, dir } = setup();
      const before = dir === ROOT || dir === join(ROOT, '..') ? undefined : listing(dir);
      const result = inProcess(args, env);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
      if (before) expect(listing(dir)).toEqual(before);
      expect(existsSync(join(ROOT, 'package.json'))).toBe(true);
    });
  }

  it('GIVEN three renders into one folder at once THEN all succeed and the folder holds one whole render', async () => {
    const dir = join(work, 'concurrent');
    const runs = [0, 1, 2].map(
      () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['cli/launch.mjs', 'main.ts', '--out', dir], { cwd: ROOT });
          let stderr = '';
          child.stderr.on('data', (chunk) => (stderr += chunk));
          child.once('exit', (code) => resolve({ code, stderr }));
        }),
    );
    for (const { code, stderr } of await Promise.all(runs)) expect(code, stderr).toBe(0);
    expect(readTree(dir)).toEqual(readTree(join(work, 'baseline')));
  });
});

describe('npm run check', () => {
  it('passes when dist/ matches a fresh render', () => {
    const dir = join(work, 'check-ok');
    renderedFolder(dir);
    const result = inProcess(['--out', dir, '--check']);
    expect(result.status, result.stderr).toBe(0);
  });

  it('fails and lists changed, stale and missing files', () => {
    const dir = join(work, 'check-drift');
    renderedFolder(dir);
    writeFileSync(join(dir, 'terraform/state/cdk.tf.json'), '{}\n');
    writeFileSync(join(dir, 'k8s/platform/argocd/stale.yaml'), 'kind: Stale\n');
    rmSync(join(dir, 'k8s/dev/apps/application-dev-root.yaml'));
    const result = inProcess(['--out', dir, '--check']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('differs from a fresh render (3 files)');
    expect(result.stderr).toContain('+ k8s/dev/apps/application-dev-root.yaml (missing from the committed dist/)');
    expect(result.stderr).toContain('- k8s/platform/argocd/stale.yaml (stale: a fresh render no longer produces it)');
    expect(result.stderr).toContain('~ terraform/state/cdk.tf.json');
  });

  it('fails when the render marker is missing', () => {
    const dir = join(work, 'check-marker');
    renderedFolder(dir);
    rmSync(join(dir, '.platform-render'));
    const result = inProcess(['--out', dir, '--check']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('differs from a fresh render (1 file)');
    expect(result.stderr).toContain('~ .platform-render (the render marker)');
  });

  it('matches the committed dist/ of this repository', () => {
    const result = runEntry('main.ts', ['--check']);
    expect(result.status, result.stderr).toBe(0);
  });
});

describe('the ecosystem CLIs', () => {
  const env = { ...process.env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: '1', FORCE_COLOR: '0' };

  it('cdk8s synth (through cdk8s.yaml) writes the same files as npm run synth', () => {
    const dir = join(work, 'cdk8s-cli');
    const result = spawnSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['synth', '--output', dir], { cwd: ROOT, encoding: 'utf8', env });
    expect(result.status, result.stderr).toBe(0);
    expect(readTree(dir)).toEqual(readTree(join(work, 'baseline')));
  });

  it('cdktf synth (through cdktf.json) writes the same files as npm run synth', () => {
    const dir = join(work, 'cdktf-cli');
    const result = spawnSync(join(ROOT, 'node_modules/.bin/cdktf'), ['synth', '--output', join(dir, 'terraform')], { cwd: ROOT, encoding: 'utf8', env });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    // cdktf names every stack the model renders, in name order (the same folders npm run synth wrote).
    const stacks = readdirSync(join(work, 'baseline', 'terraform'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(stacks.length).toBeGreaterThan(0);
    expect(result.stdout).toContain(`Generated Terraform code for the stacks: ${stacks.join(', ')}`);
    expect(readTree(dir)).toEqual(readTree(join(work, 'baseline')));
    expect(existsSync(join(dir, 'terraform/stacks'))).toBe(false);
  });
});
