/**
 * Layers import downwards only (issue 19, docs/decisions/0094-import-layers.md). Every import of
 * every .ts file of the source (type-only imports, re-exports and dynamic imports too, as the
 * TypeScript compiler's own pre-processor reads them) is checked against the layer diagram:
 *
 *   config, imports <- common <- charts/lib <- charts/<service> <- charts/*.ts <- cli, policy, main.ts
 *                              <- infra/lib  <- infra/gateway, infra/nodes <- infra/stacks <- infra/*.ts <-
 *
 * A file may import its own unit (its folder, or its tier for the top tiers) and any lower layer
 * of its own side; charts and infra never import each other, and two service folders (or
 * infra/gateway and infra/nodes) never import each other: what both need lives below them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** The repository; not from test/support/render, which would load the very modules scanned here. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The folders (and files) whose imports are checked. */
const SOURCE_ROOTS = ['config', 'common', 'charts', 'infra', 'cli', 'policy', 'main.ts'];

type Side = 'model' | 'charts' | 'infra' | 'entry';

/** Where a module sits: its side, its rank (higher imports lower) and its unit (free inside). */
interface Layer {
  readonly name: string;
  readonly side: Side;
  readonly rank: number;
  /** Modules of one unit import each other freely; equal ranks of different units are siblings. */
  readonly unit: string;
}

/** The layer of a repository-relative module path (posix separators, with its extension). */
function layerOf(path: string): Layer | undefined {
  const parts = path.split('/');
  const [top, second] = parts;
  const nested = parts.length > 2;
  switch (top) {
    case 'config':
      return { name: 'config', side: 'model', rank: 0, unit: 'config' };
    case 'imports':
      return { name: 'imports (generated)', side: 'model', rank: 0, unit: 'imports' };
    case 'common':
      return { name: 'common', side: 'model', rank: 1, unit: 'common' };
    case 'charts':
      if (!nested) return { name: 'charts (catalogue and synth)', side: 'charts', rank: 4, unit: 'charts' };
      if (second === 'lib') return { name: 'charts/lib', side: 'charts', rank: 2, unit: 'charts/lib' };
      return { name: `service charts/${second}`, side: 'charts', rank: 3, unit: `charts/${second}` };
    case 'infra':
      if (!nested) return { name: 'infra (terraform)', side: 'infra', rank: 5, unit: 'infra' };
      if (second === 'lib') return { name: 'infra/lib', side: 'infra', rank: 2, unit: 'infra/lib' };
      if (second === 'stacks') return { name: 'infra/stacks', side: 'infra', rank: 4, unit: 'infra/stacks' };
      return { name: `infra/${second}`, side: 'infra', rank: 3, unit: `infra/${second}` };
    case 'cli':
    case 'policy':
    case 'main.ts':
      return { name: 'CLI (cli, policy, main.ts)', side: 'entry', rank: 6, unit: 'entry' };
    default:
      return undefined;
  }
}

/** Why `from` may not import `to`, or undefined when the import goes downwards. */
function violation(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a) return undefined;
  if (!b) return `imports ${to}, which is outside every layer`;
  if (a.unit === b.unit) return undefined;
  const sides = new Set<Side>(['charts', 'infra']);
  if (sides.has(a.side) && sides.has(b.side) && a.side !== b.side) {
    return `${a.name} imports ${b.name} across sides: charts and infra share only what lies below both (config, common)`;
  }
  if (b.rank > a.rank) return `${a.name} imports ${b.name}, a higher layer: layers import downwards only`;
  if (b.rank === a.rank) return `${a.name} imports ${b.name} sideways: move what both need into a layer below them`;
  return undefined;
}

/**
 * Sideways imports between service charts not yet moved below them, each with its reason. An
 * entry that no longer matches an import fails the test as stale: delete it when you fix it.
 */
const KNOWN_SIDEWAYS: readonly { readonly from: string; readonly to: string; readonly why: string }[] = [
];

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(full).flatMap((entry) => sourceFiles(`${path}/${entry}`));
}

/** The module an import specifier names, repository-relative; undefined for packages. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = normalize(join(dirname(from), specifier)).split(sep).join('/');
  if (/\.(ts|mts|mjs|js|json)$/.test(target)) return target;
  for (const candidate of [`${target}.ts`, `${target}/index.ts`]) {
    try {
      if (statSync(join(ROOT, candidate)).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return target;
}

interface Edge {
  readonly from: string;
  readonly specifier: string;
  readonly to: string;
}

function importEdges(): Edge[] {
  return SOURCE_ROOTS.flatMap(sourceFiles).flatMap((from) => {
    const info = ts.preProcessFile(readFileSync(join(ROOT, from), 'utf8'), true, true);
    return info.importedFiles.flatMap(({ fileName }) => {
      const to = resolveSpecifier(from, fileName);
      return to ? [{ from, specifier: fileName, to }] : [];
    });
  });
}

describe('layers import downwards only', () => {
  const edges = importEdges();
  const broken = edges.flatMap((edge) => {
    const why = violation(edge.from, edge.to);
    return why ? [{ ...edge, why }] : [];
  });
  const known = (edge: { from: string; to: string }) => KNOWN_SIDEWAYS.some((entry) => entry.from === edge.from && entry.to === edge.to);

  it('GIVEN every source file WHEN its imports are read THEN the scan sees the whole source', () => {
    // A scan that reads nothing would pass every rule: insist on files of every side and on type-only imports.
    const importers = new Set(edges.map((edge) => edge.from.split('/')[0]));
    expect([...importers].sort()).toEqual(['charts', 'cli', 'common', 'config', 'infra', 'main.ts', 'policy']);
    expect(edges.some((edge) => edge.from === 'charts/lib/service.ts' && edge.to === 'charts/lib/argocd.ts')).toBe(true);
  });

  it('GIVEN the source WHEN every import is checked against the layers THEN none goes sideways or upwards', () => {
    const report = broken.filter((edge) => !known(edge)).map((edge) => `${edge.from}: import '${edge.specifier}': ${edge.why}`);
    expect(report, `imports against the layer diagram (docs/decisions/0094-import-layers.md):\n${report.join('\n')}`).toEqual([]);
  });

  it('GIVEN the known sideways imports WHEN the source no longer has one THEN it is reported stale', () => {
    const stale = KNOWN_SIDEWAYS.filter((entry) => !broken.some((edge) => edge.from === entry.from && edge.to === entry.to));
    expect(stale.map((entry) => `stale exception: ${entry.from} -> ${entry.to} no longer exists; delete it from KNOWN_SIDEWAYS`)).toEqual([]);
  });
});

describe('the layer rules', () => {
  it('GIVEN downward imports WHEN checked THEN they pass', () => {
    expect(violation('charts/source/gitlab.ts', 'charts/lib/service.ts')).toBeUndefined();
    expect(violation('charts/lib/network.ts', 'config/gateway.ts')).toBeUndefined();
    expect(violation('infra/nodes/k3s-config.ts', 'common/yaml.ts')).toBeUndefined();
    expect(violation('infra/stacks/gateway.ts', 'infra/gateway/model.ts')).toBeUndefined();
    expect(violation('cli/render.ts', 'infra/terraform.ts')).toBeUndefined();
    expect(violation('policy/index.ts', 'charts/lib/service.ts')).toBeUndefined();
  });

  it('fails when a service chart imports another service chart', () => {
    expect(violation('charts/source/gitlab.ts', 'charts/data/postgresql.ts')).toMatch(/^service charts\/source imports service charts\/data sideways/);
  });

  it('fails when infra/gateway imports infra/nodes', () => {
    expect(violation('infra/gateway/headscale.ts', 'infra/nodes/k3s-config.ts')).toMatch(/sideways/);
  });

  it('fails when a library imports the layer above it', () => {
    expect(violation('charts/lib/service.ts', 'charts/synth.ts')).toMatch(/^charts\/lib imports charts \(catalogue and synth\), a higher layer/);
    expect(violation('config/schema.ts', 'common/yaml.ts')).toMatch(/a higher layer/);
    expect(violation('charts/core/ceph-csi.ts', 'cli/render.ts')).toMatch(/a higher layer/);
  });

  it('fails when charts and infra import each other', () => {
    expect(violation('charts/lib/network.ts', 'infra/gateway/model.ts')).toMatch(/across sides/);
    expect(violation('infra/lib/policy.ts', 'charts/lib/policy.ts')).toMatch(/across sides/);
  });

  it('fails when the source imports something outside every layer', () => {
    expect(violation('charts/lib/service.ts', 'test/support/render.ts')).toMatch(/outside every layer/);
  });
});
