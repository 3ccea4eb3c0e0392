/**
 * Shared fixtures: one render of the default platform and of the single-node fixture per test
 * worker (vitest.config.ts runs files without module isolation, so this module and its cache are
 * shared by every file a worker runs), and process helpers.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderPlatform, type RenderedFiles } from '../../cli/render';
import { renderKubernetesObjects } from '../../charts/synth';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../config';
import type { KubeObject } from '../../charts/lib/service';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SINGLE_NODE_FILE = join(ROOT, 'test/fixtures/valid/single-node.yaml');

let cachedDefault: RenderedFiles | undefined;
let cachedSingleNode: RenderedFiles | undefined;

/**
 * The render of the default platform, computed once per worker. Each call returns a copy: a test
 * that plants a defect into its files can never leak it into another test or file.
 */
export function defaultRender(): RenderedFiles {
  cachedDefault ??= renderPlatform(loadDefaultPlatform());
  return new Map(cachedDefault);
}

let cachedDefaultObjects: Map<string, KubeObject> | undefined;

/**
 * The default platform's Kubernetes objects as the render holds them before writing YAML
 * (`renderKubernetesObjects`), computed once per worker; deep copies per call (mutate freely).
 */
export function defaultKubernetesObjects(): Map<string, KubeObject> {
  cachedDefaultObjects ??= renderKubernetesObjects(loadDefaultPlatform());
  return new Map([...cachedDefaultObjects].map(([path, object]) => [path, structuredClone(object)]));
}

/** The default platform with the service mesh switched on or off (issue 18), whatever the seed says. */
export function platformWithMesh(enabled: boolean): Platform {
  const platform = loadDefaultPlatform();
  return { ...platform, serviceMesh: { ...platform.serviceMesh, enabled } };
}

/** The render of the seed with the mesh the other way round, once per worker. */
let cachedOtherMesh: RenderedFiles | undefined;

/**
 * The render of the default platform with the mesh on or off, computed once per worker; a copy per
 * call. The seed's own setting is `defaultRender()` (the same model, so the same render); only the
 * other one renders, once, for every file that asks.
 */
export function renderWithMesh(enabled: boolean): RenderedFiles {
  if (loadDefaultPlatform().serviceMesh.enabled === enabled) return defaultRender();
  cachedOtherMesh ??= renderPlatform(platformWithMesh(enabled));
  return new Map(cachedOtherMesh);
}

/** The render of the default platform with the mesh on (see renderWithMesh). */
export function meshRender(): RenderedFiles {
  return renderWithMesh(true);
}

/** The render of test/fixtures/valid/single-node.yaml, computed once per worker; a copy per call. */
export function singleNodeRender(): RenderedFiles {
  cachedSingleNode ??= renderPlatform(loadPlatformFile(SINGLE_NODE_FILE));
  return new Map(cachedSingleNode);
}

/**
 * Parsed YAML by text: parsing the whole render takes about a second on a busy 2-core machine and
 * many tests ask for it per test; a deep copy of the cached tree takes milliseconds. Keyed by the
 * text itself, so a planted edit is a different key and is parsed for real.
 */
const parsedByText = new Map<string, unknown>();

/** `parse(text)` from the cache: a fresh copy of the tree per call (mutate freely). */
export function parseYamlCached(text: string): unknown {
  if (!parsedByText.has(text)) parsedByText.set(text, parse(text));
  return structuredClone(parsedByText.get(text));
}

/** Every Kubernetes object of a render, with the file it is in (fresh objects: mutate freely). */
export function kubeObjects(files: RenderedFiles): { path: string; object: KubeObject }[] {
  return [...files].filter(([path]) => path.startsWith('k8s/')).map(([path, text]) => ({ path, object: parseYamlCached(text) as KubeObject }));
}

/** Runs a project entry the way npm scripts do (`node cli/launch.mjs ENTRY args`). */
export function runEntry(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['cli/launch.mjs', entry, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}
