/**
 * `npm run import:k8s`: generates imports/k8s/ (the strict schemas `npm run policy` validates every
 * built-in Kubernetes object against) from the upstream OpenAPI of the Kubernetes version k3s pins.
 *
 *   npm run import:k8s                                   download both sources at the pinned version
 *   npm run import:k8s -- --from swagger.json --types-from k8s-api/   read local copies instead
 *   npm run import:k8s -- --out DIR                      write somewhere else than imports/k8s
 *
 * Sources (docs/decisions/0053-kubernetes-schemas-from-upstream-openapi.md):
 * - `--from`: kubernetes/kubernetes `api/openapi-spec/swagger.json` at the tag of K3S_VERSION
 *   (config/versions.ts): every definition, its properties, types, formats and required fields;
 * - `--types-from`: kubernetes/api (k8s.io/api) at the matching v0.<minor>.<patch> tag: the `+enum`
 *   string types and their constants, which the published spec does not carry as `enum`.
 *
 * What the schemas say, beyond the spec's own words:
 * - every object with declared properties admits no other key (the API server's strict field
 *   validation, on by default since 1.27, refuses unknown fields);
 * - `int-or-string` and `x-kubernetes-int-or-string` take an integer or a string; a Quantity takes a
 *   number or a quantity string; `x-kubernetes-preserve-unknown-fields` and schemaless objects
 *   (RawExtension, FieldsV1, JSON) take anything;
 * - only GA group/versions are served: alpha APIs are always off, and every beta API left in
 *   this version arrived after beta APIs became off by default (KEP-3136).
 *
 * A source that cannot be read or parsed is an error naming it; nothing is written then.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { K3S_VERSION } from '../config/versions';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

interface Swagger {
  readonly swagger?: string;
  readonly definitions: Record<string, Schema>;
}

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** What imports/k8s/index.json holds. */
export interface K8sSchemaIndex {
  readonly $comment: string;
  readonly kubernetes: string;
  readonly sources: { readonly openapi: string; readonly openapiSha256: string; readonly types: string };
  /** Every API group the version knows (served or not); other groups are custom resources. */
  readonly groups: readonly string[];
  /** `group/version/Kind` (group empty for core) -> definition name, for every served kind. */
  readonly served: Readonly<Record<string, string>>;
  /** `group/version/Kind` -> why the version does not serve it by default. */
  readonly notServed: Readonly<Record<string, string>>;
}

/** The Kubernetes version k3s pins: `v1.34.11+k3s1` -> `1.34.11`. */
export function kubernetesVersion(k3s: string = K3S_VERSION): string {
  const match = /^v(\d+\.\d+\.\d+)\+k3s\d+$/.exec(k3s);
  if (!match) throw new Error(`config/versions.ts K3S_VERSION: "${k3s}" is not a k3s release such as v1.34.11+k3s1; fix the pin`);
  return match[1];
}

export function defaultSources(version = kubernetesVersion()) {
  const [, minor, patch] = version.split('.');
  return {
    openapi: `https://raw.githubusercontent.com/kubernetes/kubernetes/v${version}/api/openapi-spec/swagger.json`,
    types: `https://raw.githubusercontent.com/kubernetes/api/v0.${minor}.${patch}`,
  };
}

/** `v1` GA, `v1beta2` beta, `v1alpha1` alpha. */
function stability(version: string): 'ga' | 'beta' | 'alpha' {
  if (/alpha\d*$/.test(version)) return 'alpha';
  if (/beta\d*$/.test(version)) return 'beta';
  return 'ga';
}

/** Kinds that are not objects a manifest creates: request and list wrappers. */
const NOT_MANIFESTS = new Set(['DeleteOptions', 'WatchEvent', 'Status', 'APIGroup', 'APIGroupList', 'APIResourceList', 'APIVersions']);

/** The quantity grammar of k8s.io/apimachinery pkg/api/resource/quantity.go (sign, number, suffix). */
const QUANTITY = '^[+-]?(\\d+\\.?\\d*|\\.\\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\\d+)?$';
const QUANTITY_DEF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

const DROPPED_KEYS = new Set(['description', 'x-kubernetes-patch-strategy', 'x-kubernetes-patch-merge-key', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-unions', 'x-kubernetes-validations', 'x-kubernetes-group-version-kind', 'x-kubernetes-embedded-resource', 'x-kubernetes-action', 'x-kubernetes-patch-strategy-merge-key', 'default']);

/** One schema node of the spec -> the strict JSON Schema node. */
function strict(node: Schema): Schema {
  if (typeof node.$ref === 'string') return { $ref: node.$ref };
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return {};
  if (node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string') return { type: ['integer', 'string'] };
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key) || key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, child]) => [name, strict(child)]));
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = strict(value as Schema);
    } else if (key === 'format') {
      // Formats are advice in the spec (int32, byte, date-time); types carry what the server checks.
      continue;
    } else out[key] = value;
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

/** `+enum` string types of one k8s.io/api package: type name -> values. */
export function enumTypes(source: string): Map<string, string[]> {
  const lines = source.split('\n');
  const enums = new Map<string, string[]>();
  lines.forEach((line, index) => {
    const type = /^type (\w+) string\s*$/.exec(line);
    if (!type) return;
    let marked = false;
    for (let i = index - 1; i >= 0 && lines[i].startsWith('//'); i--) if (/^\/\/\s*\+enum\b/.test(lines[i])) marked = true;
    if (marked) enums.set(type[1], []);
  });
  for (const line of lines) {
    const constant = /^\s*(?:const\s+)?\w+\s+(\w+)\s*=\s*"([^"]*)"/.exec(line);
    if (constant && enums.has(constant[1])) enums.get(constant[1])!.push(constant[2]);
  }
  for (const [name, values] of enums) if (values.length === 0) enums.delete(name);
  return enums;
}

/** Struct fields of one package whose type is an enum: `Struct.jsonName` -> values (and whether it is a list). */
export function enumFields(source: string, enums: (alias: string | undefined, type: string) => string[] | undefined): Map<string, { values: string[]; list: boolean }> {
  const fields = new Map<string, { values: string[]; list: boolean }>();
  let struct: string | undefined;
  for (const line of source.split('\n')) {
    const start = /^type (\w+) struct \{/.exec(line);
    if (start) {
      struct = start[1];
      continue;
    }
    if (line === '}') struct = undefined;
    if (!struct) continue;
    const field = /^\t\w+\s+(\*|\[\])?(?:(\w+)\.)?(\w+)\s+`json:"([^",]+)/.exec(line);
    if (!field) continue;
    const values = enums(field[2], field[3]);
    if (values) fields.set(`${struct}.${field[4]}`, { values: [...new Set(values)].sort(), list: field[1] === '[]' });
  }
  return fields;
}

/** `io.k8s.api.core.v1.Container` -> `core/v1`; definitions outside k8s.io/api -> undefined. */
function apiPackage(definition: string): string | undefined {
  const match = /^io\.k8s\.api\.([a-z0-9]+)\.([a-z0-9]+)\.\w+$/.exec(definition);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** Import aliases of a Go file that point into k8s.io/api: alias -> package (`core/v1`). */
function apiImports(source: string): Map<string, string> {
  const imports = new Map<string, string>();
  for (const match of source.matchAll(/^\s*(\w+)?\s*"k8s\.io\/api\/([a-z0-9]+\/[a-z0-9]+)"/gm)) {
    imports.set(match[1] ?? match[2].split('/')[1], match[2]);
  }
  return imports;
}

export interface ImportResult {
  readonly index: K8sSchemaIndex;
  readonly definitions: Record<string, Schema>;
}

/**
 * The whole import, pure: the spec and the k8s.io/api `types.go` of each package it defines
 * (package -> source) in, the two generated documents out.
 */
export function importK8s(spec: Swagger, specText: string, types: ReadonlyMap<string, string>, version: string, sources: { openapi: string; types: string }): ImportResult {
  if (!spec || typeof spec.definitions !== 'object') throw new Error(`${sources.openapi}: not a Kubernetes OpenAPI v2 document (no "definitions"); pass api/openapi-spec/swagger.json`);
  const served: Record<string, string> = {};
  const notServed: Record<string, string> = {};
  const groups = new Set<string>();
  for (const [name, definition] of Object.entries(spec.definitions)) {
    for (const gvk of (definition['x-kubernetes-group-version-kind'] as unknown as GroupVersionKind[] | undefined) ?? []) {
      groups.add(gvk.group);
      if (NOT_MANIFESTS.has(gvk.kind) || gvk.kind.endsWith('List')) continue;
      const key = `${gvk.group}/${gvk.version}/${gvk.kind}`;
      const level = stability(gvk.version);
      if (level === 'ga') served[key] = name;
      else notServed[key] = `${level} API, off by default in Kubernetes ${version}`;
    }
  }
  if (Object.keys(served).length === 0) throw new Error(`${sources.openapi}: defines no kind with x-kubernetes-group-version-kind; is it the Kubernetes swagger.json?`);

  const enumsByPackage = new Map([...types].map(([pkg, source]) => [pkg, enumTypes(source)]));
  const definitions: Record<string, Schema> = {};
  let enumCount = 0;
  for (const [name, definition] of Object.entries(spec.definitions)) {
    const schema: Schema = name === QUANTITY_DEF ? { anyOf: [{ type: 'string', pattern: QUANTITY }, { type: 'number' }] } : strict(definition);
    const pkg = apiPackage(name);
    const source = pkg ? types.get(pkg) : undefined;
    if (pkg && source && schema.properties) {
      const aliases = apiImports(source);
      const fields = enumFields(source, (alias, type) => enumsByPackage.get(alias ? (aliases.get(alias) ?? '') : pkg)?.get(type));
      const struct = name.split('.').pop()!;
      for (const [field, { values, list }] of fields) {
        const [owner, json] = field.split('.');
        const property = (schema.properties as Record<string, Schema>)[json];
        if (owner !== struct || !property) continue;
        if (list && property.items) (property.items as Schema).enum = values;
        else if (!list) property.enum = values;
        enumCount++;
      }
    }
    definitions[name] = schema;
  }
  if (types.size > 0 && enumCount === 0) throw new Error(`${sources.types}: no +enum field found in the k8s.io/api sources; pass the root of a kubernetes/api checkout`);

  return {
    index: {
      $comment: 'Generated by `npm run import:k8s` (cli/import-k8s.ts) from the upstream sources below; never edit by hand.',
      kubernetes: version,
      sources: { openapi: sources.openapi, openapiSha256: createHash('sha256').update(specText).digest('hex'), types: sources.types },
      groups: [...groups].sort(),
      served: Object.fromEntries(Object.entries(served).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      notServed: Object.fromEntries(Object.entries(notServed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    },
    definitions: sortKeys(definitions as Json) as Record<string, Schema>,
  };
}

/** The files an import writes; `--out` may only hold these. */
const GENERATED = ['definitions.json', 'index.json'];

async function read(location: string): Promise<string | undefined> {
  if (/^https?:\/\//.test(location)) {
    const response = await fetch(location);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${location}: HTTP ${response.status}`);
    return response.text();
  }
  return existsSync(location) ? readFileSync(location, 'utf8') : undefined;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, 'types-from': { type: 'string' }, out: { type: 'string' } }, strict: true });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const version = kubernetesVersion();
  const defaults = defaultSources(version);
  const openapi = values.from ?? defaults.openapi;
  const typesRoot = (values['types-from'] ?? defaults.types).replace(/\/$/, '');
  const out = resolve(values.out ?? join(root, 'imports', 'k8s'));

  // Only a previous import is ever replaced: a folder holding anything else (the repository, a
  // home folder) or a file is refused before anything is written.
  if (existsSync(out)) {
    const entries = statSync(out).isDirectory() ? readdirSync(out).sort() : undefined;
    if (!entries || entries.some((e) => !GENERATED.includes(e))) {
      throw new Error(`--out ${out}: holds something else than a previous import (${GENERATED.join(', ')}); name an empty or new folder`);
    }
  }
  const specText = await read(openapi);
  if (specText === undefined) throw new Error(`--from ${openapi}: no such file; pass kubernetes/kubernetes api/openapi-spec/swagger.json at v${version}`);
  let spec: Swagger;
  try {
    spec = JSON.parse(specText) as Swagger;
  } catch (error) {
    throw new Error(`--from ${openapi}: not JSON (${(error as Error).message}); pass api/openapi-spec/swagger.json`);
  }
  const packages = [...new Set(Object.keys(spec.definitions ?? {}).flatMap((name) => apiPackage(name) ?? []))].sort();
  const types = new Map<string, string>();
  for (const pkg of packages) {
    const source = await read(`${typesRoot}/${pkg}/types.go`);
    if (source !== undefined) types.set(pkg, source);
  }
  if (types.size === 0) throw new Error(`--types-from ${typesRoot}: holds no <group>/<version>/types.go; pass the root of kubernetes/api at v0.${version.split('.').slice(1).join('.')}`);
  const { index, definitions } = importK8s(spec, specText, types, version, { openapi: values.from ? 'local copy of kubernetes/kubernetes api/openapi-spec/swagger.json' : openapi, types: values['types-from'] ? 'local copy of kubernetes/api' : typesRoot });

  // Written beside the target and swapped in, so a failure leaves the previous import whole.
  const staging = `${out}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  writeFileSync(join(staging, 'definitions.json'), `${JSON.stringify({ $comment: index.$comment, definitions }, null, 1)}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  console.log(`imports/k8s: Kubernetes ${version}, ${Object.keys(index.served).length} served kinds, ${Object.keys(definitions).length} definitions`);
}

/**
 * The whole command: prints what it wrote (or why it failed) as the CLI does and resolves to the
 * exit code. Exported so tests can run it in-process (test/cli/import-k8s.test.ts).
 */
export async function runImportK8s(argv: string[]): Promise<number> {
  try {
    await main(argv);
    return 0;
  } catch (error) {
    console.error(`import:k8s failed: ${(error as Error).message}`);
    return 1;
  }
}

// Run as a command (`node cli/launch.mjs cli/import-k8s.ts`, or tsx), not when a test imports it.
if (/(launch\.mjs|import-k8s\.ts)$/.test(process.argv[1] ?? '')) {
  void runImportK8s(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
