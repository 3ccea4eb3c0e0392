/**
 * The whole render, in memory: model -> every file of `dist/` (path relative to `dist/` -> text).
 * Pure: no environment, no file system outside cdktf's own scratch folder, no network.
 */
import { renderKubernetes } from '../charts/render';
import type { Platform } from '../config';
import { renderGateway } from '../infra/gateway/render';
import { renderNodes } from '../infra/nodes/render';
import { renderTerraform } from '../infra/render';

export type RenderedFiles = Map<string, string>;

/** Each renderer owns a part of dist/ (its paths start with its folder). */
const RENDERERS: readonly ((platform: Platform) => Map<string, string>)[] = [
  renderKubernetes, // k8s/
  renderTerraform, // terraform/
  renderGateway, // gateway/
  renderNodes, // nodes/
];

export function renderPlatform(platform: Platform): RenderedFiles {
  const files: RenderedFiles = new Map();
  for (const part of RENDERERS.map((render) => render(platform))) {
    for (const [path, text] of part) {
      if (files.has(path)) throw new Error(`${path}: rendered twice; two renderers claim the same file`);
      files.set(path, text);
    }
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
