import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputTarget, commitRender, diffTrees, markerText, readTree, recoverAll, RENDER_MARKER, writeStaging } from '../../cli/dist';
import { acquireLock, JOURNAL_FILE, LOCK_FILE, previousDirOf, withLock } from '../../cli/transaction.mjs';

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

/** A scratch project: a root with a package.json, its dist/ inside. */
function scratchProject(): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
  writeFileSync(join(root, 'package.json'), '{}\n');
  return { root, dist: join(root, 'dist') };
}

function render(root: string, dist: string, entries: Record<string, string>, model?: { file: string; text: string }) {
  recoverAll(root, dist);
  checkOutputTarget(dist, root, '--out');
  commitRender(root, 'test', files(entries), dist, model);
}

describe('writing dist/', () => {
  it('GIVEN a previous render WHEN a new one is committed THEN the folder is replaced, stale files and all', () => {
    const { root, dist } = scratchProject();
    render(root, dist, { 'a/old.yaml': 'old\n' });
    render(root, dist, { 'a/new.yaml': 'new\n' });
    expect(readTree(dist)).toEqual(files({ 'a/new.yaml': 'new\n' }));
    expect(existsSync(previousDirOf(dist))).toBe(false);
    expect(existsSync(join(root, JOURNAL_FILE))).toBe(false);
  });

  it('GIVEN a render WHEN it is written THEN the folder carries the marker listing its top-level entries, which readTree leaves out', () => {
    const { root, dist } = scratchProject();
    const rendered = files({ 'k8s/a.yaml': 'a\n', 'README.md': 'r\n' });
    render(root, dist, Object.fromEntries(rendered));
    expect(readFileSync(join(dist, RENDER_MARKER), 'utf8')).toBe(markerText(rendered));
    expect(markerText(rendered).split('\n').filter((line) => line && !line.startsWith('#'))).toEqual(['README.md', 'k8s']);
    expect(readTree(dist)).toEqual(rendered);
  });

  it('puts the previous dist/ back when a run of an earlier release died between the two renames', () => {
    const { root, dist } = scratchProject();
    mkdirSync(previousDirOf(dist));
    writeFileSync(join(previousDirOf(dist), 'kept.yaml'), 'kept\n');
    recoverAll(root, dist);
    expect(readTree(dist)).toEqual(files({ 'kept.yaml': 'kept\n' }));
  });

  it('removes staging folders of processes that no longer run, and keeps live ones', () => {
    const { root, dist } = scratchProject();
    const dead = join(root, '.synth-staging-999999999-dist');
    const live = join(root, `.synth-staging-${process.pid}-dist`);
    mkdirSync(dead);
    mkdirSync(live);
    recoverAll(root, dist);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('GIVEN a journal a killed commit left THEN the next command rolls the model and dist/ forward together', () => {
    const { root, dist } = scratchProject();
    const model = join(root, 'model.json');
    writeFileSync(model, 'old\n');
    render(root, dist, { 'a.yaml': 'old\n' });
    // A commit that died right after its journal: the model's next text and the staging are complete.
    const staging = writeStaging(files({ 'a.yaml': 'new\n' }), dist);
    const next = join(root, '.model.json.next-999999999');
    writeFileSync(next, 'new\n');
    writeFileSync(join(root, JOURNAL_FILE), JSON.stringify({ version: 1, pid: 999999999, command: 'test', distDir: dist, staging, previous: previousDirOf(dist), model: { file: model, next } }));
    expect(recoverAll(root, dist)).toMatch(/^finished an interrupted test \(pid 999999999\)/);
    expect(readFileSync(model, 'utf8')).toBe('new\n');
    expect(readTree(dist)).toEqual(files({ 'a.yaml': 'new\n' }));
    expect(existsSync(join(root, JOURNAL_FILE))).toBe(false);
    expect(existsSync(staging)).toBe(false);
  });

  it("keeps the operator's Terraform lock file and plugins across a swap, outside the render", () => {
    const { root, dist } = scratchProject();
    render(root, dist, { 'terraform/dns/cdk.tf.json': '{}\n' });
    writeFileSync(join(dist, 'terraform/dns/.terraform.lock.hcl'), 'lock\n');
    mkdirSync(join(dist, 'terraform/dns/.terraform/providers'), { recursive: true });
    render(root, dist, { 'terraform/dns/cdk.tf.json': '{"v":2}\n' });
    expect(readFileSync(join(dist, 'terraform/dns/.terraform.lock.hcl'), 'utf8')).toBe('lock\n');
    expect(existsSync(join(dist, 'terraform/dns/.terraform/providers'))).toBe(true);
    // They are not part of the render: the drift check does not see them.
    expect(readTree(dist)).toEqual(files({ 'terraform/dns/cdk.tf.json': '{"v":2}\n' }));
  });

  it('names added, removed and changed files in the drift report', () => {
    expect(diffTrees(files({ a: '1', b: '2', c: '3' }), files({ b: '2', c: 'x', d: '4' }))).toEqual([
      '+ a (missing from the committed dist/)',
      '~ c',
      '- d (stale: a fresh render no longer produces it)',
    ]);
  });
});

/** Every entry below `dir` with its content (links not followed), to show nothing was touched. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return `${path} ${entry.isFile() ? readFileSync(path, 'utf8') : entry.isSymbolicLink() ? '(link)' : '(folder)'}`;
    })
    .sort();
}

describe('the output folder', () => {
  it('GIVEN a missing folder, an empty one, or one holding only empty folders THEN a render may write it', () => {
    const { root } = scratchProject();
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'terraform'), { recursive: true });
    expect(() => checkOutputTarget(join(root, 'missing'), root, '--out')).not.toThrow();
    expect(() => checkOutputTarget(empty, root, '--out')).not.toThrow();
  });

  const refusals: [string, (root: string) => string, RegExp][] = [
    ['the project itself', (root) => root, /: is the project itself; .*nothing was changed$/],
    ['a folder above the project', (root) => join(root, '..'), /: holds the project \(.*\); a render replaces its folder whole/],
    ['a file', (root) => join(root, 'package.json'), /: is a file, not a render folder/],
    [
      'a folder with files but no marker',
      (root) => {
        mkdirSync(join(root, 'home'));
        writeFileSync(join(root, 'home/notes.txt'), 'mine\n');
        return join(root, 'home');
      },
      /: was not written by a render \(it has no \.platform-render\) and is not empty/,
    ],
    [
      'a render with an entry its marker does not list',
      (root) => {
        const dir = join(root, 'out');
        render(root, dir, { 'k8s/a.yaml': 'a\n' });
        writeFileSync(join(dir, 'thesis.tex'), 'mine\n');
        return dir;
      },
      /: holds an entry no render wrote \(thesis\.tex\); move it out of the folder first/,
    ],
    [
      'a symbolic link',
      (root) => {
        symlinkSync(root, join(root, 'link'));
        return join(root, 'link');
      },
      /: is a symbolic link/,
    ],
  ];
  for (const [what, target, message] of refusals) {
    it(`fails when the folder is ${what}, and touches nothing`, () => {
      const { root } = scratchProject();
      const dir = target(root);
      const before = snapshot(root);
      expect(() => checkOutputTarget(dir, root, '--out')).toThrow(message);
      expect(snapshot(root)).toEqual(before);
    });
  }
});

describe('the lock', () => {
  it('GIVEN a live holder WHEN a second writer waits past its bound THEN it fails naming the holder', () => {
    const { root } = scratchProject();
    const release = acquireLock(root, 'first writer');
    const saved = process.env.PLATFORM_LOCK_WAIT_SECONDS;
    process.env.PLATFORM_LOCK_WAIT_SECONDS = '0.3';
    try {
      // The same process holds it: it is alive, so the second attempt must wait and then fail.
      expect(() => acquireLock(root, 'second writer')).toThrow(new RegExp(`${LOCK_FILE}: held by pid ${process.pid} \\(first writer, since .*\\); another command is writing`));
    } finally {
      process.env.PLATFORM_LOCK_WAIT_SECONDS = saved;
      if (saved === undefined) delete process.env.PLATFORM_LOCK_WAIT_SECONDS;
      release();
    }
    expect(existsSync(join(root, LOCK_FILE))).toBe(false);
  });

  it('GIVEN a lock whose process died THEN the next writer takes it over', () => {
    const { root } = scratchProject();
    writeFileSync(join(root, LOCK_FILE), JSON.stringify({ pid: 999999999, command: 'killed', started: 'then' }));
    expect(withLock(root, 'next', () => JSON.parse(readFileSync(join(root, LOCK_FILE), 'utf8')).command)).toBe('next');
  });

  it('GIVEN a holder that finishes WHEN a second writer waits THEN it gets the lock', async () => {
    const { root } = scratchProject();
    // Another process holds the lock for half a second (it must be another pid to be "alive").
    const holder = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `import { acquireLock } from ${JSON.stringify(join(process.cwd(), 'cli/transaction.mjs'))}; const release = acquireLock(${JSON.stringify(root)}, 'holder'); console.log('held'); setTimeout(release, 500);`,
    ]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const started = Date.now();
    expect(withLock(root, 'waiter', () => 'got it')).toBe('got it');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await new Promise((resolve) => holder.once('exit', resolve));
  });
});
