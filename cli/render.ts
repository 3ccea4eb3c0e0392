/**
 * The whole render, in memory: model -> every file of `dist/` (path relative to `dist/` -> text).
 * Pure: no environment, no file system outside cdktf's own scratch folder, no network.
 */
import { renderPipelines } from '../charts/build/pipeline';
import { renderKubernetesObjects } from '../charts/synth';
import { type KubeObject } from '../charts/lib/service';
import { toYaml } from '../common/yaml';
import type { Platform } from '../config';
import { renderInventory } from './inventory';
import { renderGateway } from '../infra/gateway/files';
import { renderNodes } from '../infra/nodes/k3s-config';
import { renderTerraform } from '../infra/terraform';

export type RenderedFiles = Map<string, string>;

/** Each renderer owns a part of dist/ (its paths start with its folder); k8s/ is rendered first. */
const RENDERERS: readonly ((platform: Platform) => Map<string, string>)[] = [
  renderTerraform, // terraform/
  renderGateway, // gateway/
  renderNodes, // nodes/
  renderPipelines, // pipelines/ (each app's Jenkinsfile)
];

/** A render: every file of dist/, and the Kubernetes objects behind the k8s/ files. */
export interface Render {
  readonly files: RenderedFiles;
  readonly objects: ReadonlyMap<string, KubeObject>;
}

export function renderPlatform(platform: Platform): RenderedFiles {
  return renderWithObjects(platform).files;
}

export function renderWithObjects(platform: Platform): Render {
  const objects = renderKubernetesObjects(platform);
  const files: RenderedFiles = new Map([...objects].map(([path, object]) => [path, toYaml(object)]));
  for (const part of RENDERERS.map((render) => render(platform))) {
    for (const [path, text] of part) {
      if (files.has(path)) throw new Error(`${path}: rendered twice; two renderers claim the same file`);
      files.set(path, text);
    }
  }
  // Last: the inventory reads everything else of the render.
  files.set('README.md', renderInventory(platform, files, objects));
  return { files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), objects };
}
