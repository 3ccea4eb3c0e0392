import { S3Backend, type TerraformStack } from 'cdktf';
import type { Platform } from '../../config';

/**
 * The oldest Terraform every stack needs: S3's native state lock (`use_lockfile`) came with 1.10;
 * `terraform_data` (1.4) and `replace_triggered_by` (1.2) are older. OpenTofu numbers its releases
 * on the same line (1.10 has `use_lockfile` too). Terraform and OpenTofu refuse an older binary at
 * init; the render itself never runs either.
 * @see https://developer.hashicorp.com/terraform/language/terraform#terraform-required_version
 */
export const TERRAFORM_REQUIRED_VERSION = '>= 1.10';

/** States the Terraform version floor in the stack's `terraform` block. */
export function requireTerraformVersion(stack: TerraformStack): void {
  stack.addOverride('terraform.required_version', TERRAFORM_REQUIRED_VERSION);
}

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
  requireTerraformVersion(stack);
}
