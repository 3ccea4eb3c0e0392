/**
 * CRDs: `cdk8s.yaml` names each one by its upstream URL at a pinned tag. From each we generate the
 * cdk8s constructs (`cdk8s import`, the classes charts build custom resources with) and a JSON
 * schema per served version (the CRD's own openAPIV3Schema, which the tests validate the render
 * against). Both land under imports/, so nothing outside the checkout is read at build or test time.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { UpstreamReader } from './sources';

/** One `imports:` entry of cdk8s.yaml: `name:=url`. */
export interface CrdSource {
  readonly name: string;
  readonly url: string;
}

/** What was generated from one CRD, recorded in imports/sources.json. */
export interface ImportedCrd extends CrdSource {
  readonly sha256: string;
  readonly typescript: string;
  readonly schemas: readonly string[];
}

interface Crd {
  readonly kind?: string;
  readonly spec?: {
    readonly group: string;
    readonly names: { readonly kind: string };
    readonly versions: readonly { readonly name: string; readonly served: boolean; readonly schema?: { readonly openAPIV3Schema: object } }[];
  };
}

/** Refs that move: a URL at one of these is not pinned, and a regenerated import could differ. */
const MOVING_REFS = new Set(['main', 'master', 'HEAD', 'develop', 'devel', 'latest']);

/** Reads and checks the `imports:` list of a cdk8s.yaml. */
export function readCrdSources(cdk8sYamlPath: string): CrdSource[] {
  const config = parse(readFileSync(cdk8sYamlPath, 'utf8')) as { imports?: unknown };
  if (!Array.isArray(config.imports) || config.imports.length === 0) {
    throw new Error(`${cdk8sYamlPath}: imports: ${JSON.stringify(config.imports)} is not a list of CRDs; add entries like "name:=https://raw.githubusercontent.com/owner/repo/TAG/path.yaml"`);
  }
  const names = new Set<string>();
  return config.imports.map((entry: unknown, index: number) => {
    const where = `${cdk8sYamlPath}: imports[${index}]`;
    const match = typeof entry === 'string' ? /^([a-z0-9][a-z0-9-]*):=(https:\/\/\S+)$/.exec(entry) : null;
    if (!match) throw new Error(`${where}: ${JSON.stringify(entry)} is not "name:=https-url"; write e.g. "velero-schedule:=https://raw.githubusercontent.com/vmware-tanzu/velero/v1.18.1/config/crd/v1/bases/velero.io_schedules.yaml"`);
    const [, name, url] = match;
    const parts = new URL(url).pathname.split('/').filter(Boolean);
    if (new URL(url).host === 'raw.githubusercontent.com' && (parts.length < 4 || MOVING_REFS.has(parts[2]))) {
      throw new Error(`${where}: ${url} is not at a pinned tag ("${parts[2] ?? ''}" moves); use the release tag, e.g. .../owner/repo/v1.2.3/path.yaml`);
    }
    if (names.has(name)) throw new Error(`${where}: the name "${name}" is used twice; give each CRD its own name`);
    names.add(name);
    return { name, url };
  });
}

/**
 * Some projects ship their CRDs only inside a Helm chart (Linkerd: charts/linkerd-crds/templates/,
 * trust-manager: templates/crd-trust.cert-manager.io_bundles.yaml), where the metadata carries
 * template actions (`{{ .Release.Namespace }}` labels, an included annotation) and the whole file
 * may be wrapped in `{{- if .Values.crds.enabled }}` ... `{{- end }}`: none of it is YAML. The
 * generated types and schemas come from `spec` alone, so lines with an action before `spec:` and
 * whole-document block lines (an if/with/else/end action alone at column 0) are dropped; any other
 * action inside `spec` is refused, because dropping it could change the schema. A file without
 * actions is returned as it is.
 */
export function helmTemplateFree(text: string, source: CrdSource): string {
  if (!text.includes('{{')) return text;
  const lines = text.split('\n');
  const spec = lines.findIndex((line) => /^spec:\s*$/.test(line));
  const wrapper = (line: string) => /^\{\{-?\s*(if|with|else|end)\b[^}]*\}\}\s*$/.test(line);
  const kept = lines.filter((line, index) => !wrapper(line) && (index > spec || !line.includes('{{')));
  const inSpec = spec < 0 ? -1 : lines.findIndex((line, index) => index > spec && !wrapper(line) && line.includes('{{'));
  if (spec < 0 || inSpec >= 0) {
    const at = spec < 0 ? 'no top-level spec:' : `line ${inSpec + 1}: ${lines[inSpec].trim()}`;
    throw new Error(`cdk8s.yaml: ${source.name}: ${source.url} has a Helm template action inside the CRD's spec (${at}); point it at a rendered CRD file instead`);
  }
  return kept.join('\n');
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The schema file name of one served version: `<group>_<kind>_<version>.json`. */
export const schemaFileName = (group: string, kind: string, version: string) => `${group}_${kind}_${version}.json`;

/**
 * Generates into `out`: `<name>-<group>.ts` per CRD (cdk8s import) and `schemas/*.json`.
 * `cdk8s` is the path of the cdk8s CLI.
 */
export async function importCrds(sources: readonly CrdSource[], reader: UpstreamReader, out: string, cdk8s: string): Promise<ImportedCrd[]> {
  if (sources.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'platform-crds-'));
  try {
    const imported: ImportedCrd[] = [];
    const local: string[] = [];
    mkdirSync(join(out, 'schemas'), { recursive: true });
    for (const source of sources) {
      const bytes = await reader.read(source.url).catch((error: Error) => {
        throw new Error(`cdk8s.yaml: imports: ${source.name}: ${error.message}`);
      });
      const text = helmTemplateFree(bytes.toString('utf8'), source);
      const crd = parse(text) as Crd;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) throw new Error(`cdk8s.yaml: ${source.name}: ${source.url} is not a CustomResourceDefinition (kind ${JSON.stringify(crd?.kind)}); point it at the CRD's YAML file`);
      const file = join(work, `${source.name}.yaml`);
      writeFileSync(file, text);
      local.push(`${source.name}:=${file}`);
      const schemas: string[] = [];
      for (const version of crd.spec.versions) {
        if (!version.served || !version.schema) continue;
        const fileName = schemaFileName(crd.spec.group, crd.spec.names.kind, version.name);
        const schema = { $comment: `generated by \`npm run import\` from ${source.url}; do not edit`, ...version.schema.openAPIV3Schema };
        writeFileSync(join(out, 'schemas', fileName), `${JSON.stringify(schema, null, 2)}\n`);
        schemas.push(`schemas/${fileName}`);
      }
      imported.push({ ...source, sha256: sha256(bytes), typescript: `${source.name}-${crd.spec.group}.ts`, schemas });
    }
    // cdk8s import reads its list from the cdk8s.yaml of its working folder: a throwaway one that
    // names the downloaded copies, so the generator never sees the network.
    writeFileSync(join(work, 'cdk8s.yaml'), stringify({ language: 'typescript', app: 'true', imports: local }));
    const result = spawnSync(cdk8s, ['import', '--output', out, '--language', 'typescript'], { cwd: work, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cdk8s import failed (exit ${result.status}): ${result.stderr || result.stdout}`);
    for (const entry of imported) {
      const path = join(out, entry.typescript);
      if (!existsSync(path)) throw new Error(`cdk8s import wrote no ${entry.typescript} for ${entry.url}; found ${readdirSync(out).join(', ')}`);
      const code = readFileSync(path, 'utf8').replace(/^\/\/ generated by cdk8s\n/, '');
      writeFileSync(path, `// generated by \`npm run import\` (cdk8s import) from ${entry.url}; do not edit\n${code}`);
    }
    return imported;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
