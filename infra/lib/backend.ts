import { S3Backend, type TerraformStack } from 'cdktf';
import type { Platform } from '../../config';

/**
 * Every stack but `state` keeps its state in the state bucket, locked with S3's native lock file
 * (Terraform 1.10+, OpenTofu 1.10+), so no DynamoDB table is needed.
 * @see https://developer.hashicorp.com/terraform/language/backend/s3#state-locking
 */
export function useStateBucket(stack: TerraformStack, platform: Platform, name: string): void {
  new S3Backend(stack, {
    bucket: platform.gateway.stateBucket,
    key: `${name}/terraform.tfstate`,
    region: platform.gateway.region,
    encrypt: true,
  });
  // cdktf 0.21 predates `use_lockfile`; the override writes it into the backend block.
  stack.addOverride('terraform.backend.s3.use_lockfile', true);
}
