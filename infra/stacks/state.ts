import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import type { Platform } from '../../config';
import { requireTerraformVersion } from '../lib/backend';
import { defaultTags } from '../lib/tags';

/** The state stack's local state, relative to dist/terraform/state: <project>/.terraform-state/. */
export const STATE_STACK_STATE_PATH = '../../../.terraform-state/state.tfstate';

/**
 * The bucket every other stack keeps its Terraform state in: versioned (a bad apply can be rolled
 * back), encrypted with a rotating KMS key, closed to the public, TLS only. This stack itself
 * uses local state: apply it first, once (see the README's runbook).
 */
export class StateStack extends TerraformStack {
  constructor(scope: Construct, id: string, platform: Platform) {
    super(scope, id);
    // Outside dist/: every render replaces dist/ whole, and state is the one file that must
    // outlive renders (and a render during an apply). Relative to the stack's folder
    // (dist/terraform/state), which is Terraform's working directory for it, so the file is
    // <project>/.terraform-state/state.tfstate wherever the project is checked out; git ignores it.
    // @see https://developer.hashicorp.com/terraform/language/backend/local (path: relative to the root module)
    // @see docs/decisions/0051-local-state-outside-dist.md
    new LocalBackend(this, { path: STATE_STACK_STATE_PATH });
    requireTerraformVersion(this);
    new AwsProvider(this, 'aws', { region: platform.gateway.region, defaultTags: [{ tags: defaultTags(id) }] });

    const key = new KmsKey(this, 'key', {
      description: 'Encrypts the platform Terraform state',
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${platform.gateway.stateBucket}`, targetKeyId: key.keyId });

    const bucket = new S3Bucket(this, 'bucket', { bucket: platform.gateway.stateBucket });
    // State must survive `terraform destroy` of this stack by mistake.
    bucket.addOverride('lifecycle.prevent_destroy', true);

    new S3BucketVersioning(this, 'versioning', {
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfiguration(this, 'encryption', {
      bucket: bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn },
          bucketKeyEnabled: true,
        },
      ],
    });
    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'expire-old-state-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: 90 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
    new S3BucketPolicy(this, 'tls-only', {
      bucket: bucket.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [`arn:aws:s3:::${platform.gateway.stateBucket}`, `arn:aws:s3:::${platform.gateway.stateBucket}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });

    new TerraformOutput(this, 'bucket_name', { value: bucket.bucket });
    new TerraformOutput(this, 'kms_key_arn', { value: key.arn });
  }
}
