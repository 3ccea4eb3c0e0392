import { App, Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, type Platform } from '../../../config';
import { renderTerraform } from '../../../infra/terraform';
import { BackupStack, VELERO_BACKUP_USER, VELERO_BUCKET_ACTIONS, VELERO_KEY_ACTIONS, VELERO_OBJECT_ACTIONS } from '../../../infra/stacks/backup';
import { policyInput } from '../../../policy';
import { awsRules } from '../../../policy/terraform/aws';

const platform = loadDefaultPlatform();
type Json = { resource: Record<string, Record<string, Record<string, any>>>; terraform: Record<string, any>; provider: Record<string, any>; output: Record<string, any> };

function synthBackup(model: Platform = platform): Json {
  const app = Testing.app() as App;
  return JSON.parse(Testing.synth(new BackupStack(app, 'backup', model)));
}

describe('the backup stack', () => {
  const offsite = platform.backups.offsite!;
  const json = synthBackup();
  const one = (type: string) => {
    const all = Object.entries(json.resource[type] ?? {});
    expect(all.length, type).toBe(1);
    return { name: all[0][0], body: all[0][1] };
  };
  const bucket = one('aws_s3_bucket');
  const key = one('aws_kms_key');
  const bucketRef = `\${aws_s3_bucket.${bucket.name}.id}`;
  const bucketArn = `arn:aws:s3:::${offsite.bucket}`;

  it('GIVEN backups.offsite WHEN rendered THEN the bucket of the model, in its region, survives a destroy by mistake, with its state in the state bucket', () => {
    expect(offsite).toBeDefined();
    expect(bucket.body).toMatchObject({ bucket: offsite.bucket, lifecycle: { prevent_destroy: true } });
    expect(json.provider.aws[0].region).toBe(offsite.region);
    expect(json.terraform.backend.s3).toMatchObject({ bucket: platform.gateway.stateBucket, key: 'backup/terraform.tfstate', use_lockfile: true });
  });

  it('GIVEN the bucket WHEN read THEN it is versioned, encrypted with its own rotating KMS key, closed to the public and owned by the account', () => {
    expect(one('aws_s3_bucket_versioning').body).toMatchObject({ bucket: bucketRef, versioning_configuration: { status: 'Enabled' } });
    expect(one('aws_s3_bucket_server_side_encryption_configuration').body.rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: `\${aws_kms_key.${key.name}.arn}` }, bucket_key_enabled: true },
    ]);
    expect(key.body).toMatchObject({ enable_key_rotation: true, lifecycle: { prevent_destroy: true } });
    expect(one('aws_s3_bucket_public_access_block').body).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(one('aws_s3_bucket_ownership_controls').body.rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
  });

  it('GIVEN the bucket policy WHEN read THEN it denies every request that is not TLS, and allows nothing', () => {
    const statements = JSON.parse(one('aws_s3_bucket_policy').body.policy).Statement;
    expect(statements).toEqual([
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
  });

  it('GIVEN kopia keeps old blobs as long as a snapshot needs them WHEN the lifecycle is read THEN deleted versions expire after the retention, current objects never by age', () => {
    const rules = one('aws_s3_bucket_lifecycle_configuration').body.rule as any[];
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      status: 'Enabled',
      noncurrent_version_expiration: [{ noncurrent_days: platform.backups.retentionDays }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
    });
    // Only delete markers expire: an age-based expiry of current objects would delete live repository blobs.
    expect(rules[0].expiration).toEqual([{ expired_object_delete_marker: true }]);
    const shorter = synthBackup({ ...platform, backups: { ...platform.backups, retentionDays: 7 } });
    expect(Object.values(shorter.resource.aws_s3_bucket_lifecycle_configuration)[0].rule[0].noncurrent_version_expiration).toEqual([{ noncurrent_days: 7 }]);
  });

  it('GIVEN the Velero user WHEN read THEN its one policy lists that bucket, reads, writes and deletes its objects and uses its key, nothing else', () => {
    const user = one('aws_iam_user');
    expect(user.body.name).toBe(VELERO_BACKUP_USER);
    const policy = one('aws_iam_user_policy').body;
    expect(policy.user).toBe(`\${aws_iam_user.${user.name}.name}`);
    expect(JSON.parse(policy.policy).Statement).toEqual([
      { Sid: 'ListTheBucket', Effect: 'Allow', Action: [...VELERO_BUCKET_ACTIONS], Resource: bucketArn },
      { Sid: 'ReadWriteObjects', Effect: 'Allow', Action: [...VELERO_OBJECT_ACTIONS], Resource: `${bucketArn}/*` },
      { Sid: 'UseTheBucketKey', Effect: 'Allow', Action: [...VELERO_KEY_ACTIONS], Resource: `\${aws_kms_key.${key.name}.arn}` },
    ]);
    // No version deletes (history survives a leaked key), no bucket configuration, no wildcards.
    const actions = [...VELERO_BUCKET_ACTIONS, ...VELERO_OBJECT_ACTIONS, ...VELERO_KEY_ACTIONS] as string[];
    for (const action of actions) expect(action, action).toMatch(/^(s3|kms):[A-Za-z]+$/);
    for (const forbidden of ['s3:DeleteObjectVersion', 's3:PutBucketPolicy', 's3:PutLifecycleConfiguration', 's3:PutBucketVersioning']) expect(actions).not.toContain(forbidden);
    for (const type of ['aws_iam_user_policy_attachment', 'aws_iam_group_membership', 'aws_iam_user_group_membership', 'aws_iam_policy_attachment']) {
      expect(json.resource[type], type).toBeUndefined();
    }
  });

  it('GIVEN the cluster is not on AWS WHEN rendered THEN no access key is made here: none is in the state or the outputs', () => {
    expect(json.resource.aws_iam_access_key).toBeUndefined();
    expect(Object.keys(json.output).sort()).toEqual(['bucket_name', 'iam_user', 'kms_key_arn']);
    expect(JSON.stringify(json.output)).not.toMatch(/secret|access_key/i);
  });

  it('GIVEN the seed WHEN every stack is rendered THEN the backup stack is among them and passes the Terraform policy gate', () => {
    const files = renderTerraform(platform);
    const manifest = JSON.parse(files.get('terraform/manifest.json')!);
    expect(Object.keys(manifest.stacks)).toContain('backup');
    expect(files.has('terraform/backup/cdk.tf.json')).toBe(true);
    const input = policyInput(files, platform);
    expect(input.stacks.map((s) => s.name)).toContain('backup');
    expect(awsRules(input).filter((v) => v.ref.split('/')[1] === 'backup')).toEqual([]);
  });

  it('GIVEN no backups.offsite WHEN rendered THEN there is no backup stack', () => {
    const files = renderTerraform({ ...platform, backups: { ...platform.backups, offsite: undefined } });
    expect([...files.keys()].filter((path) => path.startsWith('terraform/backup/'))).toEqual([]);
  });

  it('fails when the model has no off-site bucket', () => {
    expect(() => synthBackup({ ...platform, backups: { ...platform.backups, offsite: undefined } })).toThrow(
      'backups.offsite: (missing): the backup stack creates the off-site bucket; set backups.offsite or leave the stack out of the render',
    );
  });
});
