import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicy } from '@cdktf/provider-aws/lib/iam-user-policy';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { Platform } from '../../config';
import { useStateBucket } from '../lib/backend';
import { privateBucket } from '../lib/private-bucket';
import { defaultTags } from '../lib/tags';

/** The IAM user whose access key Velero uses (the Secret velero/velero-credentials holds it). */
export const VELERO_BACKUP_USER = 'velero-backup';

/**
 * What Velero's AWS plugin and its kopia repository need on the objects, and nothing more
 * (vmware-tanzu/velero-plugin-for-aws README.md, "Set permissions for Velero", branch release-1.14
 * at 673d828, the plugin line of Velero v1.18): read, write, delete (Velero deletes expired
 * backups, kopia's maintenance unreferenced blobs) and clean up multipart uploads.
 * `s3:PutObjectTagging` is left out: it is needed only with the location's `tagging` config.
 * Delete marks a version as deleted: without `s3:DeleteObjectVersion` the key cannot destroy
 * history, which the noncurrent-version rule keeps `backups.retentionDays`.
 */
export const VELERO_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] as const;
/** Listing the bucket (Velero syncs backups from it, kopia lists its blobs). */
export const VELERO_BUCKET_ACTIONS = ['s3:ListBucket'] as const;
/** SSE-KMS: writing needs a data key, reading needs it decrypted. */
export const VELERO_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

/**
 * Velero's off-site bucket (issue 17 item 1, `backups.offsite`): KMS-encrypted with its own rotating
 * key, versioned, public access blocked, TLS only, and the IAM user `velero-backup` that can only
 * read, write, delete objects in and list that bucket. The cluster runs outside AWS, so the user's
 * access key is made by the runbook with the AWS CLI and never passes through Terraform (no
 * `aws_iam_access_key`, whose secret would sit in the state), as for Vault's unseal user
 * (decision 0089).
 *
 * Lifecycle: deleted and overwritten versions expire after `backups.retentionDays`, unfinished
 * uploads after 7 days. Current objects get no age-based expiry: kopia's repository keeps blobs
 * written on the first day for as long as a later snapshot references them, and Velero deletes
 * what its backups' TTL expires itself; an age rule would corrupt the repository
 * (docs/decisions/0104-off-site-backups-and-restore.md).
 */
export class BackupStack extends TerraformStack {
  constructor(scope: Construct, id: string, platform: Platform) {
    super(scope, id);
    const offsite = platform.backups.offsite;
    if (!offsite) {
      throw new Error('backups.offsite: (missing): the backup stack creates the off-site bucket; set backups.offsite or leave the stack out of the render');
    }
    useStateBucket(this, platform, id);
    new AwsProvider(this, 'aws', { region: offsite.region, defaultTags: [{ tags: defaultTags(id) }] });

    const { bucket, key, arn: bucketArn } = privateBucket(this, {
      name: offsite.bucket,
      keyDescription: "Encrypts the platform's off-site Velero backups",
      // Without the key no backup can be read.
      protectKey: true,
      lifecycleRule: {
        id: 'expire-deleted-versions',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        noncurrentVersionExpiration: [{ noncurrentDays: platform.backups.retentionDays }],
        expiration: [{ expiredObjectDeleteMarker: true }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    });

    const user = new IamUser(this, 'user', { name: VELERO_BACKUP_USER });
    new IamUserPolicy(this, 'user-policy', {
      user: user.name,
      name: 'velero-off-site-bucket',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ListTheBucket', Effect: 'Allow', Action: [...VELERO_BUCKET_ACTIONS], Resource: bucketArn },
          { Sid: 'ReadWriteObjects', Effect: 'Allow', Action: [...VELERO_OBJECT_ACTIONS], Resource: `${bucketArn}/*` },
          { Sid: 'UseTheBucketKey', Effect: 'Allow', Action: [...VELERO_KEY_ACTIONS], Resource: key.arn },
        ],
      }),
    });

    new TerraformOutput(this, 'bucket_name', { value: bucket.bucket, description: "Velero's off-site bucket (backups.offsite.bucket)" });
    new TerraformOutput(this, 'kms_key_arn', { value: key.arn });
    new TerraformOutput(this, 'iam_user', { value: user.name, description: 'Make its access key with the AWS CLI (README runbook), never here' });
  }
}
