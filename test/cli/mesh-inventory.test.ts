/**
 * dist/README.md's service mesh section (cli/inventory.ts `meshInventory`): read off the render,
 * present only when the mesh is on.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { UNMESHED_NAMESPACES } from '../../charts/lib/service-mesh';
import { meshInventory } from '../../cli/inventory';
import { loadDefaultPlatform } from '../../config';
import { defaultRender, kubeObjects, meshRender, platformWithMesh } from '../support/render';

const on = platformWithMesh(true);
const objectsOf = (list: KubeObject[]) => new Map(list.map((o, i) => [`k8s/x/${i}.yaml`, o]));
const namespace = (name: string, inject?: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(inject ? { annotations: { 'linkerd.io/inject': inject } } : {}) } });

describe('the inventory\'s service mesh section', () => {
  it('GIVEN the mesh off THEN the section is absent', () => {
    expect(meshInventory(platformWithMesh(false), objectsOf([namespace('shop', 'enabled')]))).toEqual([]);
  });

  it('GIVEN the mesh on WHEN the render has the Linkerd Applications, namespaces and the trust chain THEN it lists version, namespaces with reasons and certificates', () => {
    const application: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'linkerd', namespace: 'argocd' },
      spec: { sources: [{ repoURL: 'https://helm.linkerd.io/edge', chart: 'linkerd-control-plane', targetRevision: '2026.8.3' }] },
    };
    const certificate = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name, namespace }, spec });
    const text = meshInventory(
      on,
      objectsOf([
        application,
        namespace('shop', 'enabled'),
        namespace('kube-system'),
        certificate('linkerd', 'linkerd-identity-issuer', { issuerRef: { kind: 'ClusterIssuer', name: 'linkerd-identity-issuer' }, duration: '48h0m0s', renewBefore: '25h0m0s', isCA: true }),
        certificate('monitoring', 'grafana-tls', { issuerRef: { kind: 'ClusterIssuer', name: 'letsencrypt-prod' } }),
      ]),
    ).join('\n');
    expect(text).toContain('Linkerd is on: linkerd-control-plane 2026.8.3.');
    expect(text).toContain('| shop | yes | enabled |  |');
    expect(text).toContain(`| kube-system | no | not annotated | ${UNMESHED_NAMESPACES['kube-system']} |`);
    expect(text).toContain(`| linkerd | no | (not rendered here) | ${UNMESHED_NAMESPACES.linkerd} |`);
    expect(text).toContain('| linkerd/linkerd-identity-issuer | ClusterIssuer linkerd-identity-issuer | 48h0m0s | 25h0m0s | yes |');
    expect(text).not.toContain('grafana-tls');
  });

  it('GIVEN the rendered README THEN it has the section exactly when the mesh is on, naming every rendered namespace', () => {
    const readme = meshRender().get('README.md')!;
    const section = readme.slice(readme.indexOf('## Service mesh'));
    expect(readme).toContain('## Service mesh');
    for (const { object } of kubeObjects(meshRender()).filter(({ object }) => object.kind === 'Namespace')) expect(section).toContain(`| ${object.metadata.name} | `);
    if (!loadDefaultPlatform().serviceMesh.enabled) expect(defaultRender().get('README.md')).not.toContain('## Service mesh');
  });
});
