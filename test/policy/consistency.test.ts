import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { activeLayers } from '../../policy/consistency';
import { policyInput } from '../../policy';
import { loadDefaultPlatform } from '../../config';
import { platformHosts } from '../../infra/lib/hosts';
import { stringify } from 'yaml';
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
const record = (name: string, proxied = true) => ({ name, type: 'A', content: '${var.ip}', proxied, ttl: proxied ? 1 : 300 });
const seed = loadDefaultPlatform();
const INGRESS = seed.cluster.ingressAddress;
// The seed's hosts by exposure, from the model (decision 0099): both kinds must exist for these tests to mean anything.
const PUBLIC = platformHosts(seed).filter((h) => h.exposure === 'public').map((h) => h.host);
const MESH = platformHosts(seed).filter((h) => h.exposure === 'mesh').map((h) => h.host);
const label = (host: string) => host.split('.')[0];
const allRecords = () => Object.fromEntries([...PUBLIC.map((h) => [label(h), record(h)]), ['headscale', record(seed.mesh.headscaleHost, false)]]);
const haproxyRoutes = (hosts: string[]) => `${hosts.map((h) => `  acl public_host req.ssl_sni -i ${h}`).join('\n')}\n`;
const headscaleConfig = (records: { name: string; type?: string; value?: string }[]) =>
  stringify({ dns: { magic_dns: true, extra_records: records.map((r) => ({ name: r.name, type: r.type ?? 'A', value: r.value ?? INGRESS })) } });
const meshRecords = () => MESH.map((name) => ({ name }));

describe('cross-layer consistency', () => {
  it('knows which layers the current render has', () => {
    const input = policyInput(defaultRender(), loadDefaultPlatform());
    // Pinned: when a layer lands (Ingress, DNS, HAProxy, mesh ACL, mesh DNS), add it here.
    expect(activeLayers(input)).toEqual(['ingress', 'dns', 'haproxy', 'mesh-acl', 'mesh-dns']);
  });

  it('GIVEN the seed WHEN its hosts are listed THEN it has public and mesh-only hosts (so both halves of the rule run)', () => {
    expect(PUBLIC.length).toBeGreaterThan(0);
    expect(MESH.length).toBeGreaterThan(0);
  });

  it('passes when DNS has exactly the public hosts and Headscale', () => {
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: allRecords() } } } })).toEqual([]);
  });

  it('fails when DNS misses a public host, duplicates one or names one the model does not declare', () => {
    const records = allRecords();
    const [missing, duplicated] = PUBLIC;
    delete records[label(missing)];
    records.extra = record('legacy.lumetium.com');
    records.dup = record(duplicated);
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: records } } } })).toEqual(
      [
        `CONSISTENCY-01  Host/-/${duplicated}  2 Cloudflare records name it; it needs exactly one`,
        `CONSISTENCY-01  Host/-/${missing}  0 Cloudflare records name it; it needs exactly one`,
        'CONSISTENCY-01  Host/-/legacy.lumetium.com  is rendered but the model does not declare it; declare it in the model or remove it',
      ].sort(),
    );
  });

  it('fails when a public host is published DNS-only (bypassing Cloudflare)', () => {
    const records = allRecords();
    records[label(PUBLIC[0])] = record(PUBLIC[0], false);
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: records } } } })).toEqual([
      `CONSISTENCY-01  Host/-/${PUBLIC[0]}  its Cloudflare record is not proxied; a public host is served only through Cloudflare (set proxied = true)`,
    ]);
  });

  it('fails when a mesh-only host has a Cloudflare record, proxied or not', () => {
    const records = allRecords();
    records.leak = record(MESH[0]);
    records.leak2 = record(MESH[1], false);
    expect(consistency([], { stacks: { dns: { resource: { cloudflare_dns_record: records } } } })).toEqual(
      [
        `CONSISTENCY-01  Host/-/${MESH[0]}  is mesh-only but 1 Cloudflare record(s) publish it; remove them, or make its exposure "public"`,
        `CONSISTENCY-01  Host/-/${MESH[1]}  is mesh-only but 1 Cloudflare record(s) publish it; remove them, or make its exposure "public"`,
      ].sort(),
    );
  });

  it('passes when HAProxy routes exactly the public hosts', () => {
    expect(consistency([], { files: { 'gateway/haproxy.cfg': haproxyRoutes(PUBLIC) } })).toEqual([]);
  });

  it('fails when HAProxy routes miss a public host', () => {
    expect(consistency([], { files: { 'gateway/haproxy.cfg': haproxyRoutes(PUBLIC.slice(1)) } })).toEqual([
      `CONSISTENCY-01  Host/-/${PUBLIC[0]}  HAProxy has no route for it; route its SNI to the ingress controller`,
    ]);
  });

  it('fails when HAProxy routes a mesh-only host', () => {
    expect(consistency([], { files: { 'gateway/haproxy.cfg': haproxyRoutes([...PUBLIC, MESH[0]]) } })).toEqual([
      `CONSISTENCY-01  Host/-/${MESH[0]}  is mesh-only but HAProxy names it; the gateway must not route it (remove the route, or make its exposure "public")`,
    ]);
  });

  it('passes when Headscale resolves exactly the mesh-only hosts to the ingress address', () => {
    expect(consistency([], { files: { 'gateway/headscale/config.yaml': headscaleConfig(meshRecords()) } })).toEqual([]);
  });

  it('fails when Headscale misses a mesh-only host, points one elsewhere, or resolves a public host', () => {
    const [missing, elsewhere] = MESH;
    const records = [
      ...meshRecords().filter((r) => r.name !== missing && r.name !== elsewhere),
      { name: elsewhere, value: '192.168.10.99' },
      { name: PUBLIC[0] },
      { name: 'stray.lumetium.com' },
    ];
    expect(consistency([], { files: { 'gateway/headscale/config.yaml': headscaleConfig(records) } })).toEqual(
      [
        `CONSISTENCY-01  Host/-/${missing}  0 Headscale DNS records (dns.extra_records) name it; a mesh-only host needs exactly one`,
        `CONSISTENCY-01  Host/-/${elsewhere}  its Headscale DNS record is A 192.168.10.99; it must be A ${INGRESS} (the ingress controller, over the subnet route)`,
        `CONSISTENCY-01  Host/-/${PUBLIC[0]}  is public but Headscale's DNS (dns.extra_records) names it; mesh devices would bypass Cloudflare for it, remove the record`,
        'CONSISTENCY-01  Host/-/stray.lumetium.com  is rendered but the model does not declare it; declare it in the model or remove it',
      ].sort(),
    );
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

  it('fails when the mesh ACL does not let the gateway (public hosts) or admins (mesh-only hosts) reach the ingress address', () => {
    const found = consistency([], { files: { 'gateway/headscale/acl.hujson': '{"acls": []}\n' } });
    expect(found).toHaveLength(PUBLIC.length + MESH.length);
    expect(found).toContain(`CONSISTENCY-01  Host/-/${PUBLIC[0]}  the mesh ACL does not let the gateway reach the ingress address ${INGRESS}`);
    expect(found).toContain(`CONSISTENCY-01  Host/-/${MESH[0]}  is mesh-only but the mesh ACL does not let admins reach the ingress address ${INGRESS}`);
  });
});
