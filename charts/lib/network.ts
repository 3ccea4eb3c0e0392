/**
 * Network isolation as declared connections. Every namespace we render is default-deny for
 * ingress and egress; what may talk to what is a list of `Connection`s (from, to, ports, why).
 * One declared connection yields both halves: the egress rule in the client's namespace and the
 * ingress rule in the server's namespace, so the two sides cannot disagree. Services declare their
 * connections (`ServiceDefinition.connections`); the render collects all of them into one
 * `NetworkPlan`, and each namespace renders the policies of its own workloads from it.
 *
 * Later services plug in the same way: Prometheus declares nothing new for the targets (they
 * already declare `scrapedBy`), it only lists its workload so its egress side is rendered; an app
 * declares `connect(app, postgres, ...)` and gets its egress and PostgreSQL's ingress.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 * @see docs/decisions/0003-namespaces-and-network-policies.md
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { parseCidr, intToIpv4 } from '../../config/net';
import { INGRESS_GATEWAY_PORT } from '../../config/gateway';
import { standardLabels } from './labels';

/** The label our NetworkPolicies select pods by, unless a chart's pods lack it. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** The label Kubernetes puts on every namespace (1.22+): selects a namespace by its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Annotation on each rendered policy listing the connections it allows, for the reviewer. */
export const CONNECTIONS_ANNOTATION = 'platform-synthesizer.io/connections';

/** The pods of one workload: one namespace, one selecting label. */
export interface Workload {
  readonly namespace: string;
  /** The value of the selecting label. */
  readonly name: string;
  /**
   * The label that selects its pods (upstream charts that predate the recommended labels, e.g.
   * ceph-csi's `component`). @default 'app.kubernetes.io/name'
   */
  readonly selectorLabel?: string;
  /** Its container ports by name: connections name them, the evaluator resolves them. */
  readonly ports?: Readonly<Record<string, number>>;
  /**
   * The pods accept no connection at all (a Job that only calls out): its policy denies every
   * ingress instead of failing the render for want of an ingress rule. @default false
   */
  readonly receivesNothing?: boolean;
  /** The pods open no connection at all (a cache such as Redis): every egress is denied. @default false */
  readonly sendsNothing?: boolean;
  /**
   * Some or all of its pods use the node's network (`hostNetwork: true`): NetworkPolicy neither
   * selects nor isolates them, and a client reaches them at the node's address, so its egress
   * needs an ipBlock of the node addresses on their ports. @default false
   */
  readonly hostNetwork?: boolean;
  /**
   * The ServiceAccount its pods run as: with the service mesh on, the workload's identity
   * (`meshIdentity(namespace, serviceAccount)`) that the servers it calls authorize. Set it for
   * pods an upstream chart renders, from the chart's template at the pinned version.
   * @default - the workload's name (charts/lib/workload.ts names the ServiceAccount after the workload)
   */
  readonly serviceAccount?: string;
  /**
   * The ServiceAccounts its pods run as when they are several (the build pods: one account per
   * app, decision 0119): each is an identity of the workload, and a server that authorizes the
   * workload authorizes all of them. @default - [serviceAccount]
   */
  readonly serviceAccounts?: readonly string[];
  /**
   * How Linkerd's inbound proxy reads each port by name (the `Server`'s `proxyProtocol`,
   * charts/lib/mesh-policy.ts): `opaque` for protocols the server speaks first or that detection
   * must not wait on, `HTTP/1`, `HTTP/2` or `gRPC` to skip detection.
   * @default - `opaque` for the ports Linkerd treats as opaque by default (`MESH_DEFAULT_OPAQUE_PORTS`), else `unknown` (detection)
   * @see https://linkerd.io/2-edge/features/protocol-detection/
   */
  readonly meshProtocols?: Readonly<Record<string, MeshProtocol>>;
  /**
   * Its ports (by name) the kubelet probes over HTTPS or gRPC. Linkerd authorizes kubelet probes
   * by their plain-HTTP GET path only, so with the mesh on these ports also admit the kubelet's
   * addresses (charts/lib/mesh-policy.ts). @default - none (plain HTTP, TCP or exec probes only)
   */
  readonly nonHttpProbePorts?: readonly string[];
}

/** A `Server`'s `proxyProtocol` (policy.linkerd.io/v1beta3). */
export type MeshProtocol = 'unknown' | 'HTTP/1' | 'HTTP/2' | 'gRPC' | 'opaque' | 'TLS';

/** Addresses outside the pod network: the internet, the mesh, LAN hosts, the nodes. */
export interface Network {
  /** Shown in the policy annotation and in errors, e.g. "internet" or "ceph monitors". */
  readonly name: string;
  readonly cidrs: readonly { readonly cidr: string; readonly except?: readonly string[] }[];
}

export type Peer = { readonly workload: Workload } | { readonly network: Network };

export interface PortRange {
  readonly port: number;
  /** Last port of a range (NetworkPolicy `endPort`, Kubernetes 1.25+). @default - a single port */
  readonly endPort?: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

/** One allowed flow: `from` opens connections to `to` on `ports`. */
export interface Connection {
  readonly from: Peer;
  readonly to: Peer;
  readonly ports: readonly PortRange[];
  /** Why the flow exists; rendered next to the rule it produces. */
  readonly purpose: string;
  /**
   * The client starts and becomes Ready without this server (it keeps retrying in the
   * background, like a metrics scrape or alert delivery), so the server may come up in a later
   * sync wave than the client (test/bringup.test.ts). @default false - the client needs the server
   * to become Healthy, so the server's Application syncs in the same or an earlier wave
   */
  readonly optionalAtStart?: boolean;
}

/** Every connection of a render; each namespace renders its own half of each. */
export interface NetworkPlan {
  readonly connections: readonly Connection[];
  /**
   * Which workloads carry a Linkerd proxy, when the model turns the service mesh on: their
   * connections also allow the proxy's inbound port, and their namespaces render Linkerd's
   * authorization (charts/lib/mesh-policy.ts). @default - no service mesh
   */
  readonly mesh?: MeshPlan;
}

/** The service mesh as the connection plan sees it (built by `meshPlan` in charts/lib/mesh-policy.ts). */
export interface MeshPlan {
  /** Whether the namespace's pods are injected (`isMeshed` of charts/lib/service-mesh.ts). */
  readonly isMeshedNamespace: (namespace: string) => boolean;
  /** The proxy's inbound port: where a meshed client's proxy connects (PROXY_PORTS.inbound). */
  readonly proxyInboundPort: number;
  /** The proxy's own ports (its admin port): a meshed client's proxy reaches them directly, not through the inbound port. */
  readonly proxyOwnPorts: readonly number[];
  /** The pod network (`cluster.podCidr`): where the connections of unmeshed pods come from. */
  readonly podNetwork: Network;
  /** The nodes' addresses: where the connections of host-network pods come from. */
  readonly nodeNetwork: Network;
  /** Where the kubelet's probes of a pod come from: its node's address on the pod network. */
  readonly kubeletNetwork: Network;
  /**
   * Connections to these server ports leave meshed clients without their proxy (the install's
   * `config.linkerd.io/skip-outbound-ports`), with the reason: the server sees such a client
   * without an identity, on the application's port. @default - none
   */
  readonly proxyBypass?: readonly { readonly to: Workload; readonly port: number; readonly reason: string }[];
}

/** Why meshed clients' traffic to this server port leaves without their proxy, if it does. */
export function proxyBypassOf(plan: NetworkPlan, to: Workload, port: number): string | undefined {
  return plan.mesh?.proxyBypass?.find((bypass) => bypass.port === port && sameWorkload(bypass.to, to))?.reason;
}

/**
 * Whether the workload's pods carry a Linkerd proxy: its namespace is injected and its pods are
 * not on the host network (the proxy injector skips `hostNetwork` pods, and their traffic does
 * not pass a pod's iptables).
 */
export function isMeshedWorkload(plan: NetworkPlan, workload: Workload): boolean {
  return plan.mesh !== undefined && plan.mesh.isMeshedNamespace(workload.namespace) && !workload.hostNetwork;
}

/** The ServiceAccount the workload's pods run as (the first, when they run as several). */
export function serviceAccountOf(workload: Workload): string {
  return workload.serviceAccount ?? workload.serviceAccounts?.[0] ?? workload.name;
}

/** Every ServiceAccount the workload's pods run as: its identities with the mesh on. */
export function serviceAccountsOf(workload: Workload): readonly string[] {
  return workload.serviceAccounts ?? [serviceAccountOf(workload)];
}

export const selectorLabelOf = (workload: Workload) => workload.selectorLabel ?? NAME_LABEL;
export const isWorkload = (peer: Peer): peer is { readonly workload: Workload } => 'workload' in peer;
/** One string per workload (namespace, name, selecting label): equal exactly when `sameWorkload` holds. */
export const workloadKey = (w: Workload) => `${w.namespace}/${w.name}/${selectorLabelOf(w)}`;
export const sameWorkload = (a: Workload, b: Workload) => workloadKey(a) === workloadKey(b);

export function describePeer(peer: Peer): string {
  return 'workload' in peer ? `${peer.workload.namespace}/${peer.workload.name}` : peer.network.name;
}

/** A port of a workload by its declared name; fails on a name the workload does not declare. */
export function portOf(workload: Workload, name: string): number {
  const port = workload.ports?.[name];
  if (port === undefined) {
    throw new Error(`workload ${workload.namespace}/${workload.name}: no port named "${name}"; declared: ${Object.keys(workload.ports ?? {}).join(', ') || '(none)'}`);
  }
  return port;
}

/** `from` may open TCP connections to the named ports of `to`. */
export function connect(from: Peer, to: Workload, portNames: readonly string[], purpose: string): Connection {
  return { from, to: { workload: to }, ports: portNames.map((name) => ({ port: portOf(to, name) })), purpose };
}

// ---- well-known peers -------------------------------------------------------------------

/** CoreDNS as k3s deploys it. */
export const KUBE_DNS: Workload = { namespace: 'kube-system', name: 'kube-dns', selectorLabel: 'k8s-app', ports: { dns: 53 } };

/**
 * The Prometheus that scrapes every metrics port. Rendered by the monitoring service (a later
 * issue), which must use this namespace and name; the targets declare `scrapedBy` today.
 */
export const PROMETHEUS: Workload = { namespace: 'monitoring', name: 'prometheus' };

/**
 * The NGINX Ingress Controller (charts/core/nginx-ingress.ts): the only way in from outside.
 * `gateway` is the port only the gateway's HAProxy uses (PROXY protocol, decision 0069).
 */
export const INGRESS_CONTROLLER: Workload = {
  namespace: 'nginx-ingress',
  name: 'nginx-ingress',
  ports: { http: 80, https: 443, gateway: INGRESS_GATEWAY_PORT, readiness: 8081, metrics: 9113 },
};

/** Any address: only for the public entry point. */
export const ANYWHERE: Network = { name: 'anywhere', cidrs: [{ cidr: '0.0.0.0/0' }] };

/** Private and shared address space, never reached through an "internet" rule. */
const NON_PUBLIC = ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'];

/** Public addresses only: whatever the rule allows cannot reach the LAN, the mesh or the cluster. */
export const INTERNET: Network = { name: 'internet', cidrs: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC }] };

/** Single addresses as a network. */
export function hosts(name: string, addresses: readonly string[]): Network {
  return { name, cidrs: [...new Set(addresses)].sort().map((address) => ({ cidr: `${address}/32` })) };
}

function serverNode(platform: Platform) {
  const entry = Object.entries(platform.nodes).find(([, node]) => node.role === 'server');
  if (!entry) throw new Error('nodes: no node has role "server"; the API server address is unknown');
  return entry[1];
}

/** The first address of the service network: the `kubernetes` Service's ClusterIP. */
export function kubernetesServiceIp(platform: Platform): string {
  const range = parseCidr(platform.cluster.serviceCidr);
  if (!range) throw new Error(`cluster.serviceCidr: "${platform.cluster.serviceCidr}" is not a CIDR`);
  return intToIpv4(range.first + 1);
}

/**
 * Egress to the Kubernetes API: the ClusterIP of `kubernetes` (443) and, because the policy
 * controller sees the address after kube-proxy's DNAT, the server node itself (6443).
 */
export function kubeApiAccess(from: Workload, platform: Platform): Connection[] {
  const server = serverNode(platform);
  return [
    { from: { workload: from }, to: { network: hosts('kubernetes service', [kubernetesServiceIp(platform)]) }, ports: [{ port: 443 }], purpose: 'Kubernetes API (service address)' },
    { from: { workload: from }, to: { network: hosts('kubernetes api server', [server.meshAddress, server.lanAddress]) }, ports: [{ port: 6443 }], purpose: 'Kubernetes API (server node, after DNAT)' },
  ];
}

/** The name of the network `apiServerCallers` returns, shown in the policies' connection annotations. */
export const API_SERVER_CALLERS = 'kubernetes api server';


/**
 * The addresses the API server calls admission webhooks from, and nothing else of the pod network
 * (decision 0081). The API server runs inside the k3s server process, on the server node's host
 * network. In k3s' default egress selector mode, `agent` (k3s-io/k3s pkg/cli/cmds/server.go), it
 * dials a webhook Service's endpoint directly from that host, so the source is the server's flannel
 * address: `flannel.1` (its pod subnet's network address) towards pods of other nodes, `cni0` (the
 * subnet's first address) towards its own pods, or its node address where the route picks that.
 * (In modes `pod` and `cluster` the agent on the webhook's own node dials it, and traffic from a
 * pod's local node is always admitted: k8s.io/api networking/v1 NetworkPolicySpec.Ingress.) The
 * server registers first, so kube-controller-manager hands it the first /24 of `cluster.podCidr`;
 * no pod ever gets either flannel address (host-local IPAM hands out from the third), so no
 * ordinary pod matches.
 */
export function apiServerCallers(platform: Platform): Network {
  const server = serverNode(platform);
  // The schema guarantees a valid CIDR with at least one /24 per node (config/schema.ts).
  const pods = parseCidr(platform.cluster.podCidr)!;
  const flannel = intToIpv4(pods.first);
  const bridge = intToIpv4(pods.first + 1);
  return hosts(API_SERVER_CALLERS, [server.meshAddress, server.lanAddress, flannel, bridge]);
}

/** The usual pair every workload needs: DNS through CoreDNS. */
export function dnsAccess(from: Workload): Connection {
  return {
    from: { workload: from },
    to: { workload: KUBE_DNS },
    ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
    purpose: 'DNS',
  };
}

/** Prometheus scrapes the named metrics port. */
export function scrapedBy(target: Workload, portName = 'metrics'): Connection {
  return connect({ workload: PROMETHEUS }, target, [portName], 'metrics scrape');
}

/** The ingress controller forwards to this backend port (for an Ingress of ours). */
export function exposedThroughIngress(backend: Workload, portName: string): Connection {
  return connect({ workload: INGRESS_CONTROLLER }, backend, [portName], `ingress backend (${backend.name})`);
}

// ---- rendering ----------------------------------------------------------------------------

interface PolicyPeer {
  podSelector?: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  port: number;
  endPort?: number;
  protocol: string;
}

function peersOf(peer: Peer, namespace: string): PolicyPeer[] {
  if ('network' in peer) {
    return peer.network.cidrs.map(({ cidr, except }) => ({ ipBlock: { cidr, ...(except?.length ? { except: [...except] } : {}) } }));
  }
  const { workload } = peer;
  const podSelector = { matchLabels: { [selectorLabelOf(workload)]: workload.name } };
  // Same namespace: a bare podSelector. Another namespace: both selectors in ONE peer (an AND).
  return workload.namespace === namespace
    ? [{ podSelector }]
    : [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: workload.namespace } }, podSelector }];
}

function portsOf(ports: readonly PortRange[]): PolicyPort[] {
  return ports.map((p) => ({ port: p.port, ...(p.endPort !== undefined ? { endPort: p.endPort } : {}), protocol: p.protocol ?? 'TCP' }));
}

/**
 * The ports of a connection as the NetworkPolicy sees them. Between two meshed pods the client's
 * proxy connects to the server's proxy on its inbound port instead of the application's port
 * (https://linkerd.io/2-edge/common-errors/network-policy/; the install's default
 * `proxy.outboundTransportMode: transport-header` makes the destination controller hint every
 * meshed endpoint's inbound port, except the proxy's own ports and skipped ones: linkerd/linkerd2@edge-26.8.3
 * controller/cmd/destination/main.go, controller/api/destination/endpoint_translator.go), so a TCP
 * connection between meshed workloads also allows that port, on both halves. The application's
 * ports stay: a pod's traffic that bypasses the proxy keeps them.
 */
function connectionPortsOf(connection: Connection, plan: NetworkPlan): PolicyPort[] {
  const ports = portsOf(connection.ports);
  const meshed =
    plan.mesh !== undefined &&
    isWorkload(connection.from) &&
    isWorkload(connection.to) &&
    isMeshedWorkload(plan, connection.from.workload) &&
    isMeshedWorkload(plan, connection.to.workload) &&
    ports.some(
      (p) =>
        p.protocol === 'TCP' &&
        !plan.mesh!.proxyOwnPorts.includes(p.port) &&
        proxyBypassOf(plan, (connection.to as { workload: Workload }).workload, p.port) === undefined,
    );
  return meshed ? [...ports, { port: plan.mesh!.proxyInboundPort, protocol: 'TCP' }] : ports;
}

export interface NamespacePoliciesProps {
  readonly namespace: string;
  /** The workloads running in the namespace; each gets one policy. */
  readonly workloads: readonly Workload[];
  readonly plan: NetworkPlan;
}

/**
 * The namespace's default deny plus, per workload, one policy (selected by one label, both
 * policy types) holding exactly the ingress and egress rules of the connections it is part of.
 */
export class NamespacePolicies extends Construct {
  constructor(scope: Construct, id: string, props: NamespacePoliciesProps) {
    super(scope, id);
    const { namespace } = props;

    new ApiObject(this, 'default-deny', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace, labels: standardLabels('default-deny', 'network-policy') },
      // No rules: every pod of the namespace is isolated in both directions.
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });

    const local = props.workloads;
    for (const workload of local) {
      if (workload.namespace !== namespace) {
        throw new Error(`namespace ${namespace}: workload ${workload.namespace}/${workload.name} belongs to another namespace`);
      }
    }
    // A connection that names a workload of this namespace that is not declared is a typo.
    for (const connection of props.plan.connections) {
      for (const peer of [connection.from, connection.to]) {
        if (isWorkload(peer) && peer.workload.namespace === namespace && !local.some((w) => sameWorkload(w, peer.workload))) {
          throw new Error(`namespace ${namespace}: connection "${connection.purpose}" names workload ${peer.workload.name}, which the namespace does not run; declare it or fix the connection`);
        }
      }
    }

    for (const workload of [...local].sort((a, b) => a.name.localeCompare(b.name))) {
      const incoming = props.plan.connections.filter((c) => isWorkload(c.to) && sameWorkload(c.to.workload, workload));
      const outgoing = props.plan.connections.filter((c) => isWorkload(c.from) && sameWorkload(c.from.workload, workload));
      if (incoming.length === 0 && !workload.receivesNothing) {
        throw new Error(`workload ${namespace}/${workload.name}: no connection reaches it; declare one (e.g. its metrics scrape) or mark it receivesNothing`);
      }
      if (outgoing.length === 0 && !workload.sendsNothing) {
        throw new Error(`workload ${namespace}/${workload.name}: it may connect nowhere (not even DNS); declare its connections or mark it sendsNothing`);
      }
      const lines = [
        ...incoming.map((c) => `from ${describePeer(c.from)}: ${c.purpose}`),
        ...outgoing.map((c) => `to ${describePeer(c.to)}: ${c.purpose}`),
      ];
      new ApiObject(this, `allow-${workload.name}`, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: `allow-${workload.name}`,
          namespace,
          labels: standardLabels(`allow-${workload.name}`, 'network-policy'),
          annotations: { [CONNECTIONS_ANNOTATION]: lines.join('\n') },
        },
        spec: {
          podSelector: { matchLabels: { [selectorLabelOf(workload)]: workload.name } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: incoming.map((c) => ({ from: peersOf(c.from, namespace), ports: connectionPortsOf(c, props.plan) })),
          egress: outgoing.map((c) => ({ to: peersOf(c.to, namespace), ports: connectionPortsOf(c, props.plan) })),
        },
      });
    }
  }
}
