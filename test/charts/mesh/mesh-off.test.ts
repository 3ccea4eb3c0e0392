/**
 * `serviceMesh.enabled` is an option: turned off, the platform renders as it did before the mesh
 * existed. A whole-render property, so both renders are compared file by file: the render with the
 * mesh, minus the mesh's own objects and the mesh's marks on shared objects, must equal the render
 * without it. Anything else the option changed fails, naming the file.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RenderedFiles } from '../../../cli/render';
import { renderPlatform } from '../../../cli/render';
import { loadDefaultPlatform } from '../../../config';
import { MESH_SERVICES } from '../../../charts/catalogue';
import { CNI_NAMESPACE } from '../../../charts/mesh/linkerd';
import { INJECT_ANNOTATION, LINKERD_NAMESPACE, SKIP_OUTBOUND_PORTS_ANNOTATION, TRUST_MANAGER } from '../../../charts/lib/service-mesh';
import { CHARTS } from '../../../config/versions';
import { defaultRender } from '../../support/render';

const MESH_NAMES = new Set(MESH_SERVICES.map((service) => service.name));
const MESH_NAMESPACES = new Set([LINKERD_NAMESPACE, CNI_NAMESPACE]);
const MESH_REPOS = new Set<string>([CHARTS.linkerdControlPlane.repoURL]);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A file only the mesh renders: its services' folders and Applications, trust-manager's policy. */
function meshOwnFile(path: string, object: Json | undefined): boolean {
  const [, , folder, file] = path.split('/');
  if (MESH_NAMES.has(folder)) return true;
  if (folder === 'apps' && MESH_NAMES.has(file.replace(/^application-|\.yaml$/g, ''))) return true;
  return object?.kind === 'NetworkPolicy' && object.metadata.namespace === TRUST_MANAGER.namespace && object.spec.podSelector?.matchLabels?.[TRUST_MANAGER.selectorLabel!] === TRUST_MANAGER.name;
}

const toMesh = (peer: Json) => MESH_NAMESPACES.has(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']);

/** Removes the mesh's marks from an object it shares with the platform without the mesh. */
function withoutMeshMarks(object: Json): Json {
  if (object.kind === 'Namespace' && object.metadata.annotations) {
    for (const key of [...Object.keys(INJECT_ANNOTATION), SKIP_OUTBOUND_PORTS_ANNOTATION]) delete object.metadata.annotations[key];
    if (Object.keys(object.metadata.annotations).length === 0) delete object.metadata.annotations;
  }
  if (object.kind === 'NetworkPolicy') {
    const note = 'platform-synthesizer.io/connections';
    const annotations = object.metadata.annotations;
    if (annotations?.[note]) {
      annotations[note] = annotations[note]
        .split('\n')
        .filter((line: string) => !/^(to|from) (linkerd|linkerd-cni)\//.test(line))
        .join('\n');
    }
    object.spec.egress = object.spec.egress?.filter((rule: Json) => !(rule.to ?? []).every(toMesh));
    object.spec.ingress = object.spec.ingress?.filter((rule: Json) => !(rule.from ?? []).every(toMesh));
  }
  if (object.kind === 'AppProject') {
    object.spec.destinations = object.spec.destinations.filter((d: Json) => !MESH_NAMESPACES.has(d.namespace));
    object.spec.sourceRepos = object.spec.sourceRepos.filter((repo: string) => !MESH_REPOS.has(repo));
    object.spec.clusterResourceWhitelist = object.spec.clusterResourceWhitelist?.filter((gk: Json) => gk.group !== 'trust.cert-manager.io');
  }
  return object;
}

/** The inventory's rows of the mesh's services. */
const withoutMeshRows = (text: string) =>
  text
    .split('\n')
    .filter((line) => !MESH_NAMES.has(line.split('|')[2]?.trim() ?? ''))
    .join('\n');

/** The render with the mesh, reduced to what the render without it must be. */
function reduceToUnmeshed(files: RenderedFiles): Map<string, unknown> {
  const reduced = new Map<string, unknown>();
  for (const [path, text] of files) {
    if (path === 'README.md') reduced.set(path, withoutMeshRows(text));
    else if (path.startsWith('k8s/')) {
      const object = parse(text) as Json;
      if (!meshOwnFile(path, object)) reduced.set(path, withoutMeshMarks(object));
    } else reduced.set(path, text);
  }
  return reduced;
}

function asComparable(files: RenderedFiles): Map<string, unknown> {
  return new Map([...files].map(([path, text]) => [path, path.startsWith('k8s/') ? parse(text) : text]));
}

/** The paths whose content differs, and the paths only one side has. */
function differences(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((path) => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)));
}

describe('serviceMesh.enabled: false', () => {
  const seed = loadDefaultPlatform();
  const meshed = seed.serviceMesh.enabled ? defaultRender() : renderPlatform({ ...seed, serviceMesh: { enabled: true } });
  const unmeshed = renderPlatform({ ...seed, serviceMesh: { enabled: false } });

  it('GIVEN the seed rendered with and without the mesh WHEN the mesh is taken out of the first THEN every other file is as the second renders it', () => {
    expect(differences(reduceToUnmeshed(meshed), asComparable(unmeshed))).toEqual([]);
  });

  it('GIVEN the render without the mesh WHEN searched THEN nothing of Linkerd is in it', () => {
    const text = [...unmeshed.values()].join('\n');
    expect(text).not.toMatch(/linkerd/i);
    expect(text).not.toContain('trust-manager');
  });

  it('GIVEN the render with the mesh WHEN reduced THEN the reduction took something out (the comparison is not vacuous)', () => {
    expect(differences(asComparable(meshed), asComparable(unmeshed)).length).toBeGreaterThan(20);
  });
});
