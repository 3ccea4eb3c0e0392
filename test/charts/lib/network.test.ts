import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  INTERNET,
  apiServerCallers,
  NamespacePolicies,
  connect,
  dnsAccess,
  portOf,
  type Connection,
  type Workload,
} from '../../../charts/lib/network';
import type { KubeObject } from '../../../charts/lib/service';
import { loadDefaultPlatform } from '../../../config';
import { NetworkPolicyEvaluator } from '../../support/network-evaluator';

const web: Workload = { namespace: 'shop', name: 'web', ports: { http: 8080 } };
const db: Workload = { namespace: 'data', name: 'db', ports: { postgres: 5432 } };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rendered = KubeObject & { spec: any; metadata: KubeObject['metadata'] & { annotations: Record<string, string> } };

function render(namespace: string, workloads: Workload[], connections: Connection[]): Rendered[] {
  const chart = new Chart(Testing.app(), 'test');
  new NamespacePolicies(chart, 'p', { namespace, workloads, plan: { connections } });
  return Testing.synth(chart) as Rendered[];
}

describe('NamespacePolicies', () => {
  const plan: Connection[] = [
    connect({ workload: web }, db, ['postgres'], 'orders database'),
    dnsAccess(web),
    dnsAccess(db),
    connect({ network: INTERNET }, web, ['http'], 'customers'),
  ];

  it('renders a default deny and, per workload, exactly the rules of its connections', () => {
    // GIVEN a web app that talks to a database in another namespace
    // WHEN the database's namespace renders its policies
    const [deny, allowDb] = render('data', [db], plan);
    // THEN the namespace is closed in both directions
    expect(deny.metadata.name).toBe('default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    // AND the database accepts the web app on 5432 only, selected by one label, and may only resolve names
    expect(allowDb.metadata.name).toBe('allow-db');
    expect(allowDb.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'db' } });
    expect(allowDb.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(allowDb.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } } }],
        ports: [{ port: 5432, protocol: 'TCP' }],
      },
    ]);
    expect(allowDb.spec.egress).toHaveLength(1);
    expect(allowDb.spec.egress[0].ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
    expect(allowDb.metadata.annotations['platform-synthesizer.io/connections']).toBe('from shop/web: orders database\nto kube-system/kube-dns: DNS');
  });

  it('gives the client side the egress half of the same connection', () => {
    const [, allowWeb] = render('shop', [web], plan);
    expect(allowWeb.spec.egress[0]).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'db' } } }],
      ports: [{ port: 5432, protocol: 'TCP' }],
    });
    expect(allowWeb.spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: '0.0.0.0/0', except: INTERNET.cidrs[0].except } }], ports: [{ port: 8080, protocol: 'TCP' }] },
    ]);
  });

  it('fails when a connection names a workload the namespace does not declare', () => {
    expect(() => render('data', [], plan)).toThrow(
      'namespace data: connection "orders database" names workload db, which the namespace does not run; declare it or fix the connection',
    );
  });

  it('fails when nothing reaches a workload, unless it is marked receivesNothing', () => {
    const job: Workload = { namespace: 'data', name: 'migrate' };
    expect(() => render('data', [job], [dnsAccess(job)])).toThrow(
      'workload data/migrate: no connection reaches it; declare one (e.g. its metrics scrape) or mark it receivesNothing',
    );
    const [, policy] = render('data', [{ ...job, receivesNothing: true }], [dnsAccess({ ...job, receivesNothing: true })]);
    expect(policy.spec.ingress).toEqual([]);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('fails on a port name the workload does not declare', () => {
    expect(() => portOf(db, 'mysql')).toThrow('workload data/db: no port named "mysql"; declared: postgres');
  });
});

describe('the NetworkPolicy evaluator', () => {
  const plan: Connection[] = [connect({ workload: web }, db, ['postgres'], 'orders database'), dnsAccess(web), dnsAccess(db), connect({ network: INTERNET }, web, ['http'], 'customers')];
  const objects = [...render('data', [db], plan), ...render('shop', [web], plan)];
  const pod = (namespace: string, name: string, ip: string) => ({ pod: { namespace, labels: { 'app.kubernetes.io/name': name }, ip } });
  const webPod = pod('shop', 'web', '10.42.1.10');
  const dbPod = pod('data', 'db', '10.42.2.10');
  const evaluator = new NetworkPolicyEvaluator(objects);

  it('allows a declared connection', () => {
    expect(evaluator.allows({ from: webPod, to: dbPod, port: 5432 })).toBe(true);
    expect(evaluator.allows({ from: { ip: '203.0.113.7' }, to: webPod, port: 8080 })).toBe(true);
  });

  it('denies what is not declared: the reverse direction, another port, another pod, the internet', () => {
    expect(evaluator.allows({ from: dbPod, to: webPod, port: 8080 })).toBe(false);
    expect(evaluator.allows({ from: webPod, to: dbPod, port: 5433 })).toBe(false);
    expect(evaluator.allows({ from: pod('shop', 'intruder', '10.42.1.11'), to: dbPod, port: 5432 })).toBe(false);
    expect(evaluator.allows({ from: webPod, to: { ip: '203.0.113.7' }, port: 443 })).toBe(false);
    expect(evaluator.allows({ from: { ip: '192.168.10.5' }, to: webPod, port: 8080 })).toBe(false);
  });

  it('would allow everything without the policies (the evaluator is not a no-op)', () => {
    const open = new NetworkPolicyEvaluator([]);
    expect(open.allows({ from: dbPod, to: webPod, port: 8080 })).toBe(true);
  });
});

describe('apiServerCallers', () => {
  const platform = loadDefaultPlatform();

  it('names the server node and its flannel and bridge addresses, not the pod network', () => {
    // GIVEN the seed model: server k3s-master, pod network 10.42.0.0/16
    const server = platform.nodes['k3s-master'];
    // WHEN the webhook callers are derived
    const cidrs = apiServerCallers(platform).cidrs.map((c) => c.cidr);
    // THEN they are four single addresses: mesh, LAN, flannel.1 and cni0 of the first node subnet
    expect([...cidrs].sort()).toEqual([`${server.meshAddress}/32`, `${server.lanAddress}/32`, '10.42.0.0/32', '10.42.0.1/32'].sort());
  });

  it('follows the model: another server and pod network', () => {
    const other = {
      ...platform,
      cluster: { ...platform.cluster, podCidr: '10.100.0.0/20' },
      nodes: { only: { role: 'server' as const, meshAddress: '100.64.0.20', lanAddress: '10.0.0.5' } },
    };
    expect(apiServerCallers(other).cidrs.map((c) => c.cidr)).toEqual(['10.0.0.5/32', '10.100.0.0/32', '10.100.0.1/32', '100.64.0.20/32']);
  });

  // A pod network without a /24 per node is refused by the model: test/fixtures/invalid/pod-cidr-too-small.yaml.
});
