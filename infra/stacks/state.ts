import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { Platform } from '../../config';
import { requireTerraformVersion } from '../lib/backend';
import { privateBucket } from '../lib/private-bucket';
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

    const { bucket, key } = privateBucket(this, {
      name: platform.gateway.stateBucket,
      keyDescription: 'Encrypts the platform Terraform state',
      // State must survive `terraform destroy` of this stack by mistake (the bucket is protected).
      lifecycleRule: {
        id: 'expire-old-state-versions',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        noncurrentVersionExpiration: [{ noncurrentDays: 90 }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    });

    new TerraformOutput(this, 'bucket_name', { value: bucket.bucket });
    new TerraformOutput(this, 'kms_key_arn', { value: key.arn });
  }
}
