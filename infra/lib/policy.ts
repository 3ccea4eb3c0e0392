import type { TerraformResource } from 'cdktf';
import { POLICY_EXCEPTIONS_ANNOTATION, policyExceptions } from '../../common/policy-exceptions';

/**
 * Declares policy exceptions on a Terraform resource where it is built, the way
 * `policyExceptions()` does on Kubernetes objects: Terraform's JSON syntax ignores the `"//"`
 * property of a block body (cdktf keeps its own metadata there), so the reasons travel with the
 * resource into `cdk.tf.json`, in the annotation's format:
 *
 *   "//": { "metadata": { ... }, "policy_exceptions": "TF-SG-03: the gateway reaches ..." }
 *
 * @see https://developer.hashicorp.com/terraform/language/syntax/json#comment-properties
 */
/** The key under a Terraform block's `"//"` that holds its exceptions. */
export const POLICY_EXCEPTIONS_KEY = 'policy_exceptions';

export function declarePolicyExceptions(resource: TerraformResource, reasons: Readonly<Record<string, string>>): void {
  resource.addOverride(`//.${POLICY_EXCEPTIONS_KEY}`, policyExceptions(reasons)[POLICY_EXCEPTIONS_ANNOTATION]);
}
