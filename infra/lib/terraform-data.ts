import { TerraformResource, type ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';

/** Props of {@link TerraformData}: the arguments of Terraform's built-in `terraform_data`. */
export interface TerraformDataProps {
  /**
   * Values whose change replaces this resource (and, through `replace_triggered_by`, whatever
   * names it). May hold Terraform expressions.
   * @see https://developer.hashicorp.com/terraform/language/resources/terraform-data
   */
  readonly triggersReplace: Readonly<Record<string, string>>;
  /** @default - no explicit dependencies */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Terraform's built-in `terraform_data` resource, rendered exactly as cdktf's `DataResource` renders
 * it, without the check cdktf's class attaches: it runs `terraform version` during synth, so
 * `npm run synth` failed on a machine without Terraform (the README promises Node alone). The
 * version floor is stated instead where Terraform and OpenTofu enforce it themselves, at init and
 * plan: `terraform.required_version` of every stack (infra/lib/backend.ts).
 */
export class TerraformData extends TerraformResource {
  private readonly triggersReplace: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TerraformDataProps) {
    super(scope, id, {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
    this.triggersReplace = props.triggersReplace;
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { triggers_replace: this.triggersReplace };
  }
}
