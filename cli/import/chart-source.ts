/**
 * Chart files at a pinned version: downloaded from the chart's repository in real use (its
 * index.yaml names the archive), or read from a local mirror folder holding `<chart>-<version>/`.
 * Only what the importer generates from them is committed; the chart itself never is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { ChartVersion } from '../../config/versions';
import type { UpstreamReader } from './sources';

/** The parts of a chart the generator reads. */
export interface ChartFiles {
  /** Where they came from: the archive URL, or the mirror folder. */
  readonly origin: string;
  readonly chartYaml: { readonly name: string; readonly version: string; readonly dependencies?: readonly { readonly name: string; readonly alias?: string }[] };
  readonly valuesYaml: string;
  readonly valuesSchema?: string;
  /** Template sources by path inside the chart (subcharts excluded): read to see how values are used. */
  readonly templates: ReadonlyMap<string, string>;
}

function walkTemplates(dir: string): Map<string, string> {
  const templates = new Map<string, string>();
  const walk = (current: string) => {
    if (!existsSync(current)) return;
    for (const entry of readdirSync(current).sort()) {
      const full = join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ya?ml|tpl|txt|json)$/.test(entry)) templates.set(relative(dir, full), readFileSync(full, 'utf8'));
    }
  };
  walk(join(dir, 'templates'));
  return templates;
}

/** Reads an unpacked chart folder; `where` names it in errors. */
export function readChartFolder(dir: string, pinned: ChartVersion, where: string): ChartFiles {
  for (const file of ['Chart.yaml', 'values.yaml']) {
    if (!existsSync(join(dir, file))) throw new Error(`${where}: ${join(dir, file)} is missing; the folder must hold the chart ${pinned.chart} ${pinned.version} (Chart.yaml, values.yaml, values.schema.json if any, templates/)`);
  }
  const chartYaml = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as ChartFiles['chartYaml'];
  if (chartYaml.name !== pinned.chart || chartYaml.version !== pinned.version) {
    throw new Error(`${where}: ${join(dir, 'Chart.yaml')} is ${chartYaml.name} ${chartYaml.version}, expected ${pinned.chart} ${pinned.version} (config/versions.ts); put the pinned chart there`);
  }
  const schemaPath = join(dir, 'values.schema.json');
  return {
    origin: where,
    chartYaml,
    valuesYaml: readFileSync(join(dir, 'values.yaml'), 'utf8'),
    valuesSchema: existsSync(schemaPath) ? readFileSync(schemaPath, 'utf8') : undefined,
    templates: walkTemplates(dir),
  };
}

/** The chart from a mirror folder: `<mirror>/<chart>-<version>/`. */
export function readChartFromMirror(mirror: string, pinned: ChartVersion): ChartFiles {
  return readChartFolder(join(mirror, `${pinned.chart}-${pinned.version}`), pinned, `--charts-mirror ${mirror}`);
}

/** The chart from its Helm repository: index.yaml -> the archive of the pinned version -> unpacked. */
export async function downloadChart(reader: UpstreamReader, pinned: ChartVersion): Promise<ChartFiles> {
  const base = pinned.repoURL.replace(/\/+$/, '');
  if (!/^https:\/\//.test(base)) throw new Error(`config/versions.ts: ${pinned.chart}: repoURL "${pinned.repoURL}" is not an https Helm repository; OCI charts are not supported by npm run import yet, use --charts-mirror`);
  const index = parse((await reader.read(`${base}/index.yaml`)).toString('utf8')) as { entries?: Record<string, { version: string; urls: string[] }[]> };
  const entry = index.entries?.[pinned.chart]?.find((candidate) => candidate.version === pinned.version);
  if (!entry?.urls?.[0]) throw new Error(`config/versions.ts: ${pinned.chart} ${pinned.version} is not in ${base}/index.yaml; check the chart name and version`);
  const url = new URL(entry.urls[0], `${base}/`).toString();
  const work = mkdtempSync(join(tmpdir(), 'platform-chart-'));
  try {
    const archive = join(work, 'chart.tgz');
    writeFileSync(archive, await reader.read(url));
    const result = spawnSync('tar', ['-xzf', archive, '-C', work], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${url}: cannot unpack the chart archive: ${result.stderr}`);
    return { ...readChartFolder(join(work, pinned.chart), pinned, url), origin: url };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
