/**
 * Where the render puts each Terraform stack, and how a stack names another file of the render.
 * Users run `terraform -chdir=dist/terraform/<stack>`, so `path.module` is the stack's folder and
 * a file is named relative to it: nothing depends on where the checkout lives.
 * @see https://developer.hashicorp.com/terraform/language/expressions/references#filesystem-and-workspace-info
 */
import { posix } from 'node:path';

/** The folder of a stack's `cdk.tf.json`, relative to `dist/`. */
export function stackFolder(stack: string): string {
  return `terraform/${stack}`;
}

/**
 * A file of the render (its path relative to `dist/`) as a Terraform path from the stack's folder,
 * for `file()` and friends: `${path.module}/../../gateway/cloud-init.yaml`.
 */
export function pathFromStack(stack: string, file: string): string {
  return `\${path.module}/${posix.relative(stackFolder(stack), file)}`;
}
