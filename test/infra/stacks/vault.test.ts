import { App, Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { renderTerraform } from '../../../infra/terraform';
import { KEY_ADMIN_ACTIONS, VAULT_SEAL_ACTIONS, VaultStack } from '../../../infra/stacks/vault';

const platform = loadDefaultPlatform();
type Json = { resource: Record<string, Record<string, Record<string, any>>>; terraform: Record<string, any>; provider: Record<string, any> };

function synthVault(model: Platform = platform): Json {
  const app = Testing.app() as App;
  return JSON.parse(Testing.synth(new VaultStack(app, 'vault', model)));
}

describe('the vault stack', () => {
  const json = synthVault();
  const one = (type: string) => {
    const all = Object.entries(json.resource[type] ?? {});
    expect(all.length, type).toBe(1);
    return { name: all[0][0], body: all[0][1] };
  };
  const key = one('aws_kms_key');
  const user = one('aws_iam_user');

  it('GIVEN the seed model WHEN rendered THEN the key rotates, waits 30 days before deletion and survives a destroy by mistake', () => {
    expect(key.body).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(one('aws_kms_alias').body).toMatchObject({ name: platform.vault.autoUnseal!.keyAlias, target_key_id: `\${aws_kms_key.${key.name}.key_id}` });
    expect(json.provider.aws[0].region).toBe(platform.vault.autoUnseal!.region);
  });

  it('GIVEN the key policy WHEN read THEN the unseal user may only encrypt, decrypt and describe, and the account only administers the key', () => {
    const statements = JSON.parse(key.body.policy).Statement as any[];
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const forUser = statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ AWS: `\${aws_iam_user.${user.name}.arn}` }));
    expect(forUser).toHaveLength(1);
    expect([...forUser[0].Action].sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt']);
    const others = statements.filter((s) => !forUser.includes(s));
    expect(others).toHaveLength(1);
    expect(others[0].Principal).toEqual({ AWS: 'arn:${data.aws_partition.partition.partition}:iam::${data.aws_caller_identity.account.account_id}:root' });
    // Administration only: no cryptographic use, no grants that could hand it out, no wildcards.
    for (const action of others[0].Action as string[]) {
      expect(action, action).toMatch(/^kms:[A-Za-z]+$/);
      expect(['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:CreateGrant']).not.toContain(action);
    }
    expect(others[0].Action).toContain('kms:PutKeyPolicy'); // the owners can never be locked out
    expect(others[0].Action).toEqual([...KEY_ADMIN_ACTIONS]);
  });

  it('GIVEN the unseal user WHEN read THEN its one policy allows exactly the three seal actions on that key ARN', () => {
    expect(user.body.name).toBe('vault-unseal');
    const policy = one('aws_iam_user_policy').body;
    expect(policy.user).toBe(`\${aws_iam_user.${user.name}.name}`);
    const statements = JSON.parse(policy.policy).Statement;
    expect(statements).toEqual([{ Sid: 'VaultUnseals', Effect: 'Allow', Action: [...VAULT_SEAL_ACTIONS], Resource: `\${aws_kms_key.${key.name}.arn}` }]);
    expect([...VAULT_SEAL_ACTIONS].sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt']);
    // Nothing else attaches permissions to the user or a group of it.
    for (const type of ['aws_iam_user_policy_attachment', 'aws_iam_group_membership', 'aws_iam_user_group_membership', 'aws_iam_policy_attachment']) {
      expect(json.resource[type], type).toBeUndefined();
    }
  });

  it('GIVEN the stack WHEN rendered THEN no access key is made by Terraform (its secret would sit in the state)', () => {
    expect(json.resource.aws_iam_access_key).toBeUndefined();
    expect(JSON.stringify(json)).not.toMatch(/secret/i);
  });

  it('keeps its state in the state bucket, locked, under its own key', () => {
    expect(json.terraform.backend.s3).toMatchObject({ bucket: platform.gateway.stateBucket, key: 'vault/terraform.tfstate', encrypt: true, use_lockfile: true });
    expect(json.terraform.required_version).toBeDefined();
  });

  it('GIVEN a model without auto-unseal WHEN rendered THEN there is no vault stack', () => {
    const shamir: Platform = { ...platform, vault: { ...platform.vault, autoUnseal: undefined } };
    const files = [...renderTerraform(shamir).keys()];
    expect(files.some((f) => f.startsWith('terraform/vault/'))).toBe(false);
    expect([...renderTerraform(platform).keys()]).toContain('terraform/vault/cdk.tf.json');
  });

  it('fails when built for a model without auto-unseal', () => {
    const shamir: Platform = { ...platform, vault: { ...platform.vault, autoUnseal: undefined } };
    expect(() => synthVault(shamir)).toThrow('vault.autoUnseal: (missing): the vault stack creates the auto-unseal key; set vault.autoUnseal or leave the stack out of the render');
  });
});
