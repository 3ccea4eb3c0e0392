/**
 * From a chart's values.yaml, values.schema.json and templates to (1) the JSON schema its values
 * are checked against and (2) a TypeScript type for the values the render builds.
 *
 * The schema is the chart's own values.schema.json where it ships one (that is what Helm itself
 * enforces). Otherwise it is derived from values.yaml, and a mapping is closed
 * (`additionalProperties: false`) only where the templates show the chart reads it key by key:
 * every `.Values.a.b` in templates/ is followed by `.c`, never used whole (`toYaml`, `with`,
 * `range`, `include`, `index`, ...), and no parent is used whole. Everything else stays open, so
 * the schema never refuses a key the chart reads.
 *
 * The TypeScript type is stricter on purpose: every mapping values.yaml (or the chart's schema)
 * lists is closed, so a misspelt or misplaced key fails `npm run typecheck`. A key the chart reads
 * without listing it is declared once in cli/import/chart-values-extra.json, with the template
 * that reads it, and merged into both.
 */
import { parse } from 'yaml';
import type { ChartFiles } from './chart-source';

export type JsonSchema = { readonly [key: string]: unknown };

interface Usage {
  /** Paths (dot-joined) read key by key somewhere: `.Values.a.b` seen as a prefix of a longer chain. */
  readonly readByKey: Set<string>;
  /** Paths used as a whole somewhere (passed to toYaml, with, range, a helper...). */
  readonly usedWhole: Set<string>;
}

/** How the templates use `.Values`: which paths are read key by key and which are used whole. */
export function valuesUsage(templates: ReadonlyMap<string, string>): Usage {
  const usage: Usage = { readByKey: new Set(), usedWhole: new Set() };
  const chain = /\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/g;
  for (const text of templates.values()) {
    for (const match of text.matchAll(chain)) {
      const keys = match[1].split('.').filter(Boolean);
      usage.usedWhole.add(keys.join('.'));
      for (let i = 0; i < keys.length; i++) usage.readByKey.add(keys.slice(0, i).join('.'));
    }
  }
  return usage;
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function scalarType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'null';
}

/**
 * The schema values.yaml implies. `closed(path)` says whether a non-empty mapping at `path` may
 * refuse unknown keys. `null` is allowed everywhere: in Helm a null value deletes the default.
 */
export function deriveSchema(value: unknown, closed: (path: readonly string[]) => boolean, path: readonly string[] = [], read?: Usage): JsonSchema {
  if (value === null || value === undefined) return {};
  if (Array.isArray(value)) return { type: ['array', 'null'] };
  if (isMapping(value)) {
    // Keys the templates read but values.yaml leaves out (often only in a comment) are listed
    // too, untyped, so a closed mapping never refuses them.
    const keys = [...new Set([...Object.keys(value), ...(read ? childrenRead(read, path) : [])])];
    if (Object.keys(value).length === 0) return { type: ['object', 'null'] };
    const properties = Object.fromEntries(keys.map((key) => [key, deriveSchema(value[key], closed, [...path, key], read)]));
    return { type: ['object', 'null'], properties, additionalProperties: !closed(path) };
  }
  // A number default also takes a string: resource quantities (`cpu: 1` / `"500m"`), ports and
  // counts are rendered the same either way (`quote`, `toYaml`), and charts document both forms.
  return { type: typeof value === 'number' ? ['number', 'string', 'null'] : [scalarType(value), 'null'] };
}

/** The keys templates read directly under `path`. */
function childrenRead(usage: Usage, path: readonly string[]): string[] {
  const prefix = path.length === 0 ? '' : `${path.join('.')}.`;
  const children = new Set<string>();
  for (const chain of usage.usedWhole) {
    if (chain.startsWith(prefix) && chain.length > prefix.length) children.add(chain.slice(prefix.length).split('.')[0]);
  }
  return [...children].sort();
}

/** Whether the templates show that a mapping at `path` is read key by key only (see the header). */
export function closedByUsage(usage: Usage, openTopLevel: ReadonlySet<string>): (path: readonly string[]) => boolean {
  return (path) => {
    if (path.length > 0 && openTopLevel.has(path[0])) return false;
    for (let i = 0; i <= path.length; i++) {
      if (usage.usedWhole.has(path.slice(0, i).join('.'))) return false;
    }
    return usage.readByKey.has(path.join('.'));
  };
}

/** Top-level keys another chart reads: `global` and each subchart's name or alias. */
export function subchartKeys(chart: ChartFiles): Set<string> {
  return new Set(['global', ...(chart.chartYaml.dependencies ?? []).map((d) => d.alias ?? d.name)]);
}

/** Follows local `$ref`s (`#/definitions/...`, `#/$defs/...`). */
function deref(schema: JsonSchema, root: JsonSchema, seen: ReadonlySet<string> = new Set()): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/') || seen.has(ref)) return schema;
  let target: unknown = root;
  for (const part of ref.slice(2).split('/')) target = (target as Record<string, unknown>)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  if (!isMapping(target)) throw new Error(`values.schema.json: $ref ${ref} points at nothing`);
  const { $ref: _ignored, ...rest } = schema;
  return deref({ ...target, ...rest }, root, new Set([...seen, ref]));
}

/** Inlines every local $ref (cycles are cut to `{}`), so schemas can be merged and printed. */
export function inline(schema: unknown, root: JsonSchema, seen: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(schema)) return schema.map((item) => inline(item, root, seen));
  if (!isMapping(schema)) return schema;
  let current: JsonSchema = schema;
  let trail = seen;
  if (typeof current.$ref === 'string') {
    if (trail.has(current.$ref)) return {};
    trail = new Set([...trail, current.$ref]);
    current = deref(current, root, seen);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) {
    if (key === '$defs' || key === 'definitions') continue;
    out[key] = key === 'properties' && isMapping(value)
      ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, inline(sub, root, trail)]))
      : inline(value, root, trail);
  }
  return out;
}

/** `b` refined onto `a`: b's type, enum and constraints win; properties are the union of both. */
export function mergeSchemas(a: JsonSchema, b: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = { ...a, ...b };
  const pa = isMapping(a.properties) ? a.properties : {};
  const pb = isMapping(b.properties) ? b.properties : {};
  if (Object.keys(pa).length + Object.keys(pb).length > 0) {
    const names = [...new Set([...Object.keys(pa), ...Object.keys(pb)])];
    out.properties = Object.fromEntries(names.map((name) => [name, mergeSchemas((pa[name] ?? {}) as JsonSchema, (pb[name] ?? {}) as JsonSchema)]));
  }
  if (isMapping(a.items) && isMapping(b.items)) out.items = mergeSchemas(a.items, b.items);
  return out;
}

/** One extra key: where it goes, its schema, and the template line that reads it. */
export interface ExtraKey {
  readonly path: string;
  readonly schema: JsonSchema;
  readonly readBy: string;
}

/** Adds `extra` keys (dot paths) into `schema` as optional properties. */
export function withExtras(schema: JsonSchema, extras: readonly ExtraKey[], where: string): JsonSchema {
  let result = schema;
  for (const extra of extras) {
    if (!/^https:\/\/\S+#L\d+/.test(extra.readBy)) throw new Error(`${where}: ${extra.path}: readBy "${extra.readBy}" is not a link to the template line that reads the key; use https://.../templates/file.yaml#L12`);
    const keys = extra.path.split('.');
    const nest = (level: number): JsonSchema => (level === keys.length ? extra.schema : { properties: { [keys[level]]: nest(level + 1) } });
    result = mergeSchemas(result, nest(0));
  }
  return result;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** TypeScript for a schema whose `$ref`s are inlined; see the header for what is closed. */
export function typeOf(schema: unknown, indent = ''): string {
  if (!isMapping(schema)) return schema === false ? 'never' : 'unknown';
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map((value) => (value === null ? 'null' : JSON.stringify(value))))].join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const base = Object.fromEntries(Object.entries(schema).filter(([name]) => name !== key));
      return union(options.map((option) => typeOf(mergeSchemas(base, option as JsonSchema), indent)));
    }
  }
  if (Array.isArray(schema.allOf)) return typeOf((schema.allOf as JsonSchema[]).reduce((acc, part) => mergeSchemas(acc, part), Object.fromEntries(Object.entries(schema).filter(([name]) => name !== 'allOf'))), indent);
  const properties = isMapping(schema.properties) ? schema.properties : undefined;
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : properties ? ['object'] : schema.items ? ['array'] : [];
  if (types.length === 0) return 'unknown';
  return union(types.map((type) => {
    switch (type) {
      case 'string': return 'string';
      case 'number': case 'integer': return 'number';
      case 'boolean': return 'boolean';
      case 'null': return 'null';
      case 'array': return `readonly ${wrap(isMapping(schema.items) ? typeOf(schema.items, indent) : 'unknown')}[]`;
      case 'object': return objectType(schema, properties, indent);
      default: return 'unknown';
    }
  }));
}

function objectType(schema: JsonSchema, properties: Record<string, unknown> | undefined, indent: string): string {
  const additional = schema.additionalProperties;
  if (!properties || Object.keys(properties).length === 0) {
    return `{ readonly [key: string]: ${isMapping(additional) ? typeOf(additional, indent) : 'unknown'} }`;
  }
  const inner = `${indent}  `;
  const lines = Object.keys(properties).sort().map((name) => `${inner}readonly ${IDENTIFIER.test(name) ? name : JSON.stringify(name)}?: ${typeOf(properties[name], inner)};`);
  // Other keys explicitly allowed (a typed map next to known keys, or a subchart's values): open.
  if (additional === true || isMapping(additional)) lines.push(`${inner}readonly [key: string]: unknown;`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

const wrap = (type: string) => (/[|&]/.test(type) && !type.startsWith('{') ? `(${type})` : type);
const union = (types: string[]) => {
  const unique = [...new Set(types)];
  return unique.includes('unknown') ? 'unknown' : unique.join(' | ');
};

/** Both generated artefacts of one chart. */
export interface GeneratedChart {
  /** The schema the chart's values are checked against (committed as JSON). */
  readonly schema: JsonSchema;
  /** Whether `schema` is the chart's own values.schema.json (else derived from values.yaml). */
  readonly chartOwnSchema: boolean;
  /** The TypeScript type body. */
  readonly type: string;
}

export function generateChart(chart: ChartFiles, extras: readonly ExtraKey[], where: string): GeneratedChart {
  const values = parse(chart.valuesYaml) ?? {};
  const openTop = subchartKeys(chart);
  const usage = valuesUsage(chart.templates);
  const derived = deriveSchema(values, closedByUsage(usage, openTop), [], usage);
  const own = chart.valuesSchema ? (JSON.parse(chart.valuesSchema) as JsonSchema) : undefined;
  const schema = withExtras(own ?? derived, own ? [] : extras, where);
  // For the type: every listed mapping closed, except the ones other charts own.
  const listed = deriveSchema(values, (path) => !(path.length > 0 && openTop.has(path[0])));
  const typeSchema = withExtras(own ? mergeSchemas(listed, inline(own, own) as JsonSchema) : listed, extras, where);
  // The values object itself is never null.
  return { schema, chartOwnSchema: own !== undefined, type: typeOf({ ...typeSchema, type: 'object' }) };
}
