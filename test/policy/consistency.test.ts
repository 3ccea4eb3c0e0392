import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { activeLayers } from '../../policy/consistency';
import { policyInput } from '../../policy';
import { loadDefaultPlatform } from '../../config';
import { defaultRender } from '../support/render';
import { violationsOf } from './fixtures';

const consistency = (objects: KubeObject[], options: Parameters<typeof violationsOf>[1] = {}) =>
  violationsOf(objects, options).filter((v) => v.startsWith('CONSISTENCY'));

const issuer: KubeObject = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' }, spec: {} };
const ingress = (host: string, name = 'x'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'grafana', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' } },
  spec: { ingressClassName: 'nginx', tls: [{ hosts: [host], secretName: 'tls' }], rules: [{ host }] },
});
const record = (name: string) => ({ name, type: 'A', content: '${var.ip}', proxied: true, ttl: 1 });
const HOSTS = ['argocd', 'ci', 'git', 'grafana', 'registry', 'vault', 'hello-dev', 'hello-staging', 'hello', 'headscale'].map((h) => `${h}.lumetium.com`);
const allRecords = () => Object.fromEntries(HOSTS.map((h) => [h.split('.')[0], record(h)]));

describe('cross-layer consistency', () => {
  it('knows which layers the current render has', () => {
    const input = policyInput(defaultRender(), loadDefaultPlatform());
    // Pinned: when a layer lands (Ingress, DNS, HAProxy, mesh ACL), add it here.
    expect(activeLayers(input)).toEqual(['ingress', 'dns', 'haproxy', 'mesh-acl']);
  });

  it('passes when DNS has exactly the model hosts', () => {
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: allRecords() } } } })).toEqual([]);
  });

  it('fails when DNS misses a host, duplicates one or names one the model does not declare', () => {
    const records = allRecords();
    delete records.grafana;
    records.extra = record('legacy.lumetium.com');
    records.dup = record('git.lumetium.com');
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: records } } } })).toEqual([
      'CONSISTENCY-01  Host/-/git.lumetium.com  2 Cloudflare records name it; it needs exactly one',
      'CONSISTENCY-01  Host/-/grafana.lumetium.com  0 Cloudflare records name it; it needs exactly one',
      'CONSISTENCY-01  Host/-/legacy.lumetium.com  is rendered but the model does not declare it; declare it in the model or remove it',
    ]);
  });

  it('fails when HAProxy routes miss a host', () => {
    const cfg = HOSTS.filter((h) => !h.startsWith('vault')).map((h) => `  use_backend ingress if { req.ssl_sni -i ${h} }`).join('\n');
    expect(consistency([], { files: { 'gateway/haproxy.cfg': `${cfg}\n` } })).toEqual([
      'CONSISTENCY-01  Host/-/vault.lumetium.com  HAProxy has no route for it; route its SNI to the ingress controller',
    ]);
  });

  it('requires exactly one Ingress for an app host once the app is rendered', () => {
    const files = { 'k8s/dev/hello/serviceaccount-hello.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: hello\n  namespace: hello-dev\n' };
    expect(consistency([issuer, ingress('hello-dev.lumetium.com'), ingress('hello-dev.lumetium.com', 'y')], { files })).toEqual([
      'CONSISTENCY-01  Host/-/hello-dev.lumetium.com  2 Ingresses serve it; app hello in dev needs exactly one',
    ]);
  });

  it('fails when an Ingress has no known issuer, and when a rendered service has two Ingresses', () => {
    const files = { 'k8s/platform/grafana/serviceaccount-grafana.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: grafana\n  namespace: grafana\n' };
    const unknownIssuer = ingress('grafana.lumetium.com');
    (unknownIssuer.metadata.annotations as Record<string, string>)['cert-manager.io/cluster-issuer'] = 'nope';
    expect(consistency([issuer, unknownIssuer, ingress('grafana.lumetium.com', 'y')], { files })).toEqual([
      'CONSISTENCY-01  Host/-/grafana.lumetium.com  2 Ingresses serve it; service grafana needs exactly one',
      'CONSISTENCY-01  Host/-/grafana.lumetium.com  Ingress grafana/x names no rendered ClusterIssuer (cert-manager.io/cluster-issuer: nope)',
    ]);
  });

  it('fails when the mesh ACL does not let the gateway reach the ingress address', () => {
    const found = consistency([], { files: { 'gateway/headscale/acl.hujson': '{"acls": []}\n' } });
    expect(found).toHaveLength(9);
    expect(found[0]).toBe('CONSISTENCY-01  Host/-/argocd.lumetium.com  the mesh ACL does not let the gateway reach the ingress address 192.168.10.240');
  });
});
