/**
 * A fast writer for the rendered manifests: the same text the `yaml` library's `stringify` writes
 * with `lineWidth: 0` (block style, sequences indented under their key, strings plain when YAML
 * 1.2's core schema reads them back as the same string, literal blocks for multi-line text), for
 * the subset of values manifests hold. Anything outside that subset (control characters, nested
 * sequences, numbers that are not plain decimals, multi-line text that only a quoted or an
 * indentation-indicated block can hold) returns `undefined`, and the caller uses the library.
 * test/charts/lib/manifest-yaml.test.ts proves the two write the same bytes for every object of
 * the render; serialising ~250 manifests with the general-purpose library was a tenth of a render.
 */

/** Strings YAML 1.2's core schema resolves to something else (null, booleans, numbers). */
const CORE_NON_STRING = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
/** Characters a plain scalar cannot start with (YAML indicators and whitespace). */
const INDICATOR_START = /^[\t ,[\]{}#&*!|>'"%@`]/;
/** What a plain scalar cannot contain or end with: `: `, ` #`, a trailing space or colon, a lone or spaced `-`/`?`. */
const PLAIN_BREAKERS = /^[?-]$|^[?-][\t ]|:[\t ]|[\t ]#|[\t :]$/;
/** Control characters and lone surrogates: only a double-quoted scalar can hold them. */
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
/** Lines a YAML 1.1 reader would take for a directive or a document boundary. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/** Keys written plain: the manifests' keys, none of which a reader could misread. */
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** Thrown inside the writer when a value is outside its subset; never escapes `manifestYaml`. */
class Unsupported extends Error {}

const isCoreNonString = (value: string) => CORE_NON_STRING.some((pattern) => pattern.test(value));

function key(name: string): string {
  if (!PLAIN_KEY.test(name) || isCoreNonString(name)) throw new Unsupported(name);
  return name;
}

/** A one-line string: plain if it reads back as itself, otherwise quoted (single if it holds only `"`). */
function inlineString(value: string): string {
  if (UNPRINTABLE.test(value) || DOCUMENT_MARKER.test(value)) throw new Unsupported(value);
  if (!INDICATOR_START.test(value) && !PLAIN_BREAKERS.test(value) && !isCoreNonString(value)) return value;
  if (value.includes('"') && !value.includes("'")) return `'${value}'`;
  return JSON.stringify(value);
}

/**
 * A multi-line string as a literal block at `indent`: `|` when it ends with one newline, `|-`
 * when it ends with none. Text that needs an indentation indicator (a first line starting with a
 * space), a keep chomp (several trailing newlines) or ends in whitespace is left to the library.
 */
function literalBlock(value: string, indent: string): string {
  if (UNPRINTABLE.test(value) || DOCUMENT_MARKER.test(value)) throw new Unsupported(value);
  if (/^[\n\t ]/.test(value) || /\n\n$/.test(value) || /[\t ]\n?$/.test(value) || /\n[\t ]+$/.test(value)) throw new Unsupported(value);
  const clipped = value.endsWith('\n');
  const body = clipped ? value.slice(0, -1) : value;
  const lines = body.split('\n').map((line) => (line === '' ? '' : `${indent}${line}`));
  return `|${clipped ? '' : '-'}\n${lines.join('\n')}`;
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    const text = String(value);
    if (!/^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$/.test(text)) throw new Unsupported(text);
    return text;
  }
  if (typeof value === 'string') return inlineString(value);
  throw new Unsupported(typeof value);
}

const isEmptyCollection = (value: object) => (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);

/** `value` (a key's value, or a sequence item) after `prefix` ("key:" or "-"), its lines at `indent`. */
function node(prefix: string, value: unknown, indent: string, out: string[], firstIndent: string): void {
  if (typeof value === 'string' && value.includes('\n')) {
    out.push(`${firstIndent}${prefix} ${literalBlock(value, `${indent}  `)}`);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    out.push(`${firstIndent}${prefix} ${scalar(value)}`);
    return;
  }
  if (isEmptyCollection(value)) {
    out.push(`${firstIndent}${prefix} ${Array.isArray(value) ? '[]' : '{}'}`);
    return;
  }
  out.push(`${firstIndent}${prefix}`);
  collection(value, `${indent}  `, out);
}

function collection(value: object, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (Array.isArray(item) && item.length > 0) throw new Unsupported('a sequence in a sequence');
      if (typeof item === 'object' && item !== null && !Array.isArray(item) && !isEmptyCollection(item)) {
        // A mapping item: its first pair on the dash line, the others aligned under it.
        const start = out.length;
        collection(item, `${indent}  `, out);
        out[start] = `${indent}- ${out[start].slice(indent.length + 2)}`;
      } else if (typeof item === 'string' && item.includes('\n')) {
        out.push(`${indent}- ${literalBlock(item, `${indent}  `)}`);
      } else {
        out.push(`${indent}- ${typeof item === 'object' && item !== null ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`);
      }
    }
    return;
  }
  for (const [name, child] of Object.entries(value)) {
    if (child === undefined) throw new Unsupported(`${name}: undefined`);
    node(`${key(name)}:`, child, indent, out, indent);
  }
}

/** The manifest as YAML, or `undefined` when it holds a value outside the writer's subset. */
export function manifestYaml(object: Record<string, unknown>): string | undefined {
  const out: string[] = [];
  try {
    if (isEmptyCollection(object)) return undefined;
    collection(object, '', out);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
  return `${out.join('\n')}\n`;
}
