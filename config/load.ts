/**
 * The model's entry: parse a YAML or JSON file (or take the default), validate it once, and turn
 * every problem into a line `path: value received: what is allowed / how to fix`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import type { z } from 'zod';
import { defaultPlatform } from './default';
import { PlatformSchema, type Platform } from './schema';

/** Raised for any problem with the input; `problems` holds one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: the platform model is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validate a model given as plain data; throws ConfigError listing every problem. */
export function validatePlatform(input: unknown, source = 'config'): Platform {
  const result = PlatformSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, input));
  throw new ConfigError(source, [...new Set(problems)].sort());
}

/** Read a model from a `.yaml`, `.yml` or `.json` file and validate it. */
export function loadPlatformFile(file: string): Platform {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`(file): cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); pass an existing YAML or JSON file to --config`]);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ConfigError(file, [`(file): is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`]);
  }
  return validatePlatform(data, file);
}

export function loadDefaultPlatform(): Platform {
  return validatePlatform(structuredClone(defaultPlatform), 'config/default.ts');
}

/** The model as YAML, in the schema's key order; loading it back gives the same model. */
export function platformToYaml(platform: Platform): string {
  return stringify(platform, { lineWidth: 0 });
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = valueAt(input, issue.path);
    const allowed = allowedKeys(issue.path);
    return issue.keys.map((key) => {
      const path = formatPath([...issue.path, key]);
      const hint = allowed.length ? `allowed keys here are ${allowed.join(', ')}` : 'remove it';
      return `${path}: ${formatValue((parent as Record<string, unknown>)?.[key])}: unknown key; ${hint}`;
    });
  }
  const value = valueAt(input, issue.path);
  const received = value === undefined ? '(missing)' : formatValue(value);
  return [`${formatPath(issue.path)}: ${received}: ${describeMessage(issue, value)}`];
}

function describeMessage(issue: z.core.$ZodIssue, value: unknown): string {
  if (value === undefined && issue.code === 'invalid_type') return `required; add it (${expected(issue)})`;
  if (issue.code === 'invalid_type') return `must be ${expected(issue)}, not ${Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`}`;
  // A bad record key (a node or environment name): report the key's own rule.
  if (issue.code === 'invalid_key') return `invalid name: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  return issue.message;
}

function expected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const what = issue.expected as string;
    return what === 'object' || what === 'record' ? 'a mapping (key: value)' : what === 'array' ? 'a list' : `a ${what}`;
  }
  return issue.message;
}

function allowedKeys(path: readonly PropertyKey[]): string[] {
  // Walk the schema's shape along the path to list the keys a user may write there.
  let schema: unknown = PlatformSchema;
  for (const segment of path) {
    const shape = shapeOf(schema);
    if (shape && typeof segment === 'string' && segment in shape) {
      schema = shape[segment];
      continue;
    }
    const def = (schema as { def?: { valueType?: unknown } }).def;
    if (def?.valueType) {
      schema = def.valueType;
      continue;
    }
    return [];
  }
  return Object.keys(shapeOf(schema) ?? {});
}

function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  let current = schema as { def?: { type?: string; shape?: Record<string, unknown>; in?: unknown; innerType?: unknown } };
  // Unwrap pipes (superRefine) and optionals to reach the object shape.
  for (let i = 0; i < 5 && current?.def; i++) {
    if (current.def.shape) return current.def.shape;
    current = (current.def.in ?? current.def.innerType) as typeof current;
  }
  return undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? String(segment) : `.${String(segment)}`)).join('');
}

function formatValue(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  return JSON.stringify(value) ?? String(value);
}
