/**
 * The model's entry: parse a YAML or JSON file (or take the default), validate it once, and turn
 * every problem into a line `path: value received: what is allowed / how to fix`.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import type { z } from 'zod';
import { APP_IMAGE_TAGS_FILE, DEFAULT_IMAGE_TAGS, type ImageTags } from './app-images';
import { defaultPlatform } from './default';
import { imageDigestSchema, imageTagSchema, PlatformSchema, type Platform } from './schema';

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

/**
 * A model file is a few kilobytes; the limit keeps a wrong path (a log, an image, /dev/zero) from
 * filling memory. Read at most this many bytes plus one.
 */
export const MAX_MODEL_FILE_BYTES = 1024 * 1024;

/** The model nests about eight levels; anything far deeper is not a model (and would blow the stack). */
export const MAX_MODEL_DEPTH = 64;

/** The longest echo of a received value in a message, in characters. */
export const MAX_ECHO_CHARS = 80;

/**
 * A received value as messages repeat it: JSON-like, at most MAX_ECHO_CHARS characters (a longer
 * one is cut and says its length), non-finite numbers by name (JSON would print null).
 */
export function echo(value: unknown): string {
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
  // A mapping or list is named by its path already: its beginning is enough, its length says nothing.
  return value !== null && typeof value === 'object' ? shorten(text, false) : shorten(text);
}

/** Cuts a text to MAX_ECHO_CHARS characters, saying how long it was (unless `withLength` is false). */
export function shorten(text: string, withLength = true): string {
  if (text.length <= MAX_ECHO_CHARS) return text;
  // Code points, so the cut never splits a surrogate pair.
  const head = Array.from(text.slice(0, MAX_ECHO_CHARS)).slice(0, MAX_ECHO_CHARS - 1).join('');
  return withLength ? `${head}… (${text.length} characters)` : `${head}…`;
}

/**
 * The text of a model file: a regular file (a FIFO or a device would block or never end) of at
 * most MAX_MODEL_FILE_BYTES, read in one bounded read. Throws ConfigError naming the file.
 */
export function readModelFile(file: string, flag = '--config'): string {
  const refuse = (problem: string) => new ConfigError(file, [`(file): ${problem}`]);
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a pipe (FIFO)' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'a socket';
      throw refuse(`is ${kind}, not a regular file; pass a YAML or JSON file to ${flag}`);
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); pass an existing YAML or JSON file to ${flag}`);
  }
  const tooLarge = (bytes: string) => refuse(`is ${bytes} bytes; a model file holds at most ${MAX_MODEL_FILE_BYTES} bytes (1 MiB); pass the platform model, not another file`);
  if (size > MAX_MODEL_FILE_BYTES) throw tooLarge(String(size));
  const buffer = Buffer.alloc(MAX_MODEL_FILE_BYTES + 1);
  let length = 0;
  const fd = openSync(file, 'r');
  try {
    // The file may grow between stat and read: read up to the limit plus one byte, never more.
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
  } finally {
    closeSync(fd);
  }
  if (length > MAX_MODEL_FILE_BYTES) throw tooLarge(`more than ${MAX_MODEL_FILE_BYTES}`);
  return buffer.subarray(0, length).toString('utf8');
}

/** The path of the first value nested deeper than MAX_MODEL_DEPTH, if any (iterative: no stack to blow). */
function tooDeep(input: unknown): readonly PropertyKey[] | undefined {
  const pending: [unknown, PropertyKey[]][] = [[input, []]];
  while (pending.length) {
    const [value, path] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_MODEL_DEPTH) return path;
    for (const [key, child] of Object.entries(value)) pending.push([child, [...path, Array.isArray(value) ? Number(key) : key]]);
  }
  return undefined;
}

/** Validate a model given as plain data; throws ConfigError listing every problem. */
export function validatePlatform(input: unknown, source = 'config'): Platform {
  const deep = tooDeep(input);
  if (deep) {
    throw new ConfigError(source, [`${formatPath(deep.slice(0, 8))}...: nests deeper than ${MAX_MODEL_DEPTH} levels; the platform model is a few levels deep, so this is not a model (check the file)`]);
  }
  const result = PlatformSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, input));
  throw new ConfigError(source, [...new Set(problems)].sort());
}

/** Read a model from a `.yaml`, `.yml` or `.json` file and validate it. */
export function loadPlatformFile(file: string): Platform {
  return parsePlatformText(readModelFile(file), file);
}

/** A model from the text of `file` (YAML, or JSON when the name ends in .json), validated. */
export function parsePlatformText(text: string, file: string): Platform {
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    // The parsers recurse per level: a runaway nesting overflows the stack before the depth check.
    const overflow = error instanceof RangeError || /call stack/i.test((error as Error).message);
    const message = overflow ? `nests too deeply to read (more than ${MAX_MODEL_DEPTH} levels are never a model)` : (error as Error).message.split('\n')[0];
    throw new ConfigError(file, [`(file): is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${shorten(message)}`]);
  }
  return validatePlatform(data, file);
}

/**
 * Checks an image tags document (config/app-images.json: app -> environment -> tag) on its own,
 * so a broken entry is reported in that file's terms, not as a problem of config/default.ts.
 */
export function checkImageTags(data: unknown, file = APP_IMAGE_TAGS_FILE): ImageTags {
  const isMapping = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isMapping(data)) throw new ConfigError(file, [`(root): ${echo(data)}: must be a mapping app -> environment -> tag, e.g. {"hello": {"dev": "<tag>"}}`]);
  const problems: string[] = [];
  for (const [app, environments] of Object.entries(data)) {
    if (!isMapping(environments)) {
      problems.push(`${shorten(app)}: ${echo(environments)}: must be a mapping environment -> tag, e.g. {"dev": "<tag>"}`);
      continue;
    }
    for (const [env, entry] of Object.entries(environments)) {
      // A tag alone, or { "tag", "digest" } (docs/decisions/0107-deploy-by-digest.md).
      if (isMapping(entry)) {
        const extra = Object.keys(entry).filter((key) => key !== 'tag' && key !== 'digest');
        if (extra.length || !('tag' in entry) || !('digest' in entry)) {
          problems.push(`${shorten(app)}.${shorten(env)}: ${echo(entry)}: must be the tag, or {"tag": "<tag>", "digest": "sha256:<64 hex>"} with exactly these keys`);
          continue;
        }
        const digest = imageDigestSchema.safeParse(entry.digest);
        if (!digest.success) problems.push(`${shorten(app)}.${shorten(env)}.digest: ${echo(entry.digest)}: ${digest.error.issues.map((i) => i.message).join('; ')}`);
      }
      const tag = isMapping(entry) ? entry.tag : entry;
      const where = isMapping(entry) ? `${shorten(app)}.${shorten(env)}.tag` : `${shorten(app)}.${shorten(env)}`;
      const result = imageTagSchema.safeParse(tag);
      if (!result.success) {
        const why = typeof tag === 'string' ? result.error.issues.map((i) => i.message).join('; ') : 'must be a string, the image tag (e.g. the commit SHA the pipeline built)';
        problems.push(`${where}: ${echo(tag)}: ${why}`);
      }
    }
  }
  if (problems.length) throw new ConfigError(file, problems.sort());
  return data as ImageTags;
}

export function loadDefaultPlatform(): Platform {
  checkImageTags(DEFAULT_IMAGE_TAGS);
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
  // A PEM field is not repeated: a private key pasted by mistake must not land in a terminal or CI log.
  const hidden = typeof issue.path.at(-1) === 'string' && /PEM$/.test(issue.path.at(-1) as string) && value !== undefined;
  const received = value === undefined ? '(missing)' : hidden ? '(value not shown)' : formatValue(value);
  return [`${formatPath(issue.path)}: ${received}: ${describeMessage(issue, value)}`];
}

function describeMessage(issue: z.core.$ZodIssue, value: unknown): string {
  if (value === undefined && issue.code === 'invalid_type') return `required; add it (${expected(issue)})`;
  if (typeof value === 'number' && !Number.isFinite(value)) return 'must be a finite number';
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
    if (shape && typeof segment === 'string' && Object.hasOwn(shape, segment)) {
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
    // Own entries only: a key such as "__proto__" or "constructor" must not reach what objects inherit.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  // A key is user input too: a long one is shortened like any echoed value.
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? shorten(String(segment)) : `.${shorten(String(segment))}`)).join('');
}

function formatValue(value: unknown): string {
  return echo(value);
}
