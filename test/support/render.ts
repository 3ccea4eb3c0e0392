/** Shared fixtures: one render of the default platform per test file, and process helpers. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderPlatform, type RenderedFiles } from '../../cli/render';
import { loadDefaultPlatform } from '../../config';
import type { KubeObject } from '../../charts/lib/service';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: RenderedFiles | undefined;

/** The render of the default platform (computed once per test file). */
export function defaultRender(): RenderedFiles {
  cached ??= renderPlatform(loadDefaultPlatform());
  return cached;
}

/** Every Kubernetes object of a render, with the file it is in. */
export function kubeObjects(files: RenderedFiles): { path: string; object: KubeObject }[] {
  return [...files]
    .filter(([path]) => path.startsWith('k8s/'))
    .map(([path, text]) => ({ path, object: parse(text) as KubeObject }));
}

/** Runs a project entry the way npm scripts do (`node cli/launch.mjs ENTRY args`). */
export function runEntry(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['cli/launch.mjs', entry, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}
