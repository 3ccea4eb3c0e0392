/**
 * The rendered NetworkPolicies allow exactly the connections the model and the services declare:
 * an exhaustive check of every flow between the platform's workloads (and a few outside
 * addresses and intruders) against the declared plan, using the evaluator in test/support.
 */
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { parseCidr, ipv4ToInt, intToIpv4 } from '../../../config/net';
import { allServices } from '../../../charts/catalogue';
import { servicePlan } from '../../../charts/synth';
import { apiServerCallers, type Connection, type Peer, type Workload } from '../../../charts/lib/network';
import { defaultRender, kubeObjects } from '../../support/render';
import { NetworkPolicyEvaluator, type Endpoint, type Flow, type Pod } from '../../support/network-evaluator';

const platform = loadDefaultPlatform();
const objects = kubeObjects(defaultRender()).map(({ object }) => object);
const evaluator = new NetworkPolicyEvaluator(objects);
// The render's plan over every environment: each declared connection (the user's apps declare
// theirs too) plus each Vault consumer's connection to Vault.
const plan: Connection[] = [...servicePlan(platform, allServices(platform)).connections];
const renderedNamespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));

const label = (w: Workload) => w.selectorLabel ?? 'app.kubernetes.io/name';
const podCidr = parseCidr(platform.cluster.podCidr)!;
let nextIp = podCidr.first + 300;
const newPod = (namespace: string, labels: Record<string, string>): Pod => ({ namespace, labels, ip: intToIpv4(nextIp++) });

// One pod per workload named anywhere in the plan, plus intruders the plan never mentions.
const workloads = new Map<string, Workload>();
for (const c of plan) for (const peer of [c.from, c.to]) if ('workload' in peer) workloads.set(`${peer.workload.namespace}/${peer.workload.name}`, peer.workload);
const pods = new Map<string, Pod>([...workloads].map(([key, w]) => [key, newPod(w.namespace, { [label(w)]: w.name })]));
const intruders = [
  newPod('argocd', { 'app.kubernetes.io/name': 'intruder' }),
  newPod('cert-manager', { 'app.kubernetes.io/name': 'intruder' }),
  newPod('dev-apps', { 'app.kubernetes.io/name': 'someapp' }),
  newPod('vault', { 'app.kubernetes.io/name': 'intruder' }),
];
const outside = ['8.8.8.8', '1.1.1.1', '192.168.10.21', '192.168.10.50', '100.64.0.1', '100.64.0.10', '10.43.0.1'];

function inPeer(endpoint: Endpoint, peer: Peer): boolean {
  if ('workload' in peer) {
    return 'pod' in endpoint && endpoint.pod.namespace === peer.workload.namespace && endpoint.pod.labels[label(peer.workload)] === peer.workload.name;
  }
  const ip = ipv4ToInt('pod' in endpoint ? endpoint.pod.ip : endpoint.ip);
  const within = (cidr: string) => {
    const r = parseCidr(cidr)!;
    return ip >= r.first && ip <= r.last;
  };
  return peer.network.cidrs.some(({ cidr, except }) => within(cidr) && !(except ?? []).some(within));
}

const portIn = (c: Connection, port: number, protocol: string) =>
  c.ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port));

/** The oracle: a pod in a rendered namespace is isolated; its half must come from a declared connection. */
function declared(flow: Flow): boolean {
  const protocol = flow.protocol ?? 'TCP';
  const isolated = (e: Endpoint) => 'pod' in e && renderedNamespaces.has(e.pod.namespace);
  // Only a connection FROM a workload renders an egress rule; only one TO a workload an ingress rule.
  const egress = plan.some((c) => 'workload' in c.from && inPeer(flow.from, c.from) && inPeer(flow.to, c.to) && portIn(c, flow.port, protocol));
  const ingress = plan.some((c) => 'workload' in c.to && inPeer(flow.to, c.to) && inPeer(flow.from, c.from) && portIn(c, flow.port, protocol));
  return (!isolated(flow.from) || egress) && (!isolated(flow.to) || ingress);
}

const at = (key: string): Endpoint => {
  const pod = pods.get(key);
  if (!pod) throw new Error(`no workload ${key} in the plan`);
  return { pod };
};

describe('network isolation of the rendered platform', () => {
  it('renders a default deny in every namespace it renders', () => {
    for (const namespace of renderedNamespaces) {
      const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === namespace && o.metadata.name === 'default-deny');
      expect(deny?.spec, namespace).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
    expect([...renderedNamespaces].sort()).toEqual([
      'argocd', 'backups', 'builds', 'ceph-csi', 'cert-manager', 'databases', 'gitlab', 'harbor', 'hello-dev', 'hello-prod', 'hello-staging', 'jenkins', 'kured',
      'linkerd', 'linkerd-cni', 'logging', 'metallb-system', 'monitoring', 'nginx-ingress', 'node-exporter', 'renovate', 'snapshot-controller', 'system-upgrade', 'vault', 'velero',
    ]);
  });

  it('allows a flow if and only if a declared connection covers it (every pair, every declared port)', () => {
    const sources: Endpoint[] = [...[...pods.values()].map((pod) => ({ pod })), ...intruders.map((pod) => ({ pod })), ...outside.map((ip) => ({ ip }))];
    const destinations: { endpoint: Endpoint; ports: number[] }[] = [
      ...[...workloads].map(([key, w]) => ({ endpoint: at(key), ports: [...Object.values(w.ports ?? {}), 22] })),
      ...intruders.map((pod) => ({ endpoint: { pod } as Endpoint, ports: [80, 8080] })),
      ...outside.map((ip) => ({ endpoint: { ip } as Endpoint, ports: [22, 53, 80, 443, 3300, 6443, 6789, 6800, 7000] })),
    ];
    const mismatches: string[] = [];
    let checked = 0;
    const name = (e: Endpoint) => ('pod' in e ? `${e.pod.namespace}/${Object.values(e.pod.labels)[0]}` : e.ip);
    for (const from of sources) {
      for (const { endpoint: to, ports } of destinations) {
        if (from === to) continue;
        for (const port of ports) {
          for (const protocol of ['TCP', 'UDP'] as const) {
            const flow = { from, to, port, protocol };
            if (!('pod' in from) && !('pod' in to)) continue;
            checked++;
            const allowed = evaluator.allows(flow);
            if (allowed !== declared(flow)) mismatches.push(`${name(from)} -> ${name(to)}:${port}/${protocol}: ${allowed ? 'allowed but not declared' : 'declared but denied'}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(4000);
  });

  it('denies connections the model does not declare', () => {
    const cases: [string, Flow][] = [
      ['the ingress controller cannot reach the repo server', { from: at('nginx-ingress/nginx-ingress'), to: at('argocd/argocd-repo-server'), port: 8081 }],
      ['argocd-server has no internet access', { from: at('argocd/argocd-server'), to: { ip: '8.8.8.8' }, port: 443 }],
      ['cert-manager speaks plain HTTP to nobody', { from: at('cert-manager/cert-manager'), to: { ip: '8.8.8.8' }, port: 80 }],
      ['cert-manager resolves only through the configured resolvers', { from: at('cert-manager/cert-manager'), to: { ip: '8.8.8.8' }, port: 53, protocol: 'UDP' }],
      ['an unknown pod in argocd cannot read the Redis cache', { from: { pod: intruders[0] }, to: at('argocd/argocd-redis'), port: 6379 }],
      ["a tenant's pod cannot reach Argo CD's server directly", { from: { pod: intruders[2] }, to: at('argocd/argocd-server'), port: 8080 }],
      ['MetalLB cannot call the cert-manager webhook', { from: at('metallb-system/metallb'), to: at('cert-manager/webhook'), port: 10250 }],
      ['the repo server cannot reach Ceph on the LAN', { from: at('argocd/argocd-repo-server'), to: { ip: '192.168.10.21' }, port: 6789 }],
      ['the LAN cannot reach the repo server', { from: { ip: '192.168.10.50' }, to: at('argocd/argocd-repo-server'), port: 8081 }],
      ['Redis opens no connection', { from: at('argocd/argocd-redis'), to: at('kube-system/kube-dns'), port: 53, protocol: 'UDP' }],
      ['a pod that consumes no secret cannot reach Vault', { from: at('argocd/argocd-server'), to: at('vault/vault'), port: 8200 }],
      ['an unknown pod in the vault namespace cannot reach Vault', { from: { pod: intruders[3] }, to: at('vault/vault'), port: 8200 }],
      // Velero's bucket is off site (backups.offsite): no LAN host, and the internet only over HTTPS.
      ['Velero reaches no LAN host, not even the RADOS Gateway', { from: at('velero/velero'), to: { ip: '192.168.10.21' }, port: 7480 }],
      ['Velero reaches the internet only over HTTPS', { from: at('velero/velero'), to: { ip: '8.8.8.8' }, port: 80 }],
      // Vault's one way out is HTTPS to AWS KMS (auto-unseal, charts/security/vault.ts).
      ['Vault reaches the internet only over HTTPS', { from: at('vault/vault'), to: { ip: '8.8.8.8' }, port: 80 }],
      ['Velero does not reach Vault (its keys are a Secret it restores Vault without)', { from: at('velero/velero'), to: at('vault/vault'), port: 8200 }],
      ['the Vault configuration Job is reached by nobody', { from: at('vault/vault'), to: at('vault/vault-config'), port: 8200 }],
    ];
    for (const [why, flow] of cases) expect(evaluator.allows(flow), why).toBe(false);
  });

  it('allows what the platform needs', () => {
    const cases: [string, Flow][] = [
      ['the gateway reaches the ingress controller', { from: { ip: '100.64.0.1' }, to: at('nginx-ingress/nginx-ingress'), port: 443 }],
      ['the ingress controller reaches argocd-server', { from: at('nginx-ingress/nginx-ingress'), to: at('argocd/argocd-server'), port: 8080 }],
      ['the repo server fetches charts over HTTPS', { from: at('argocd/argocd-repo-server'), to: { ip: '8.8.8.8' }, port: 443 }],
      ['cert-manager asks its resolver', { from: at('cert-manager/cert-manager'), to: { ip: '1.1.1.1' }, port: 53, protocol: 'UDP' }],
      ['the provisioner talks to a Ceph OSD', { from: at('ceph-csi/provisioner'), to: { ip: '192.168.10.21' }, port: 6801 }],
      ['Prometheus scrapes the controller', { from: at('monitoring/prometheus'), to: at('argocd/argocd-application-controller'), port: 8082 }],
      ['the API server calls the MetalLB webhook', { from: { ip: '100.64.0.10' }, to: at('metallb-system/metallb'), port: 9443 }],
      ['Velero writes to the off-site bucket (S3 over HTTPS)', { from: at('velero/velero'), to: { ip: '52.219.170.1' }, port: 443 }],
      ['the ingress controller reaches Vault', { from: at('nginx-ingress/nginx-ingress'), to: at('vault/vault'), port: 8200 }],
      ['Prometheus scrapes Vault', { from: at('monitoring/prometheus'), to: at('vault/vault'), port: 8200 }],
      ['Prometheus scrapes Velero', { from: at('monitoring/prometheus'), to: at('velero/velero'), port: 8085 }],
      ['the configuration Job reaches Vault', { from: at('vault/vault-config'), to: at('vault/vault'), port: 8200 }],
      ['the API server calls the agent injector', { from: { ip: '100.64.0.10' }, to: at('vault/vault-agent-injector'), port: 8080 }],
    ];
    for (const [why, flow] of cases) expect(evaluator.allows(flow), why).toBe(true);
  });

  describe('admission webhooks', () => {
    const callers = apiServerCallers(platform);
    const webhooks = plan.filter((c) => 'network' in c.from && c.from.network.name === callers.name && 'workload' in c.to);
    const server = Object.values(platform.nodes).find((node) => node.role === 'server')!;
    // An ordinary pod of another namespace, on the server node's own pod subnet and on a worker's.
    const onServerSubnet = { pod: { namespace: 'dev-apps', labels: { 'app.kubernetes.io/name': 'someapp' }, ip: intToIpv4(podCidr.first + 7) } };
    const onWorkerSubnet = { pod: intruders[2] };

    it('declares the webhooks of Vault, cert-manager, trust-manager, Linkerd and MetalLB, all from the API server', () => {
      expect(webhooks.map((c) => describeWebhook(c)).sort()).toEqual([
        'cert-manager/trust-manager', 'cert-manager/webhook', 'linkerd/destination', 'linkerd/proxy-injector', 'metallb-system/metallb', 'vault/vault-agent-injector',
      ]);
    });

    it('admits the API server on every webhook port: the server node and its flannel and bridge addresses', () => {
      const sources = [server.meshAddress, server.lanAddress, intToIpv4(podCidr.first), intToIpv4(podCidr.first + 1)];
      for (const c of webhooks) {
        for (const ip of sources) {
          for (const { port } of c.ports) expect(evaluator.allows({ from: { ip }, to: at(describeWebhook(c)), port }), `${ip} -> ${describeWebhook(c)}:${port}`).toBe(true);
        }
      }
    });

    it('refuses an ordinary pod of another namespace, a worker node and the rest of the pod network on every webhook port', () => {
      const worker = Object.values(platform.nodes).find((node) => node.role !== 'server')!;
      const strangers: Endpoint[] = [onServerSubnet, onWorkerSubnet, { ip: worker.meshAddress }, { ip: worker.lanAddress }, { ip: intToIpv4(podCidr.first + 256) }];
      for (const c of webhooks) {
        for (const from of strangers) {
          for (const { port } of c.ports) {
            const who = 'pod' in from ? from.pod.ip : from.ip;
            expect(evaluator.allows({ from, to: at(describeWebhook(c)), port }), `${who} -> ${describeWebhook(c)}:${port}`).toBe(false);
          }
        }
      }
    });
  });
});

function describeWebhook(c: Connection): string {
  return 'workload' in c.to ? `${c.to.workload.namespace}/${c.to.workload.name}` : c.to.network.name;
}
