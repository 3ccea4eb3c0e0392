/**
 * A private S3 bucket as the platform keeps every bucket it owns (the Terraform state, the
 * off-site backups): encrypted with its own rotating KMS key (with a bucket key, one KMS call per
 * object batch), versioned, all public access blocked, owner-enforced ownership (no ACLs), a
 * lifecycle rule of the caller's, and a bucket policy that refuses every request not made over
 * TLS; the bucket cannot be destroyed by a `terraform destroy`. The resources are created in the
 * stack's own scope under fixed ids (`key`, `bucket`, ...), so their Terraform addresses are the
 * same as when each stack wrote them itself: moving to this helper changes no address.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
 */
import type { Construct } from 'constructs';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration, type S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning';

export interface PrivateBucketProps {
  /** The bucket's name; its key's alias is `alias/<name>`. */
  readonly name: string;
  /** What the KMS key encrypts, for whoever reads the key list. */
  readonly keyDescription: string;
  /**
   * Refuse to destroy the key too (`lifecycle.prevent_destroy`): for data nobody can read without it.
   * @default false
   */
  readonly protectKey?: boolean;
  /** The bucket's one lifecycle rule (old versions, delete markers, unfinished uploads). */
  readonly lifecycleRule: S3BucketLifecycleConfigurationRule;
}

/** The bucket, its key and its ARN. */
export interface PrivateBucket {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  readonly arn: string;
}

export function privateBucket(stack: Construct, props: PrivateBucketProps): PrivateBucket {
  const key = new KmsKey(stack, 'key', { description: props.keyDescription, enableKeyRotation: true, deletionWindowInDays: 30 });
  if (props.protectKey) key.addOverride('lifecycle.prevent_destroy', true);
  new KmsAlias(stack, 'key-alias', { name: `alias/${props.name}`, targetKeyId: key.keyId });

  const bucket = new S3Bucket(stack, 'bucket', { bucket: props.name });
  bucket.addOverride('lifecycle.prevent_destroy', true);
  new S3BucketVersioning(stack, 'versioning', { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } });
  new S3BucketServerSideEncryptionConfiguration(stack, 'encryption', {
    bucket: bucket.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
  });
  new S3BucketPublicAccessBlock(stack, 'public-access-block', {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(stack, 'ownership', { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
  new S3BucketLifecycleConfiguration(stack, 'lifecycle', { bucket: bucket.id, rule: [props.lifecycleRule] });
  const arn = `arn:aws:s3:::${props.name}`;
  new S3BucketPolicy(stack, 'tls-only', {
    bucket: bucket.id,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    }),
  });
  return { bucket, key, arn };
}
