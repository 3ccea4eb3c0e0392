/**
 * The render never runs Terraform: cdktf's own `DataResource` ran `terraform version` during
 * synth, so `npm run synth` failed on a machine with Node alone (README: "Node 20 or newer,
 * nothing else"). The version floor is in each stack's `required_version` instead.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TERRAFORM_REQUIRED_VERSION } from '../../../infra/lib/backend';
import { defaultRender, runEntry } from '../../support/render';

describe('the Terraform stacks', () => {
  it('GIVEN a PATH that holds only node WHEN the platform is rendered and compared with dist/ THEN it succeeds (no terraform binary is run)', () => {
    const bin = mkdtempSync(join(tmpdir(), 'platform-node-only-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const result = runEntry('main.ts', ['--check'], { PATH: bin });
      expect(result.stderr).not.toMatch(/terraform/i);
      expect(result.status, result.stderr).toBe(0);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('GIVEN every stack WHEN rendered THEN each states the Terraform version it needs, and the gateway keeps its terraform_data trigger', () => {
    const files = defaultRender();
    const stacks = [...files].filter(([path]) => /^terraform\/[^/]+\/cdk\.tf\.json$/.test(path));
    expect(stacks.length).toBeGreaterThan(0);
    for (const [path, text] of stacks) expect(JSON.parse(text).terraform.required_version, path).toBe(TERRAFORM_REQUIRED_VERSION);
    const gateway = JSON.parse(files.get('terraform/gateway/cdk.tf.json')!);
    expect(Object.values(gateway.resource.terraform_data as Record<string, { triggers_replace: unknown }>).map((r) => Object.keys(r.triggers_replace as object))).toEqual([['sha256']]);
  });
});
