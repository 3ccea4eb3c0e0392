/**
 * Writing `dist/`: render into a staging folder beside it, verify, then swap it in with two
 * renames. A failed or killed render leaves `dist/` as it was; stale files disappear because the
 * whole folder is replaced. If a process dies between the two renames, the next run puts the
 * previous `dist/` back before doing anything else.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { RenderedFiles } from './render';

const STAGING_PREFIX = '.synth-staging-';

/**
 * Files Terraform writes into a stack's folder when an operator runs it there: provider plugins,
 * the lock file, local state. They are not rendered, so a swap must not delete them: they are
 * carried over from the previous dist/ into the new one (and git ignores them).
 */
const OPERATOR_FILES = ['.terraform', '.terraform.lock.hcl', 'terraform.tfstate', 'terraform.tfstate.backup', '.terraform.tfstate.lock.info'];

function isOperatorFile(relativePath: string): boolean {
  const parts = relativePath.split('/');
  return parts[0] === 'terraform' && parts.length >= 3 && OPERATOR_FILES.includes(parts[2]);
}

/** Moves the operator's Terraform files of `from` into `to` where `to` has none yet. */
function carryOverOperatorFiles(from: string, to: string): void {
  const terraform = join(from, 'terraform');
  if (!existsSync(terraform)) return;
  for (const stack of readdirSync(terraform)) {
    for (const name of OPERATOR_FILES) {
      const source = join(terraform, stack, name);
      const target = join(to, 'terraform', stack, name);
      if (!existsSync(source) || existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      renameSync(source, target);
    }
  }
}

function previousDirOf(distDir: string): string {
  return join(dirname(distDir), `.dist-previous-${basename(distDir)}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Undo what an interrupted earlier run left behind. */
export function recoverInterruptedSwap(distDir: string): void {
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
  return staging;
}

/** Replaces `distDir` with `staging`. */
export function swapIn(staging: string, distDir: string): void {
  const previous = previousDirOf(distDir);
  if (existsSync(distDir)) {
    renameSync(distDir, previous);
    renameSync(staging, distDir);
    carryOverOperatorFiles(previous, distDir);
    rmSync(previous, { recursive: true, force: true });
  } else {
    renameSync(staging, distDir);
  }
}

/** Every rendered file below `dir` (not the operator's Terraform files), relative to it, with its content. */
export function readTree(dir: string): RenderedFiles {
  const files: RenderedFiles = new Map();
  if (!existsSync(dir)) return files;
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const full = join(current, entry);
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
