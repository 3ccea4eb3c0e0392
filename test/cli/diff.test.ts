/**
 * `npm run diff`: a user-given revision is never read as an option by git (`--rev=--output=FILE`
 * once wrote an arbitrary file) and a revision that names no commit is refused by name.
 *
 * One refusal runs as a process (the exit code and stderr reach the shell); the others run the
 * command in this process (runDiff, what the entry calls), which costs no Node start, bundle and
 * cdk8s load per case (docs/decisions/0096-test-run-speed.md).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDiff } from '../../cli/diff';
import { captureOutput } from '../support/in-process';
import { runEntry } from '../support/render';

const inProcess = (args: string[]) => captureOutput(() => runDiff(args));

const work = mkdtempSync(join(tmpdir(), 'diff-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run diff -- --rev', () => {
  it('fails when the revision is an option, and writes no file', () => {
    const file = join(work, 'written-by-git');
    for (const [i, rev] of [`--output=${file}`, `--output ${file}`, '-o'].entries()) {
      const result = i === 0 ? runEntry('cli/diff.ts', [`--rev=${rev}`]) : inProcess([`--rev=${rev}`]);
      expect(result.status, rev).toBe(2);
      expect(result.stderr).toMatch(/^diff failed: --rev ".*": is not a Git revision \(it must start with a letter, digit or "_" and hold no spaces\); name a commit, branch or tag, e.g. --rev main~1\n$/);
      expect(existsSync(file)).toBe(false);
    }
  });

  it('fails when the revision names no commit, or names a path inside one', () => {
    for (const rev of ['no-such-branch-anywhere', 'HEAD:dist']) {
      const result = inProcess(['--rev', rev]);
      expect(result.status, rev).toBe(2);
      expect(result.stderr, rev).toMatch(/^diff failed: --rev ".*": (names no commit of this repository|is not a Git revision)/);
    }
  });

  it('shortens a long revision in the message', () => {
    const result = inProcess(['--rev', `a${'b'.repeat(300)}`]);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0].length).toBeLessThan(250);
    expect(result.stderr).toContain('… (303 characters)');
  });

  it('GIVEN a real revision THEN it compares with dist/ at that commit', () => {
    const result = inProcess(['--rev', 'HEAD']);
    // 0: no change since HEAD; 1: the work tree changed the model since. Never 2 (a failure).
    expect([0, 1], result.stderr).toContain(result.status);
    expect(result.stdout).toMatch(/dist\/ at HEAD/);
  });
});
