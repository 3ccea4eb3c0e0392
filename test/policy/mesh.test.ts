/**
 * The mesh's gates (policy/mesh.ts): each test plants one defect into the compliant fixture, with
 * the mesh on, and expects exactly the violation it causes; the same objects pass with the mesh off.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { UNMESHED_NAMESPACES } from '../../charts/lib/service-mesh';
import { clone, compliantObjects, NS, violationsOf } from './fixtures';
import { platformWithMesh } from '../support/render';

const on = platformWithMesh(true);
const off = platformWithMesh(false);
const mesh = (objects: KubeObject[], platform = on) => violationsOf(objects, { platform }).filter((v) => /^(MESH-|CONSISTENCY-02)/.test(v));

/** The fixture as a meshed namespace: injection on, a Server for its port and its authorization. */
function meshedObjects(): KubeObject[] {
  const objects = clone(compliantObjects());
  (objects[0].metadata as any).annotations = { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/default-inbound-policy': 'deny' };
  return [
    ...objects,
    { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', metadata: { name: 'demo-http', namespace: NS }, spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'demo' } }, port: 'http', proxyProtocol: 'HTTP/1' } },
    {
      apiVersion: 'policy.linkerd.io/v1alpha1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'demo-http', namespace: NS },
      spec: { targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'demo-http' }, requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name: 'nginx-ingress' }] },
    },
    { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'MeshTLSAuthentication', metadata: { name: 'nginx-ingress', namespace: NS }, spec: { identityRefs: [{ kind: 'ServiceAccount', name: 'nginx-ingress', namespace: 'nginx-ingress' }] } },
  ];
}
const find = (objects: KubeObject[], kind: string) => objects.find((o) => o.kind === kind) as any;

describe('the mesh gates', () => {
  it('GIVEN a meshed namespace with injection, a Server for each admitted port and its authorization THEN nothing is reported', () => {
    expect(mesh(meshedObjects())).toEqual([]);
  });

  it('MESH-01 fails when a meshed namespace lacks linkerd.io/inject: enabled, and not with the mesh off', () => {
    const objects = meshedObjects();
    delete (objects[0].metadata as any).annotations['linkerd.io/inject'];
    expect(mesh(objects)).toEqual([
      'MESH-01  Namespace/-/demo  is meshed but its linkerd.io/inject annotation is missing; set it to enabled, or list the namespace with its reason in UNMESHED_NAMESPACES (charts/lib/service-mesh.ts)',
    ]);
    expect(mesh(objects, off)).toEqual([]);
  });

  it('MESH-02 fails when a pod opts out in a meshed namespace; not for host-network pods or an unmeshed namespace', () => {
    const objects = meshedObjects();
    find(objects, 'Deployment').spec.template.metadata.annotations = { 'linkerd.io/inject': 'disabled' };
    expect(mesh(objects)).toEqual([
      `MESH-02  Deployment/demo/demo  opts out of the mesh (linkerd.io/inject: disabled) in meshed namespace demo; remove the annotation, or list the namespace with its reason in UNMESHED_NAMESPACES (${Object.keys(UNMESHED_NAMESPACES).join(', ')})`,
    ]);
    find(objects, 'Deployment').spec.template.spec.hostNetwork = true;
    expect(mesh(objects)).toEqual([]);
    const unmeshed = meshedObjects();
    const pod = find(unmeshed, 'Deployment');
    pod.metadata.namespace = 'kube-system';
    pod.spec.template.metadata.annotations = { 'linkerd.io/inject': 'disabled' };
    expect(mesh(unmeshed).filter((v) => v.startsWith('MESH-02'))).toEqual([]);
  });

  it('MESH-03 fails when no authorization targets a Server; a route of the Server or the namespace counts', () => {
    const objects = meshedObjects().filter((o) => o.kind !== 'AuthorizationPolicy');
    expect(mesh(objects)).toEqual([
      'MESH-03  Server/demo/demo-http  no AuthorizationPolicy targets it (nor a route of it, nor its namespace): every client is refused; authorize the declared clients or remove the Server',
    ]);
    const viaRoute = [
      ...objects,
      { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'HTTPRoute', metadata: { name: 'demo-api', namespace: NS }, spec: { parentRefs: [{ group: 'policy.linkerd.io', kind: 'Server', name: 'demo-http' }] } },
      { ...find(meshedObjects(), 'AuthorizationPolicy'), spec: { ...find(meshedObjects(), 'AuthorizationPolicy').spec, targetRef: { group: 'policy.linkerd.io', kind: 'HTTPRoute', name: 'demo-api' } } },
    ];
    expect(mesh(viaRoute)).toEqual([]);
  });

  it('MESH-04 fails when an authentication admits every identity or an authorization requires none', () => {
    const objects = meshedObjects();
    find(objects, 'MeshTLSAuthentication').spec = { identities: ['*'] };
    find(objects, 'AuthorizationPolicy').spec.requiredAuthenticationRefs = [];
    objects.push({ apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'MeshTLSAuthentication', metadata: { name: 'domain', namespace: NS }, spec: { identities: ['*.cluster.local'] } });
    expect(mesh(objects)).toEqual([
      'MESH-04  AuthorizationPolicy/demo/demo-http  requires no authentication (requiredAuthenticationRefs is empty): it authorizes every client; reference a MeshTLSAuthentication of the declared clients',
      'MESH-04  MeshTLSAuthentication/demo/domain  authenticates identity "*.cluster.local": every identity of cluster.local; name the clients\' ServiceAccounts (identityRefs) instead',
      'MESH-04  MeshTLSAuthentication/demo/nginx-ingress  authenticates identity "*": every meshed client; name the clients\' ServiceAccounts (identityRefs) instead',
    ]);
  });

  it('MESH-05 fails on all-unauthenticated: set on a namespace, a pod or a Server, or inherited by a meshed namespace from the cluster (also the chart\'s default)', () => {
    const objects = meshedObjects();
    (objects[0].metadata as any).annotations['config.linkerd.io/default-inbound-policy'] = 'all-unauthenticated';
    find(objects, 'Deployment').spec.template.metadata.annotations = { 'config.linkerd.io/default-inbound-policy': 'all-unauthenticated' };
    find(objects, 'Server').spec.accessPolicy = 'all-unauthenticated';
    expect(mesh(objects)).toEqual([
      'MESH-05  Deployment/demo/demo  sets config.linkerd.io/default-inbound-policy: all-unauthenticated on its pods, which admits any client without mTLS; use deny or all-authenticated',
      'MESH-05  Namespace/-/demo  sets config.linkerd.io/default-inbound-policy: all-unauthenticated, which admits any client without mTLS; use deny or all-authenticated and authorize the declared clients',
      'MESH-05  Server/demo/demo-http  has accessPolicy all-unauthenticated: any client reaches it without mTLS or authorization; remove it (the default is deny)',
    ]);
    const application = (valuesObject: Record<string, unknown>): KubeObject => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'linkerd-control-plane', namespace: 'argocd' },
      spec: { project: 'platform', source: { repoURL: 'https://helm.linkerd.io/edge', chart: 'linkerd-control-plane', targetRevision: '2026.8.3', helm: { valuesObject } }, destination: { server: 'https://kubernetes.default.svc', namespace: 'linkerd' } },
    });
    const inheriting = meshedObjects();
    delete (inheriting[0].metadata as any).annotations['config.linkerd.io/default-inbound-policy'];
    const inherited = 'MESH-05  Namespace/-/demo  is meshed and sets no config.linkerd.io/default-inbound-policy, so its ports without a Server follow the cluster\'s default all-unauthenticated';
    expect(mesh([...inheriting, application({})])).toEqual([`${inherited} (the linkerd-control-plane chart's default), which admits any client without mTLS; annotate it deny (or set the control plane's proxy.defaultInboundPolicy)`]);
    expect(mesh([...inheriting, application({ proxy: { defaultInboundPolicy: 'all-unauthenticated' } })])).toEqual([
      `${inherited} (the control plane's proxy.defaultInboundPolicy), which admits any client without mTLS; annotate it deny (or set the control plane's proxy.defaultInboundPolicy)`,
    ]);
    expect(mesh([...inheriting, application({ proxy: { defaultInboundPolicy: 'deny' } })])).toEqual([]);
    // An unmeshed namespace's pods have no proxy: the default does not matter there.
    const unmeshed = inheriting.map((o) => (o.kind === 'Namespace' ? { ...o, metadata: { ...o.metadata, name: 'kube-system' } } : o));
    expect(mesh(unmeshed).filter((v) => v.startsWith('MESH-05'))).toEqual([]);
  });

  it('MESH-06 fails when a Certificate of the trust chain is no CA, also when isCA is misspelt', () => {
    const certificate = (name: string, namespace: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name, namespace },
      spec: { secretName: name, issuerRef: { kind: 'ClusterIssuer', name: 'linkerd-trust-anchor' }, ...spec },
    });
    const objects = [
      ...meshedObjects(),
      certificate('linkerd-identity-issuer', 'linkerd', { isCa: true }),
      certificate('linkerd-trust-anchor', 'linkerd', { isCA: true }),
      certificate('demo-tls', NS, {}),
    ];
    expect(mesh(objects)).toEqual([
      'MESH-06  Certificate/linkerd/linkerd-identity-issuer  is part of Linkerd\'s trust chain but spec.isCA is missing (it sets isCa, which cert-manager does not know; render the spec through the generated toJson); set spec.isCA: true',
    ]);
    expect(mesh(objects, off)).toEqual([]);
  });

  it('CONSISTENCY-02 fails when a NetworkPolicy admits a port no Server covers, and when a Server has no NetworkPolicy rule', () => {
    const objects = meshedObjects();
    find(objects, 'Server').spec.port = 9090;
    expect(mesh(objects)).toEqual([
      'CONSISTENCY-02  NetworkPolicy/demo/demo  admits port 8080 but no Server of demo selects these pods on it; the mesh refuses what the NetworkPolicy allows (render the Server from the same connection)',
      'CONSISTENCY-02  Server/demo/demo-http  stands for port 9090 but no NetworkPolicy ingress rule admits it for these pods; declare the connection, or remove the Server',
    ]);
    // The proxy's own ports (inbound 4143, admin 4191) need no application Server; host-network pods have no proxy.
    const own = meshedObjects();
    (own.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'demo') as any).spec.ingress.push({ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: [{ port: 4143 }, { port: 4191 }] });
    expect(mesh(own)).toEqual([]);
    const host = clone(objects);
    find(host, 'Deployment').spec.template.spec.hostNetwork = true;
    expect(mesh(host)).toEqual(['CONSISTENCY-02  Server/demo/demo-http  stands for port 9090 but no NetworkPolicy ingress rule admits it for these pods; declare the connection, or remove the Server']);
    // The cross-layer check joins once the render holds a Server: none at all, nothing to compare.
    expect(mesh(objects.filter((o) => !['Server', 'AuthorizationPolicy'].includes(o.kind)))).toEqual([]);
  });
});
