import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../config';
import { checkPolicy, formatViolation, policyInput } from '../../policy';
import { runPolicy } from '../../policy/cli';
import { captureOutput } from '../support/in-process';
import { defaultRender, ROOT, SINGLE_NODE_FILE, singleNodeRender } from '../support/render';

describe('the policy gates over the whole render', () => {
  it('find no violation in the default platform', () => {
    expect(checkPolicy(policyInput(defaultRender(), loadDefaultPlatform())).map(formatViolation)).toEqual([]);
  });

  it('find no violation in another valid platform', () => {
    const platform = loadPlatformFile(SINGLE_NODE_FILE);
    expect(checkPolicy(policyInput(singleNodeRender(), platform)).map(formatViolation)).toEqual([]);
  });

  it('npm run policy passes on the committed dist/ and fails (exit 1, one line per violation) on a broken one', () => {
    const ok = spawnSync(process.execPath, ['cli/launch.mjs', 'policy/cli.ts'], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^no policy violations \(\d+ Kubernetes objects, \d+ Terraform stacks, \d+ files checked\)\n$/);

    const bad = spawnSync(process.execPath, ['cli/launch.mjs', 'policy/cli.ts', '--dir', join(ROOT, 'test/fixtures/policy-broken-dist')], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('K8S-SECRET-02  Secret/demo/leaked  is a Secret with data in Git');
    expect(bad.stderr).toMatch(/^\d+ policy violations? \(/);
  });

  it('npm run policy -- --exceptions lists every declared exception', () => {
    // In this process (runPolicy, what the entry calls): the exit codes reaching the shell are the
    // test above's; a process costs a second of CPU (docs/decisions/0096-test-run-speed.md).
    const listed = captureOutput(() => runPolicy(['--exceptions']));
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/\d+ declared exceptions?\n$/);
  });
});
