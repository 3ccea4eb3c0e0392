/**
 * `npm run import`: regenerates imports/ from the pinned upstream sources, so the checkout needs
 * nothing beside it at build and test time (docs/decisions/0056-self-contained-imports.md).
 *
 *   CRDs   (cdk8s.yaml `imports:`, upstream URLs at tags) -> imports/<name>-<group>.ts (cdk8s import)
 *                                                          + imports/schemas/<group>_<kind>_<version>.json
 *   charts (config/versions.ts CHARTS)                    -> imports/charts/<chart>.ts (values type)
 *                                                          + imports/charts/<chart>.schema.json
 *   imports/sources.json records what each file was generated from.
 *
 * Options:
 *   --mirror DIR         read CRDs from DIR/<host>/<url path> instead of downloading them
 *   --charts-mirror DIR  read charts from DIR/<chart>-<version>/ instead of their repositories
 *   --only crds|charts   regenerate one part; the other keeps its committed files
 *   --charts a,b         regenerate only these charts (names as in config/versions.ts CHARTS)
 *   --crds a,b           regenerate only these CRDs (names as in cdk8s.yaml); the others keep their
 *                        committed files, as long as cdk8s.yaml still names them by the same URL
 *   --out DIR            write there instead of imports/ (tests)
 *   --cdk8s-config FILE, --charts-config FILE (JSON: {key: {repoURL, chart, version}}),
 *   --extras FILE        inputs other than the project's own (tests use fixtures)
 *
 * Everything is generated into a staging folder first: on any error imports/ is left unchanged.
 * imports/k8s/ (the Kubernetes OpenAPI, `npm run import:k8s`) is not this script's and is kept.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHARTS, type ChartVersion } from '../config/versions';
import { downloadChart, readChartFromMirror } from './import/chart-source';
import { generateChart, type ExtraKey } from './import/chart-values';
import { importCrds, readCrdSources, type ImportedCrd } from './import/crds';
import { HttpReader, MirrorReader } from './import/sources';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ImportOptions {
  readonly root: string;
  readonly out: string;
  readonly mirror?: string;
  readonly chartsMirror?: string;
  readonly only?: 'crds' | 'charts';
  readonly charts?: readonly string[];
  readonly crds?: readonly string[];
  readonly cdk8sConfig: string;
  readonly chartsConfig?: string;
  readonly extras: string;
}

/** What imports/sources.json holds. */
export interface ImportManifest {
  readonly comment: string;
  readonly crds: readonly ImportedCrd[];
  readonly charts: readonly ImportedChart[];
}

export interface ImportedChart extends ChartVersion {
  /** The key in config/versions.ts CHARTS. */
  readonly key: string;
  readonly typeName: string;
  readonly typescript: string;
  readonly schema: string;
  /** `values.schema.json` (the chart's own) or `values.yaml` (derived). */
  readonly schemaFrom: 'values.schema.json' | 'values.yaml';
}

const MANIFEST = 'sources.json';
const pascal = (name: string) => name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0].toUpperCase() + part.slice(1)).join('');

/** The options of `npm run import ARGS` (exported so tests can run the import in-process). */
export function parseImportArgs(argv: readonly string[]): ImportOptions {
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const known = ['--mirror', '--charts-mirror', '--only', '--charts', '--crds', '--out', '--cdk8s-config', '--charts-config', '--extras'];
    if (!known.includes(flag) || argv[i + 1] === undefined) {
      throw new Error(`npm run import: argument "${flag}" is not understood; use ${known.map((k) => `${k} VALUE`).join(', ')}`);
    }
    options[flag.slice(2)] = argv[++i];
  }
  if (options.only !== undefined && options.only !== 'crds' && options.only !== 'charts') {
    throw new Error(`npm run import: --only "${options.only}" is not a part; use --only crds or --only charts`);
  }
  return {
    root: ROOT,
    out: resolve(options.out ?? join(ROOT, 'imports')),
    mirror: options.mirror && resolve(options.mirror),
    chartsMirror: options['charts-mirror'] && resolve(options['charts-mirror']),
    only: options.only as ImportOptions['only'],
    charts: options.charts?.split(',').filter(Boolean),
    crds: options.crds?.split(',').filter(Boolean),
    cdk8sConfig: resolve(options['cdk8s-config'] ?? join(ROOT, 'cdk8s.yaml')),
    chartsConfig: options['charts-config'] && resolve(options['charts-config']),
    extras: resolve(options.extras ?? join(ROOT, 'cli/import/chart-values-extra.json')),
  };
}

function readExtras(path: string): Record<string, ExtraKey[]> {
  if (!existsSync(path)) return {};
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const out: Record<string, ExtraKey[]> = {};
  for (const [chart, keys] of Object.entries(raw)) {
    if (chart.startsWith('$')) continue;
    if (typeof keys !== 'object' || keys === null) throw new Error(`${path}: ${chart}: ${JSON.stringify(keys)} is not a map of "dotted.path" -> {schema, readBy}`);
    out[chart] = Object.entries(keys as Record<string, { schema: object; readBy: string }>).map(([path, entry]) => ({ path, schema: entry.schema as ExtraKey['schema'], readBy: entry.readBy }));
  }
  return out;
}

function previousManifest(out: string): ImportManifest | undefined {
  const path = join(out, MANIFEST);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ImportManifest) : undefined;
}

/** Runs the import; returns the manifest it wrote. */
export async function runImport(options: ImportOptions): Promise<ImportManifest> {
  const previous = previousManifest(options.out);
  const staging = mkdtempSync(join(tmpdir(), 'platform-import-'));
  try {
    // ---- CRDs ----
    let crds: readonly ImportedCrd[];
    if (options.only === 'charts') {
      if (!previous) throw new Error(`--only charts: ${join(options.out, MANIFEST)} is missing; run npm run import without --only first`);
      crds = previous.crds;
      for (const crd of crds) {
        for (const file of [crd.typescript, ...crd.schemas]) copyInto(join(options.out, file), join(staging, file));
      }
    } else {
      const reader = options.mirror ? new MirrorReader(options.mirror) : new HttpReader();
      const sources = readCrdSources(options.cdk8sConfig);
      for (const name of options.crds ?? []) {
        if (!sources.some((s) => s.name === name)) throw new Error(`--crds: "${name}" is not in ${options.cdk8sConfig}; use one of ${sources.map((s) => s.name).join(', ')}`);
      }
      const wantedCrd = (name: string) => options.crds === undefined || options.crds.includes(name);
      const kept = new Map<string, ImportedCrd>();
      for (const source of sources.filter((s) => !wantedCrd(s.name))) {
        const committed = previous?.crds.find((c) => c.name === source.name && c.url === source.url);
        if (!committed) throw new Error(`--crds: ${source.name} (${source.url}) has no committed import at that URL; add it to --crds or run without --crds`);
        for (const file of [committed.typescript, ...committed.schemas]) copyInto(join(options.out, file), join(staging, file));
        kept.set(source.name, committed);
      }
      const fresh = await importCrds(sources.filter((s) => wantedCrd(s.name)), reader, staging, join(options.root, 'node_modules/.bin/cdk8s'));
      crds = sources.map((s) => kept.get(s.name) ?? fresh.find((c) => c.name === s.name)!);
    }

    // ---- charts ----
    const pinned: Record<string, ChartVersion> = options.chartsConfig ? JSON.parse(readFileSync(options.chartsConfig, 'utf8')) : CHARTS;
    const extras = readExtras(options.extras);
    for (const chart of Object.keys(extras)) {
      if (!Object.values(pinned).some((entry) => entry.chart === chart)) throw new Error(`${options.extras}: "${chart}" is not a pinned chart; use one of ${Object.values(pinned).map((p) => p.chart).join(', ')}`);
    }
    const wanted = options.only === 'crds' ? [] : (options.charts ?? Object.keys(pinned));
    for (const key of wanted) {
      if (!pinned[key]) throw new Error(`--charts: "${key}" is not in CHARTS; use one of ${Object.keys(pinned).join(', ')}`);
    }
    const charts: ImportedChart[] = [];
    mkdirSync(join(staging, 'charts'), { recursive: true });
    for (const key of Object.keys(pinned).sort()) {
      const version = pinned[key];
      const entry: ImportedChart = {
        key, repoURL: version.repoURL, chart: version.chart, version: version.version,
        typeName: `${pascal(version.chart)}Values`,
        typescript: `charts/${version.chart}.ts`,
        schema: `charts/${version.chart}.schema.json`,
        schemaFrom: 'values.yaml',
      };
      if (!wanted.includes(key)) {
        // Kept as committed, but only when it was generated for the version pinned now.
        const kept = previous?.charts.find((c) => c.key === key && c.version === version.version);
        if (kept) {
          for (const file of [kept.typescript, kept.schema]) copyInto(join(options.out, file), join(staging, file));
          charts.push(kept);
        }
        continue;
      }
      const files = await (options.chartsMirror ? Promise.resolve().then(() => readChartFromMirror(options.chartsMirror!, version)) : downloadChart(new HttpReader(), version)).catch((error: Error) => {
        throw new Error(`config/versions.ts: CHARTS.${key}: ${error.message}`);
      });
      const generated = generateChart(files, extras[version.chart] ?? [], `${options.extras}: ${version.chart}`);
      const from = `${version.repoURL} chart ${version.chart} ${version.version}`;
      const schemaFrom = generated.chartOwnSchema ? 'values.schema.json' : 'values.yaml';
      writeFileSync(join(staging, entry.schema), `${JSON.stringify({ $comment: `generated by \`npm run import\` from ${from} (${schemaFrom}); do not edit`, ...generated.schema }, null, 2)}\n`);
      writeFileSync(
        join(staging, entry.typescript),
        `// generated by \`npm run import\` from ${from} (${schemaFrom}${generated.chartOwnSchema ? ' and values.yaml' : ''}, plus cli/import/chart-values-extra.json); do not edit\n` +
          `/** The values of the ${version.chart} chart ${version.version}. */\nexport type ${entry.typeName} = ${generated.type};\n`,
      );
      charts.push({ ...entry, schemaFrom });
    }
    writeFileSync(join(staging, 'charts/index.ts'), chartIndex(charts));

    const manifest: ImportManifest = { comment: 'generated by `npm run import`; do not edit', crds, charts };
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    replaceOwnedFiles(staging, options.out);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function chartIndex(charts: readonly ImportedChart[]): string {
  const lines = ['// generated by `npm run import`; do not edit'];
  for (const chart of charts) lines.push(`import type { ${chart.typeName} } from './${chart.chart}';`);
  for (const chart of charts) lines.push(`export type { ${chart.typeName} } from './${chart.chart}';`);
  lines.push('', '/** The values type of each imported chart, by chart name. */', 'export interface ChartValues {');
  for (const chart of charts) lines.push(`  readonly ${JSON.stringify(chart.chart)}: ${chart.typeName};`);
  lines.push('}', '');
  return lines.join('\n');
}

function copyInto(from: string, to: string): void {
  if (!existsSync(from)) throw new Error(`${from} is missing; run npm run import without --only / --charts to regenerate everything`);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

/** Swaps in the staged files; removes files of ours that are no longer generated, keeps imports/k8s/. */
function replaceOwnedFiles(staging: string, out: string): void {
  mkdirSync(out, { recursive: true });
  for (const entry of readdirSync(out)) {
    const full = join(out, entry);
    if (entry === 'k8s') continue;
    if (statSync(full).isDirectory() ? ['schemas', 'charts'].includes(entry) : entry.endsWith('.ts') || entry === MANIFEST) rmSync(full, { recursive: true, force: true });
  }
  const copy = (dir: string) => {
    for (const entry of readdirSync(join(staging, dir)).sort()) {
      const relative = join(dir, entry);
      if (statSync(join(staging, relative)).isDirectory()) copy(relative);
      else copyInto(join(staging, relative), join(out, relative));
    }
  };
  copy('.');
}

// ---- npm run import:k8s (the Kubernetes OpenAPI) is a separate script: chain it in package.json. ----

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runImport(parseImportArgs(process.argv.slice(2))).then(
    (manifest) => console.log(`imports/: ${manifest.crds.length} CRDs, ${manifest.charts.length} charts`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
