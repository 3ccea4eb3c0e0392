/**
 * Writing `dist/`: render into a staging folder beside it, verify, then swap it in with two
 * renames, under the project's lock and journal (cli/transaction.mjs). A failed or killed render
 * leaves `dist/` as it was or finished by the next command; stale files disappear because the
 * whole folder is replaced. Only a folder a render wrote is replaced: it carries RENDER_MARKER.
 * @see docs/decisions/0050-render-marker-lock-journal.md
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { shorten } from '../config/load';
import type { RenderedFiles } from './render';
import { carryOverOperatorFiles, commit, crashPoint, OPERATOR_FILES, previousDirOf, processAlive, recoverJournal, type CommitIntent } from './transaction.mjs';

const STAGING_PREFIX = '.synth-staging-';

/**
 * The file that marks a folder as a render's output. Not YAML or JSON, and at the top of dist/
 * (never inside dist/k8s/<env>/<app>/), so Argo CD's directory sources never read it.
 */
export const RENDER_MARKER = '.platform-render';

const MARKER_HEADER = [
  '# Written by the platform synthesizer (npm run synth). Each render replaces this folder whole.',
  '# A render writes only into a folder that is missing, empty, or holds this file and nothing but',
  '# the entries listed below (the top-level entries the render that wrote it produced).',
];

/** The marker's text for a render: its top-level entries, sorted (deterministic, like the render). */
export function markerText(files: RenderedFiles): string {
  const top = [...new Set([...files.keys()].map((path) => path.split('/')[0]))].sort();
  return `${[...MARKER_HEADER, ...top].join('\n')}\n`;
}

/** A refusal to write an output folder; nothing was touched. */
export class OutputTargetError extends Error {}

function isOperatorFile(relativePath: string): boolean {
  const parts = relativePath.split('/');
  return parts[0] === 'terraform' && parts.length >= 3 && OPERATOR_FILES.includes(parts[2]);
}

/** Whether the folder holds no file at all (only empty folders, as a CLI may create them first). */
function holdsNoFiles(dir: string): boolean {
  const pending = [dir];
  while (pending.length) {
    const current = pending.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (!entry.isDirectory()) return false;
      pending.push(join(current, entry.name));
    }
  }
  return true;
}

/** The nearest folder at or above `dir` that holds `.git` (a repository or a worktree), if any. */
function repositoryOf(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) return current;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * Refuses an output folder the render did not write: a file, a link, the project or its repository
 * or a folder above them, or a folder without the marker or with entries the marker does not list.
 * A missing folder or one without files is fine: the render creates it.
 */
export function checkOutputTarget(distDir: string, root: string, source: string): void {
  const target = resolve(distDir);
  const refuse = (why: string) => new OutputTargetError(`${source ? `${source} ` : ''}${shorten(target)}: ${why}; nothing was changed`);
  let stat;
  try {
    stat = lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw refuse(`cannot be inspected (${(error as NodeJS.ErrnoException).code})`);
  }
  if (stat.isSymbolicLink()) throw refuse('is a symbolic link; pass the folder it points to, or a new folder');
  if (!stat.isDirectory()) throw refuse('is a file, not a render folder; pass a new or empty folder, or a previous render');
  const real = realpathSync(target);
  const project = realpathSync(root);
  for (const [what, dir] of [['the project', project], ['the Git repository', repositoryOf(project)]] as const) {
    if (dir === undefined) continue;
    const up = relative(real, dir);
    if (up === '') throw refuse(`is ${what} itself; a render replaces its folder whole, so pass a folder of its own such as dist/`);
    if (!up.startsWith('..') && !isAbsolute(up)) throw refuse(`holds ${what} (${dir}); a render replaces its folder whole, so pass a folder of its own such as dist/`);
  }
  if (holdsNoFiles(target)) return;
  const marker = join(target, RENDER_MARKER);
  if (!existsSync(marker) || !statSync(marker).isFile()) {
    throw refuse(`was not written by a render (it has no ${RENDER_MARKER}) and is not empty; pass a new or empty folder, or move its files away`);
  }
  const listed = new Set(readFileSync(marker, 'utf8').split('\n').filter((line) => line && !line.startsWith('#')));
  const foreign = readdirSync(target).filter((entry) => entry !== RENDER_MARKER && !listed.has(entry)).sort();
  if (foreign.length) {
    const names = foreign.slice(0, 5).map((name) => shorten(name)).join(', ');
    throw refuse(`holds ${foreign.length === 1 ? 'an entry' : `${foreign.length} entries`} no render wrote (${names}${foreign.length > 5 ? ', ...' : ''}); move ${foreign.length === 1 ? 'it' : 'them'} out of the folder first`);
  }
}

/** Undo what an interrupted earlier run left beside `distDir` (call it holding the lock). */
export function recoverInterruptedSwap(distDir: string): void {
  // A previous dist/ without a journal: left by a release before the journal; put it back.
  const previous = previousDirOf(distDir);
  if (existsSync(previous)) {
    if (existsSync(distDir)) {
      carryOverOperatorFiles(previous, distDir);
      rmSync(previous, { recursive: true, force: true });
    } else {
      renameSync(previous, distDir);
    }
  }
  const parent = dirname(distDir);
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(entry.slice(STAGING_PREFIX.length).split('-')[0]);
    if (!processAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

/** Everything a command does first, holding the lock: finish an interrupted commit, clean up. */
export function recoverAll(root: string, distDir: string): string | undefined {
  const done = recoverJournal(root);
  recoverInterruptedSwap(distDir);
  return done;
}

/**
 * Writes a render into `distDir` (and, with `model`, the model file's new text) as one commit.
 * Call it holding the lock, after recoverAll and checkOutputTarget.
 */
export function commitRender(root: string, command: string, files: RenderedFiles, distDir: string, model?: { readonly file: string; readonly text: string }): void {
  const staging = writeStaging(files, distDir);
  let next: string | undefined;
  try {
    if (model) {
      next = join(dirname(model.file), `.${basename(model.file)}.next-${process.pid}`);
      writeFileSync(next, model.text);
    }
    crashPoint('staged');
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (next) rmSync(next, { force: true });
    throw error;
  }
  const intent: CommitIntent = { command, distDir: resolve(distDir), staging, previous: previousDirOf(resolve(distDir)), ...(model && next ? { model: { file: resolve(model.file), next } } : {}) };
  commit(root, intent);
}

/** Writes the files into a fresh staging folder next to `distDir` and returns its path. */
export function writeStaging(files: RenderedFiles, distDir: string): string {
  const parent = dirname(distDir);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `${STAGING_PREFIX}${process.pid}-${basename(distDir)}`);
  rmSync(staging, { recursive: true, force: true });
  // Each folder once (a recursive mkdir per file cost a syscall walk per file).
  const folders = new Set<string>();
  for (const [path, text] of files) {
    const target = join(staging, path);
    const folder = dirname(target);
    if (!folders.has(folder)) {
      mkdirSync(folder, { recursive: true });
      folders.add(folder);
    }
    writeFileSync(target, text);
  }
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, RENDER_MARKER), markerText(files));
  return staging;
}

/** Every rendered file below `dir` (not the marker, not the operator's Terraform files), relative to it, with its content. */
export function readTree(dir: string): RenderedFiles {
  const files: RenderedFiles = new Map();
  if (!existsSync(dir)) return files;
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const full = join(current, entry);
      if (current === dir && entry === RENDER_MARKER) continue;
      if (isOperatorFile(relative(dir, full).split('\\').join('/'))) continue;
      if (statSync(full).isDirectory()) walk(full);
      else files.set(relative(dir, full).split('\\').join('/'), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** The paths that differ between two file sets, each marked added (+), removed (-) or changed (~). */
export function diffTrees(expected: RenderedFiles, actual: RenderedFiles): string[] {
  const lines: string[] = [];
  const paths = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const path of paths) {
    const want = expected.get(path);
    const have = actual.get(path);
    if (have === undefined) lines.push(`+ ${path} (missing from the committed dist/)`);
    else if (want === undefined) lines.push(`- ${path} (stale: a fresh render no longer produces it)`);
    else if (want !== have) lines.push(`~ ${path}`);
  }
  return lines;
}
