import { join, relative, resolve } from 'node:path';
import { App, Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { StateStack } from '../../../infra/stacks/state';

function synthState(): { resource: Record<string, Record<string, Record<string, unknown>>>; terraform: Record<string, unknown> } {
  const app = Testing.app() as App;
  const stack = new StateStack(app, 'state', loadDefaultPlatform());
  return JSON.parse(Testing.synth(stack));
}

describe('the state stack', () => {
  const json = synthState();
  const one = (type: string) => Object.values(json.resource[type] ?? {})[0];

  it('creates the state bucket from the model and protects it from destroy', () => {
    expect(one('aws_s3_bucket')).toMatchObject({ bucket: 'lumetium-platform-tfstate', lifecycle: { prevent_destroy: true } });
  });

  it('versions the bucket', () => {
    expect(one('aws_s3_bucket_versioning')).toMatchObject({ versioning_configuration: { status: 'Enabled' } });
  });

  it('encrypts with a rotating KMS key', () => {
    expect(one('aws_kms_key')).toMatchObject({ enable_key_rotation: true });
    expect(one('aws_s3_bucket_server_side_encryption_configuration')).toMatchObject({
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: '${aws_kms_key.key.arn}' } }],
    });
  });

  it('blocks every kind of public access and disables ACLs', () => {
    expect(one('aws_s3_bucket_public_access_block')).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(one('aws_s3_bucket_ownership_controls')).toMatchObject({ rule: { object_ownership: 'BucketOwnerEnforced' } });
  });

  it('refuses plain-HTTP access', () => {
    const policy = JSON.parse(one('aws_s3_bucket_policy').policy as string);
    expect(policy.Statement).toEqual([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
  });

  it('keeps its own state locally (it creates the bucket the others use), outside dist/ where renders never replace it', () => {
    const backend = json.terraform.backend as { local: { path: string } };
    expect(Object.keys(backend)).toEqual(['local']);
    // Terraform resolves the path from the stack's folder, dist/terraform/state of the project.
    const project = '/project';
    const state = resolve(project, 'dist/terraform/state', backend.local.path);
    expect(relative(join(project, 'dist'), state).startsWith('..')).toBe(true);
    expect(state).toBe(join(project, '.terraform-state/state.tfstate'));
  });
});
