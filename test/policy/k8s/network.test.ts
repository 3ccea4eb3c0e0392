import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../charts/lib/service';
import { clone, compliantObjects, k8sViolations, namespace, NS } from '../fixtures';

const ingress = (host: string, tls = true): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'demo', namespace: NS },
  spec: {
    ingressClassName: 'nginx',
    tls: tls ? [{ hosts: [host], secretName: 'demo-tls' }] : undefined,
    rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'demo', port: { number: 80 } } } }] } }],
  },
});

describe('namespace, network, service and ingress rules', () => {
  it('K8S-SEC-11 fails when a namespace lacks Pod Security labels or is not restricted', () => {
    const objects = clone(compliantObjects());
    objects[0] = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } };
    expect(k8sViolations(objects)).toEqual([
      'K8S-SEC-11  Namespace/-/demo  enforces Pod Security "baseline"; use restricted (a weaker level needs a declared exception)',
      'K8S-SEC-11  Namespace/-/demo  has no pod-security.kubernetes.io/audit label; set it (restricted unless a declared exception needs more)',
      'K8S-SEC-11  Namespace/-/demo  has no pod-security.kubernetes.io/warn label; set it (restricted unless a declared exception needs more)',
    ]);
  });

  it('K8S-NET-01 fails when a namespace has no default-deny policy', () => {
    const objects = clone(compliantObjects()).filter((o) => o.metadata.name !== 'default-deny');
    expect(k8sViolations(objects)).toEqual([
      'K8S-NET-01  Namespace/-/demo  has no default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress], no rules); render one',
    ]);
  });

  it('K8S-NET-02 fails when no policy allows a pod egress or ingress, and when a policy selects nothing', () => {
    const objects = clone(compliantObjects());
    (objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'demo') as any).spec.podSelector.matchLabels = { 'app.kubernetes.io/name': 'other' };
    expect(k8sViolations(objects)).toEqual([
      'K8S-NET-02  Deployment/demo/demo  a Service targets it but no NetworkPolicy allows ingress to it; declare who connects',
      'K8S-NET-02  Deployment/demo/demo  no NetworkPolicy allows its egress (not even DNS); declare the connections it needs',
      'K8S-NET-02  NetworkPolicy/demo/demo  selects no rendered pod; fix its podSelector or remove it',
    ]);
  });

  it('K8S-NS-01 fails when an object has no namespace or uses default', () => {
    const objects = clone(compliantObjects());
    delete (objects.find((o) => o.kind === 'ServiceAccount') as any).metadata.namespace;
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' }, data: {} });
    const found = k8sViolations(objects).filter((v) => v.startsWith('K8S-NS-01'));
    expect(found).toEqual([
      'K8S-NS-01  ConfigMap/default/x  lives in the default namespace; give it its own namespace',
      'K8S-NS-01  ServiceAccount/-/demo  has no metadata.namespace; set it explicitly',
    ]);
  });

  it('K8S-SVC-01 fails on NodePort and on a LoadBalancer that is not the ingress controller', () => {
    const objects = clone(compliantObjects());
    (objects.find((o) => o.kind === 'Service') as any).spec.type = 'NodePort';
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: NS }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
    expect(k8sViolations(objects)).toEqual([
      'K8S-SVC-01  Service/demo/demo  is type NodePort; use ClusterIP behind the ingress controller',
      'K8S-SVC-01  Service/demo/lb  is type LoadBalancer; only the ingress controller gets a MetalLB address, route through an Ingress',
    ]);
  });

  it('K8S-SVC-02 fails on an Ingress without TLS; passes with it', () => {
    expect(k8sViolations([...compliantObjects(), ingress('demo.lumetium.com', false)]).filter((v) => v.startsWith('K8S-'))).toEqual([
      'K8S-SVC-02  Ingress/demo/demo  serves demo.lumetium.com without TLS; add it to spec.tls with a secretName',
    ]);
    expect(k8sViolations([...compliantObjects(), ingress('demo.lumetium.com')]).filter((v) => v.startsWith('K8S-'))).toEqual([]);
  });

  it('K8S-REL-01 fails on a selector that does not match, a Service that selects nothing and a missing backend', () => {
    const objects = clone(compliantObjects());
    (objects.find((o) => o.kind === 'Deployment') as any).spec.selector.matchLabels = { app: 'x' };
    (objects.find((o) => o.kind === 'Service') as any).spec.selector = { 'app.kubernetes.io/name': 'ghost' };
    const broken = ingress('demo.lumetium.com');
    (broken.spec as any).rules[0].http.paths[0].backend.service.name = 'nope';
    expect(k8sViolations([...objects, broken]).filter((v) => v.startsWith('K8S-REL'))).toEqual([
      'K8S-REL-01  Deployment/demo/demo  spec.selector does not match the pod template labels; make them agree',
      'K8S-REL-01  Ingress/demo/demo  backend service nope does not exist in demo; fix the name',
      'K8S-REL-01  Service/demo/demo  selects no rendered pod; fix its selector',
    ]);
  });

  it('trusts references into a namespace where an Application installs a Helm chart', () => {
    const app: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'upstream', namespace: 'argocd' },
      spec: { project: 'p', destination: { namespace: 'upstream' }, sources: [{ repoURL: 'https://charts.example.com', chart: 'x', targetRevision: '1.0.0' }] },
    };
    const svcIngress: KubeObject = { ...ingress('demo.lumetium.com'), metadata: { name: 'up', namespace: 'upstream' } };
    (svcIngress.spec as any).rules[0].http.paths[0].backend.service.name = 'chart-made-service';
    expect(k8sViolations([namespace('upstream'), app, svcIngress]).filter((v) => v.startsWith('K8S-REL'))).toEqual([]);
  });
});
