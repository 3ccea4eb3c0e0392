/**
 * `npm run diff`: what a fresh render would change, per service, field by field.
 *
 *   npm run diff                         fresh render vs the committed dist/
 *   npm run diff -- --rev main~1         fresh render vs dist/ at a Git revision
 *   npm run diff -- --config FILE        render FILE instead of the default model
 *
 * Exit code: 0 nothing changed, 1 something changed, 2 the comparison failed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadDefaultPlatform, loadPlatformFile, shorten } from '../config';
import { readTree, recoverAll } from './dist';
import { withLock } from './transaction.mjs';
import { renderPlatform, type RenderedFiles } from './render';
import { formatDiff, semanticDiff } from './semantic-diff';
import { projectRoot } from './project-root';

/** A revision as Git names commits: never an option, never whitespace or control characters. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]*$/;

/**
 * The commit a user-given revision names. It reaches git only after `--end-of-options`, so
 * "--output=FILE" can never be read as an option, and only the resolved hash goes further.
 */
export function resolveRevision(root: string, rev: string): string {
  const refuse = (why: string) => new Error(`--rev ${shorten(JSON.stringify(rev))}: ${why}; name a commit, branch or tag, e.g. --rev main~1`);
  if (!REVISION.test(rev)) throw refuse('is not a Git revision (it must start with a letter, digit or "_" and hold no spaces)');
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw refuse('names no commit of this repository');
  }
}

/** dist/ as it is at a Git revision (without touching the work tree). */
function distAtRevision(root: string, rev: string): RenderedFiles {
  const commit = resolveRevision(root, rev);
  const scratch = mkdtempSync(join(tmpdir(), 'platform-diff-'));
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', commit, '--', 'dist'], { cwd: root, maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('tar', ['-x', '-C', scratch], { input: archive });
    return readTree(join(scratch, 'dist'));
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n')[0];
    throw new Error(`--rev ${shorten(rev)}: cannot read dist/ at that revision (${shorten(detail)}); name a commit, branch or tag that has dist/`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, rev: { type: 'string' }, dir: { type: 'string' } }, strict: true });
  const root = projectRoot(dirname(fileURLToPath(import.meta.url)));
  const platform = values.config ? loadPlatformFile(values.config) : loadDefaultPlatform();
  const dir = resolve(values.dir ?? join(root, 'dist'));
  // A commit a kill interrupted is finished first, so the comparison is of a consistent dist/.
  const before = withLock(root, 'npm run diff', () => {
    const recovered = recoverAll(root, values.rev ? join(root, 'dist') : dir);
    if (recovered) console.error(recovered);
    return values.rev ? distAtRevision(root, values.rev) : readTree(dir);
  });
  const after = renderPlatform(platform);
  const groups = semanticDiff(before, after);
  const against = values.rev ? `dist/ at ${values.rev}` : 'the committed dist/';
  if (!groups.length) {
    console.log(`no changes: a fresh render equals ${against}`);
    return 0;
  }
  console.log(`a fresh render changes ${groups.length} part${groups.length === 1 ? '' : 's'} of ${against}:\n${formatDiff(groups)}`);
  return 1;
}

/**
 * The whole command: runs it with these arguments, prints what it found (or why it failed) as the
 * CLI does, and returns the exit code. Exported so tests can run it in-process
 * (test/cli/diff.test.ts); the entry below calls it.
 */
export function runDiff(argv: string[]): number {
  try {
    return main(argv);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `diff failed: ${(error as Error).message}`);
    return 2;
  }
}

// Only as the entry (`node cli/launch.mjs cli/diff.ts`): a test that imports the module must not
// run the command with the test runner's argv.
if (/(^|[\\/])(launch\.mjs|diff\.ts)$/.test(process.argv[1] ?? '')) process.exitCode = runDiff(process.argv.slice(2));
