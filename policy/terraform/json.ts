/** Reading cdktf's Terraform JSON: blocks as object or list, and `${type.name.attr}` references. */
import type { RenderedStack } from '../types';

export type Block = Record<string, unknown>;

export interface TfResource {
  readonly stack: RenderedStack;
  readonly type: string;
  readonly name: string;
  readonly body: Block;
}

/** cdktf emits a nested block as an object or a list of objects: accept both. */
export function blocks(value: unknown): Block[] {
  if (Array.isArray(value)) return value.filter((v): v is Block => typeof v === 'object' && v !== null);
  if (typeof value === 'object' && value !== null) return [value as Block];
  return [];
}

export function resources(stacks: readonly RenderedStack[], type?: string): TfResource[] {
  return stacks.flatMap((stack) =>
    Object.entries(stack.json.resource ?? {})
      .filter(([t]) => type === undefined || t === type)
      .flatMap(([t, byName]) => Object.entries(byName).map(([name, body]) => ({ stack, type: t, name, body }))),
  );
}

export function dataSources(stacks: readonly RenderedStack[], type: string): TfResource[] {
  return stacks.flatMap((stack) =>
    Object.entries(stack.json.data?.[type] ?? {}).map(([name, body]) => ({ stack, type: `data.${type}`, name, body })),
  );
}

export function tfRef(resource: TfResource): string {
  return `${resource.type}/${resource.stack.name}/${resource.name}`;
}

/** Whether `value` references resource `type.name` (as `${type.name.attr}` or `${type.name}`). */
export function references(value: unknown, type: string, name: string): boolean {
  return typeof value === 'string' && new RegExp(`\\$\\{${type.replace(/\./g, '\\.')}\\.${name}(\\.|\\})`).test(value);
}

/** The resource of `type` in the same stack that `value` references, if any. */
export function referenced(stack: RenderedStack, value: unknown, type: string): TfResource | undefined {
  return resources([stack], type).find((r) => references(value, type, r.name));
}

/** Satellite resources (versioning, encryption, ...) whose `bucket` (or other key) points at `target`. */
export function satellites(target: TfResource, type: string, key = 'bucket'): TfResource[] {
  return resources([target.stack], type).filter((r) => references(r.body[key], target.type, target.name));
}
