/**
 * Validators that live outside the project: Debian tools (promtool, haproxy, ...). Locally a
 * missing one skips its tests with a visible message; with CI=true it fails them, so CI can never
 * pass without the real check. The CRD schemas are not among them: `npm run import` commits them
 * under imports/schemas/, so a clone has them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './render';

export const IN_CI = process.env.CI === 'true';

/** The CRD schemas `npm run import` generates (one JSON schema per served version). */
export const CRDS_DIR = join(ROOT, 'imports', 'schemas');

/**
 * Whether a validator is present. Missing in CI: throws (the test fails). Missing locally: warns
 * once and returns false so the caller can skip.
 */
export function requireValidator(name: string, present: boolean, install: string): boolean {
  if (present) return true;
  const message = `validator ${name} is missing: ${install}`;
  if (IN_CI) throw new Error(`${message} (CI=true: the tests that need it fail instead of skipping)`);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

/** The committed schemas are part of the checkout: missing means a broken tree, never a skip. */
export function hasCrds(): boolean {
  if (!existsSync(CRDS_DIR)) throw new Error(`${CRDS_DIR} is missing; run npm run import (see README) and commit imports/`);
  return true;
}
