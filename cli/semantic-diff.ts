/**
 * A semantic diff of two renders: per service (the folder Argo CD syncs, the Terraform stack, the
 * gateway or node files), which objects were added, removed or changed, and for a changed object
 * which fields changed with their old and new values. Lists of named items (containers, ports,
 * env, volumes) are matched by name, so a change reads `containers[app].image`, not `[0]`.
 */
import { diffArrays } from 'diff';
import { parse } from 'yaml';
import { byCodePoint } from '../config/order';
import type { RenderedFiles } from './render';

export interface FieldChange {
  /** A dotted field path, or `line` for a line of a text file. */
  readonly path: string;
  /** For `line`: its number in the old file (a removed line) or the new file (an added line). */
  readonly line?: number;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface ObjectChange {
  readonly kind: 'added' | 'removed' | 'changed';
  /** `Kind namespace/name`, `type.name` or a file name. */
  readonly object: string;
  readonly fields: readonly FieldChange[];
}

export interface GroupChange {
  /** `k8s/<env>/<service>`, `terraform/<stack>`, `gateway`, `nodes/<node>`, or the file's folder. */
  readonly group: string;
  readonly changes: readonly ObjectChange[];
}

function groupOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'k8s') return parts.slice(0, 3).join('/');
  if (parts[0] === 'terraform' || parts[0] === 'nodes') return parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0];
  return parts.length > 1 ? parts[0] : '(top)';
}

type Named = Record<string, unknown> & { name?: unknown };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function namedList(value: unknown): value is Named[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => isObject(item) && typeof item.name === 'string');
}

/** Every leaf that differs between `a` and `b`, as a dotted path. */
export function diffValues(a: unknown, b: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const join = (key: string) => (path ? `${path}.${key}` : key);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byCodePoint);
    return keys.flatMap((key) => diffValues(a[key], b[key], join(key)));
  }
  if ((namedList(a) || a === undefined) && (namedList(b) || b === undefined) && (a !== undefined || b !== undefined)) {
    const byName = (list: Named[] | undefined) => new Map((list ?? []).map((item) => [String(item.name), item]));
    const left = byName(a as Named[] | undefined);
    const right = byName(b as Named[] | undefined);
    const names = [...new Set([...left.keys(), ...right.keys()])].sort(byCodePoint);
    return names.flatMap((name) => {
      const before = left.get(name);
      const after = right.get(name);
      if (!before || !after) return [{ path: `${path}[${name}]`, before, after }];
      return diffValues(before, after, `${path}[${name}]`);
    });
  }
  return [{ path: path || '(value)', before: a, after: b }];
}

interface Item {
  readonly id: string;
  readonly value: unknown;
}

/** The comparable items of one file: Kubernetes object, Terraform resources, or text lines. */
function itemsOf(path: string, text: string): Item[] {
  if (path.startsWith('k8s/') && path.endsWith('.yaml')) {
    const object = parse(text) as { kind?: string; metadata?: { name?: string; namespace?: string } };
    const where = object?.metadata?.namespace ? `${object.metadata.namespace}/` : '';
    return [{ id: `${object?.kind ?? '?'} ${where}${object?.metadata?.name ?? path}`, value: object }];
  }
  if (path.endsWith('cdk.tf.json')) {
    const json = JSON.parse(text) as { resource?: Record<string, Record<string, unknown>>; data?: Record<string, Record<string, unknown>>; [key: string]: unknown };
    const items: Item[] = [];
    for (const [section, prefix] of [['resource', ''], ['data', 'data.']] as const) {
      for (const [type, byName] of Object.entries(json[section] ?? {})) {
        for (const [name, body] of Object.entries(byName)) items.push({ id: `${prefix}${type}.${name}`, value: stripMetadata(body) });
      }
    }
    for (const key of ['terraform', 'provider', 'variable', 'output']) {
      if (json[key] !== undefined) items.push({ id: key, value: json[key] });
    }
    return items;
  }
  return [{ id: path.split('/').pop()!, value: text }];
}

/** cdktf's `//` metadata (construct paths) changes with refactors that change nothing deployed. */
function stripMetadata(body: unknown): unknown {
  if (!isObject(body)) return body;
  const { ['//']: _metadata, ...rest } = body;
  return rest;
}

/**
 * The lines of a text file that a real line diff (jsdiff's `diffArrays`, Myers' algorithm) removes
 * and adds, with their line numbers: order and repetition matter in haproxy.cfg and ACL files, so
 * two swapped rules or a duplicated line are a change, and indentation is kept as written.
 */
function textChange(before: string, after: string): FieldChange[] {
  const fields: FieldChange[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (const part of diffArrays(before.split('\n'), after.split('\n'))) {
    for (const line of part.value) {
      if (part.removed) fields.push({ path: 'line', line: oldLine++, before: line });
      else if (part.added) fields.push({ path: 'line', line: newLine++, after: line });
      else {
        oldLine++;
        newLine++;
      }
    }
  }
  return fields;
}

/** Compares `before` (e.g. the committed dist/) with `after` (a fresh render). */
export function semanticDiff(before: RenderedFiles, after: RenderedFiles): GroupChange[] {
  const collect = (files: RenderedFiles) => {
    const groups = new Map<string, Map<string, unknown>>();
    for (const [path, text] of files) {
      const group = groupOf(path);
      const items = groups.get(group) ?? new Map<string, unknown>();
      for (const item of itemsOf(path, text)) items.set(item.id, item.value);
      groups.set(group, items);
    }
    return groups;
  };
  const left = collect(before);
  const right = collect(after);
  const result: GroupChange[] = [];
  for (const group of [...new Set([...left.keys(), ...right.keys()])].sort(byCodePoint)) {
    const a = left.get(group) ?? new Map<string, unknown>();
    const b = right.get(group) ?? new Map<string, unknown>();
    const changes: ObjectChange[] = [];
    for (const id of [...new Set([...a.keys(), ...b.keys()])].sort(byCodePoint)) {
      if (!a.has(id)) changes.push({ kind: 'added', object: id, fields: [] });
      else if (!b.has(id)) changes.push({ kind: 'removed', object: id, fields: [] });
      else {
        const x = a.get(id);
        const y = b.get(id);
        const fields = typeof x === 'string' && typeof y === 'string' ? textChange(x, y) : diffValues(x, y);
        if (fields.length) changes.push({ kind: 'changed', object: id, fields });
      }
    }
    if (changes.length) result.push({ group, changes });
  }
  return result;
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

export function formatDiff(groups: readonly GroupChange[]): string {
  const lines: string[] = [];
  for (const { group, changes } of groups) {
    const count = (kind: ObjectChange['kind']) => changes.filter((c) => c.kind === kind).length;
    lines.push(`${group}: ${count('added')} added, ${count('removed')} removed, ${count('changed')} changed`);
    for (const change of changes) {
      const mark = change.kind === 'added' ? '+' : change.kind === 'removed' ? '-' : '~';
      lines.push(`  ${mark} ${change.object}`);
      for (const field of change.fields) {
        if (field.path === 'line') lines.push(`      ${field.before !== undefined ? `- ${field.line}: ${show(field.before)}` : `+ ${field.line}: ${show(field.after)}`}`);
        else lines.push(`      ${field.path}: ${show(field.before)} -> ${show(field.after)}`);
      }
    }
  }
  return lines.join('\n');
}
