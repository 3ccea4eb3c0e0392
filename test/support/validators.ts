/**
 * Validators that live outside the project: Debian tools (promtool, haproxy, ...) and the
 * upstream CRD schemas in ../shared/crds. Locally a missing one skips its tests with a visible
 * message; with CI=true it fails them, so CI can never pass without the real check.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './render';

export const IN_CI = process.env.CI === 'true';

/** Where the upstream CRD files are: $PLATFORM_CRDS_DIR, else ../shared/crds beside the project. */
export const CRDS_DIR = process.env.PLATFORM_CRDS_DIR ?? join(ROOT, '..', 'shared', 'crds');

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

export function hasCrds(): boolean {
  return requireValidator('CRD schemas', existsSync(CRDS_DIR), `put the upstream CRDs at ${CRDS_DIR} or set PLATFORM_CRDS_DIR`);
}
