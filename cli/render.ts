/**
 * The whole render, in memory: model -> every file of `dist/` (path relative to `dist/` -> text).
 * Pure: no environment, no file system outside cdktf's own scratch folder, no network.
 */
import { renderKubernetes } from '../charts/render';
import type { Platform } from '../config';
import { renderTerraform } from '../infra/render';

export type RenderedFiles = Map<string, string>;

export function renderPlatform(platform: Platform): RenderedFiles {
  const files: RenderedFiles = new Map();
  for (const part of [renderKubernetes(platform), renderTerraform(platform)]) {
    for (const [path, text] of part) {
      if (files.has(path)) throw new Error(`${path}: rendered twice; two renderers claim the same file`);
      files.set(path, text);
    }
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
