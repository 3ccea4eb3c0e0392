import type { KubeObject } from '../charts/lib/service';
import type { Platform } from '../config';

/** One finding: `rule-id  kind/namespace/name  message`. The message says what to change. */
export interface Violation {
  readonly rule: string;
  /** `Kind/namespace/name` for Kubernetes (namespace `-` when cluster-scoped), `type/stack/name` for Terraform. */
  readonly ref: string;
  readonly message: string;
}

/** A rendered Kubernetes object and the file it came from. */
export interface RenderedObject {
  readonly path: string;
  readonly object: KubeObject;
}

/** A rendered Terraform stack: its name and parsed JSON. */
export interface RenderedStack {
  readonly name: string;
  readonly path: string;
  readonly json: TerraformJson;
}

export interface TerraformJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  terraform?: Record<string, unknown>;
  variable?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** Everything a rule may look at: the render, parsed once, and the model it came from. */
export interface PolicyInput {
  readonly platform: Platform;
  /** Every file of dist/, path relative to dist/ -> text. */
  readonly files: ReadonlyMap<string, string>;
  readonly objects: readonly RenderedObject[];
  readonly stacks: readonly RenderedStack[];
}

export function refOf(object: KubeObject): string {
  return `${object.kind}/${object.metadata.namespace ?? '-'}/${object.metadata.name}`;
}

export type Rule = (input: PolicyInput) => Violation[];
