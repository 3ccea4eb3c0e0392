/**
 * The one YAML writer for everything rendered: manifests, the configuration files inside
 * ConfigMaps, the gateway's and the nodes' files. Its readers are YAML 1.1 readers
 * (sigs.k8s.io/yaml and go-yaml v2 in Kubernetes, Argo CD, Prometheus, Alertmanager, Loki;
 * libyaml in cloud-init and Fluent Bit), where `on`, `no`, `y`, `~`, `12:30`, `1_000` or `0777`
 * are not strings; and YAML 1.2 readers (this project's own tests and tools). So a string is
 * written plain only when both YAML 1.2's core schema and YAML 1.1's types read it back as the
 * same string, and quoted otherwise: the `yaml` library's `compat: 'yaml-1.1'` option, which
 * docs/decisions/0072-yaml-1.1-safe-writer.md explains.
 *
 * `toYaml` has a fast path for the subset of values manifests hold (block style, sequences
 * indented under their key, literal blocks for multi-line text) that writes the same bytes as the
 * library; anything outside that subset (control characters, nested sequences, numbers that are
 * not plain decimals, multi-line text that only a quoted or an indentation-indicated block can
 * hold, keys that need quoting) goes to the library. test/common/yaml.test.ts proves
 * the two write the same bytes for every object of the render; serialising ~250 manifests with
 * the general-purpose library was a tenth of a render.
 */
import { Schema, stringify, type ToStringOptions } from 'yaml';

/**
 * The library's options: no line folding (a changed value is one changed line), no anchors or
 * aliases for repeated objects, and quoting for both schemas.
 */
const LIBRARY_OPTIONS = { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false, compat: 'yaml-1.1' } as const satisfies ToStringOptions & { compat: string; aliasDuplicateObjects: boolean };

/**
 * The implicit types of both schemas, exactly as the library tests a plain string before writing
 * it (its `plainString`): every default tag of the core schema and of the 1.1 compat schema other
 * than `str`. Sharing the library's own patterns keeps the fast path byte-identical to it.
 */
const NON_STRING_PATTERNS: readonly RegExp[] = (() => {
  const schema = new Schema({ schema: 'core', compat: 'yaml-1.1' });
  const tags = [...schema.tags, ...(schema.compat ?? [])];
  return tags.flatMap((tag) => (tag.default && tag.tag !== 'tag:yaml.org,2002:str' && tag.test ? [tag.test] : []));
})();
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

/** A string a YAML 1.1 or 1.2 reader would take for null, a boolean, a number or a timestamp. */
const isNonString = (value: string) => NON_STRING_PATTERNS.some((pattern) => pattern.test(value));

function key(name: string): string {
  if (!PLAIN_KEY.test(name) || isNonString(name)) throw new Unsupported(name);
  return name;
}

/** A one-line string: plain if it reads back as itself, otherwise quoted (single if it holds only `"`). */
function inlineString(value: string): string {
  if (UNPRINTABLE.test(value) || DOCUMENT_MARKER.test(value)) throw new Unsupported(value);
  if (!INDICATOR_START.test(value) && !PLAIN_BREAKERS.test(value) && !isNonString(value)) return value;
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

/** The fast path: `value` as YAML, or `undefined` when it holds a value outside the subset. */
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

/** How a file lays out its sequences; quoting is the same for every file. */
export interface YamlLayout {
  /**
   * Indent a sequence under its key. The gateway's cloud-init user data keeps `false`: its text is
   * the instance's user data, and any change to it replaces the gateway (decision 0047).
   * @default true
   */
  readonly indentSequences?: boolean;
}

/** The library's text for `value`, as `toYaml` writes what the fast path declines. */
export function libraryYaml(value: unknown, layout: YamlLayout = {}): string {
  return stringify(value, { ...LIBRARY_OPTIONS, indentSeq: layout.indentSequences ?? true });
}

/** `value` as YAML, safe for YAML 1.1 and 1.2 readers: the only way this project writes YAML. */
export function toYaml(value: unknown, layout: YamlLayout = {}): string {
  const fast = isMapping(value) && (layout.indentSequences ?? true) ? manifestYaml(value) : undefined;
  return fast ?? libraryYaml(value, layout);
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
