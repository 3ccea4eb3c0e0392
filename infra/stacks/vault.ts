import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicy } from '@cdktf/provider-aws/lib/iam-user-policy';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { Platform } from '../../config';
import { useStateBucket } from '../lib/backend';
import { defaultTags } from '../lib/tags';

/** The IAM user whose access key Vault unseals with (the Secret vault/vault-awskms holds it). */
export const VAULT_UNSEAL_USER = 'vault-unseal';

/**
 * What Vault's awskms seal needs on the key, and nothing more (hashicorp/vault
 * website/content/docs/configuration/seal/awskms.mdx, "Authentication").
 */
export const VAULT_SEAL_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'] as const;

/**
 * What the account's administrators may do with the key through the key policy: manage it
 * (policy, rotation, aliases, tags, enable, schedule or cancel deletion), never encrypt or decrypt
 * with it, and never grant either. Listed exactly: no `kms:*`. `kms:PutKeyPolicy` stays, so the key
 * cannot lock its owners out (AWS refuses a key policy that would, unless told to bypass the check).
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
] as const;

/**
 * Vault's auto-unseal key (issue 20 item 3): a symmetric KMS key with yearly rotation, its alias
 * from the model, and the IAM user `vault-unseal` that may only encrypt, decrypt and describe with
 * it. The cluster runs outside AWS, so no instance role can carry the identity: the user's access
 * key is made with the AWS CLI by the runbook and never passes through Terraform (no
 * `aws_iam_access_key`, whose secret would sit in the state).
 * @see docs/decisions/0089-vault-auto-unseal-aws-kms.md
 */
export class VaultStack extends TerraformStack {
  constructor(scope: Construct, id: string, platform: Platform) {
    super(scope, id);
    const autoUnseal = platform.vault.autoUnseal;
    if (!autoUnseal) {
      throw new Error('vault.autoUnseal: (missing): the vault stack creates the auto-unseal key; set vault.autoUnseal or leave the stack out of the render');
    }
    useStateBucket(this, platform, id);
    new AwsProvider(this, 'aws', { region: autoUnseal.region, defaultTags: [{ tags: defaultTags(id) }] });

    const account = new DataAwsCallerIdentity(this, 'account');
    const partition = new DataAwsPartition(this, 'partition');
    const user = new IamUser(this, 'user', { name: VAULT_UNSEAL_USER });

    const key = new KmsKey(this, 'key', {
      description: "Unseals the platform's Vault (awskms seal)",
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      // Key policy statements name exactly what each principal may do; Resource "*" in a key
      // policy means this key.
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministersTheKey',
            Effect: 'Allow',
            Principal: { AWS: `arn:${partition.partition}:iam::${account.accountId}:root` },
            Action: [...KEY_ADMIN_ACTIONS],
            Resource: '*',
          },
          {
            Sid: 'VaultUnseals',
            Effect: 'Allow',
            Principal: { AWS: user.arn },
            Action: [...VAULT_SEAL_ACTIONS],
            Resource: '*',
          },
        ],
      }),
    });
    // Without the key Vault's data cannot be decrypted: the recovery keys authorise operations,
    // they do not unseal. Destroying it takes editing this out first.
    key.addOverride('lifecycle.prevent_destroy', true);
    new KmsAlias(this, 'key-alias', { name: autoUnseal.keyAlias, targetKeyId: key.keyId });

    new IamUserPolicy(this, 'user-policy', {
      user: user.name,
      name: 'vault-auto-unseal',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'VaultUnseals', Effect: 'Allow', Action: [...VAULT_SEAL_ACTIONS], Resource: key.arn }],
      }),
    });

    new TerraformOutput(this, 'kms_key_arn', { value: key.arn, description: "Vault's auto-unseal key" });
    new TerraformOutput(this, 'kms_key_alias', { value: autoUnseal.keyAlias, description: "Vault's seal stanza names the key by this alias" });
    new TerraformOutput(this, 'iam_user', { value: user.name, description: 'Make its access key with the AWS CLI (README runbook), never here' });
  }
}
