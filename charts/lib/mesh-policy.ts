/**
 * Linkerd's authorization from the connection plan (issue 18 item 4): the same declared
 * `Connection`s that render the NetworkPolicies (charts/lib/network.ts) render, for every port a
 * meshed workload serves, one `Server` and the authorizations of exactly the declared clients:
 * a `MeshTLSAuthentication` listing the meshed clients' ServiceAccount identities, and for clients
 * without a proxy a `NetworkAuthentication` of the addresses their connections come from. Each
 * namespace renders its own half, as it does its NetworkPolicies; meshed namespaces deny every
 * port no `Server` authorizes. docs/decisions/0124-linkerd-authorization-from-the-connection-plan.md
 * says why (default policy, unmeshed clients, probes, protocols).
 *
 * Linkerd's semantics this relies on (linkerd.io/2-edge/reference/authorization-policy/):
 * - a `Server` selects one port of the pods its podSelector selects; once a Server selects a
 *   port, traffic to it is denied unless an `AuthorizationPolicy` targeting the Server authorizes it;
 * - an `AuthorizationPolicy` authorizes when ALL its `requiredAuthenticationRefs` match, and
 *   the authorizations of a Server add up (any one policy is enough);
 * - a numeric `port` selects that port whether or not a container declares it
 *   (linkerd/linkerd2@edge-26.8.3:policy-controller/k8s/index/src/inbound/index.rs `select_ports`).
 *
 * @see https://linkerd.io/2-edge/features/server-policy/
 */
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { intToIpv4, parseCidr } from '../../config/net';
import { NODE_POD_SUBNET_PREFIX } from '../../config/topology';
import { AuthorizationPolicy } from '../../imports/linkerd-authorizationpolicy-policy.linkerd.io';
import { MeshTlsAuthentication } from '../../imports/linkerd-meshtlsauthentication-policy.linkerd.io';
import { NetworkAuthentication } from '../../imports/linkerd-networkauthentication-policy.linkerd.io';
import { ServerV1Beta3 } from '../../imports/linkerd-server-policy.linkerd.io';
import { standardLabels } from './labels';
import {
  CONNECTIONS_ANNOTATION,
  describePeer,
  hosts,
  isMeshedWorkload,
  isWorkload,
  portOf,
  proxyBypassOf,
  sameWorkload,
  selectorLabelOf,
  serviceAccountsOf,
  type Connection,
  type MeshPlan,
  type MeshProtocol,
  type Network,
  type NamespacePoliciesProps,
  type NetworkPlan,
  type Workload,
} from './network';
import { isMeshed, meshIdentity, PROXY_BYPASS, PROXY_PORTS, serviceMeshEnabled } from './service-mesh';

/** The annotation that sets the inbound policy of ports no `Server` selects (on a namespace). */
export const DEFAULT_INBOUND_POLICY_ANNOTATION = 'config.linkerd.io/default-inbound-policy';

/**
 * The default inbound policy of every meshed namespace: a port is reachable only where a
 * declared connection renders a `Server` and its authorization (Linkerd's production guidance).
 */
export const MESHED_NAMESPACE_INBOUND_POLICY = 'deny';

/**
 * The ports Linkerd treats as opaque when nothing else says so: the control-plane chart's
 * `proxy.opaquePorts` (linkerd/linkerd2@edge-26.8.3:charts/linkerd-control-plane/values.yaml).
 * A `Server` without `proxyProtocol` would turn detection back on for them (policy-controller
 * k8s/index/src/inbound/server.rs `proxy_protocol`), so ours keep them opaque.
 */
export const MESH_DEFAULT_OPAQUE_PORTS: readonly number[] = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/** The Argo CD sync option on each policy object: its CRD comes from the Linkerd CRD Application. */
const SYNC_OPTIONS = { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' };

/** The API group of Linkerd's authorization objects (Server, AuthorizationPolicy, the authentications). */
export const POLICY_GROUP = 'policy.linkerd.io';

/** The mesh part of the render's plan, or none when the model leaves the service mesh off. */
export function meshPlan(platform: Platform): MeshPlan | undefined {
  if (!serviceMeshEnabled(platform)) return undefined;
  const nodes = Object.values(platform.nodes);
  return {
    isMeshedNamespace: (namespace) => isMeshed(platform, namespace),
    proxyInboundPort: PROXY_PORTS.inbound,
    proxyOwnPorts: [PROXY_PORTS.admin],
    podNetwork: { name: 'pod network', cidrs: [{ cidr: platform.cluster.podCidr }] },
    nodeNetwork: hosts('node addresses', nodes.flatMap((node) => [node.meshAddress, node.lanAddress])),
    kubeletNetwork: kubeletProbeSources(platform.cluster.podCidr),
    proxyBypass: PROXY_BYPASS,
  };
}

/**
 * The addresses the kubelet probes pods from. It dials a pod of its node from the host, which
 * routes the pod's subnet through the `cni0` bridge, so the source is the bridge's address: the
 * first host address of the node's /24 (flannel's host-local IPAM gives pods the later ones; see
 * `apiServerCallers` in charts/lib/network.ts). Which /24 a node holds is decided at run time, so
 * every /24's bridge address is listed; past 256 subnets the pod network stands in.
 */
export function kubeletProbeSources(podCidr: string): Network {
  // The schema guarantees a valid CIDR with at least one /24 per node (config/schema.ts).
  const pods = parseCidr(podCidr)!;
  const prefix = Number(podCidr.split('/')[1]);
  const subnets = 2 ** (NODE_POD_SUBNET_PREFIX - prefix);
  if (subnets > MAX_LISTED_SUBNETS) return { name: 'kubelet probes (pod network)', cidrs: [{ cidr: podCidr }] };
  const size = 2 ** (32 - NODE_POD_SUBNET_PREFIX);
  // In address order (`hosts` would sort them as text).
  return { name: 'kubelet probes (node bridge addresses)', cidrs: Array.from({ length: subnets }, (_, i) => ({ cidr: `${intToIpv4(pods.first + i * size + 1)}/32` })) };
}

/** The most node subnets listed one bridge address each (a /16 pod network). */
const MAX_LISTED_SUBNETS = 256;

/** The Namespace annotations of a meshed namespace (none for an unmeshed one or without the mesh). */
export function meshNamespaceAnnotations(plan: NetworkPlan, namespace: string): Record<string, string> {
  return plan.mesh?.isMeshedNamespace(namespace) ? { [DEFAULT_INBOUND_POLICY_ANNOTATION]: MESHED_NAMESPACE_INBOUND_POLICY } : {};
}

/** The `proxyProtocol` of a workload's port. */
export function meshProtocolOf(workload: Workload, port: number): MeshProtocol {
  const name = portNameOf(workload, port);
  const declared = name === undefined ? undefined : workload.meshProtocols?.[name];
  if (declared) return declared;
  return MESH_DEFAULT_OPAQUE_PORTS.includes(port) ? 'opaque' : 'unknown';
}

function portNameOf(workload: Workload, port: number): string | undefined {
  return Object.entries(workload.ports ?? {}).find(([, number]) => number === port)?.[0];
}

/** Who may reach one port of a server workload, from the connections that reach it. */
interface PortClients {
  readonly port: number;
  readonly connections: readonly Connection[];
  /** Identities of the meshed client workloads. */
  readonly identities: readonly string[];
  /** Networks of the clients without a proxy (network peers, unmeshed or host-network pods), with the reason each is there. */
  readonly networks: readonly { readonly network: Network; readonly reason: string }[];
}

/**
 * The clients of each TCP port of a meshed workload, by port number. A port range cannot be a
 * `Server` (one port each), so a range to a meshed workload fails the render.
 */
export function portClients(workload: Workload, plan: NetworkPlan): PortClients[] {
  const mesh = plan.mesh;
  if (!mesh || !isMeshedWorkload(plan, workload)) return [];
  const byPort = new Map<number, Connection[]>();
  for (const connection of plan.connections) {
    if (!isWorkload(connection.to) || !sameWorkload(connection.to.workload, workload)) continue;
    for (const range of connection.ports) {
      if ((range.protocol ?? 'TCP') !== 'TCP') continue; // the proxy carries TCP only
      if (range.endPort !== undefined) {
        throw new Error(
          `workload ${workload.namespace}/${workload.name}: connection "${connection.purpose}" allows ports ${range.port}-${range.endPort}, but a meshed workload's ports are authorized one by one; declare single ports`,
        );
      }
      byPort.set(range.port, [...(byPort.get(range.port) ?? []), connection]);
    }
  }
  // A port probed over HTTPS or gRPC needs its Server (and the kubelet's authorization) even
  // when no connection reaches it: the namespace's default denies it.
  const probed = new Set((workload.nonHttpProbePorts ?? []).map((name) => portOf(workload, name)));
  for (const port of probed) if (!byPort.has(port)) byPort.set(port, []);
  return [...byPort.keys()]
    .sort((a, b) => a - b)
    .map((port) => {
      const connections = byPort.get(port)!;
      const identities = new Set<string>();
      // By name and addresses; the reasons of one network add up.
      const networks = new Map<string, { network: Network; reason: string }>();
      const bypass = proxyBypassOf(plan, workload, port);
      const admit = (network: Network, reason: string) => {
        const key = `${network.name} ${JSON.stringify(network.cidrs)}`;
        const known = networks.get(key);
        networks.set(key, { network, reason: known ? `${known.reason}\n${reason}` : reason });
      };
      for (const { from, purpose } of connections) {
        if (!isWorkload(from)) {
          admit(from.network, `${from.network.name}: ${purpose}`);
        } else if (isMeshedWorkload(plan, from.workload) && bypass === undefined) {
          for (const account of serviceAccountsOf(from.workload)) identities.add(meshIdentity(from.workload.namespace, account));
        } else if (isMeshedWorkload(plan, from.workload)) {
          // Meshed, but its traffic to this port skips its proxy: no identity arrives.
          admit(mesh.podNetwork, `${describePeer(from)} (skips its proxy: ${bypass}; by ${mesh.podNetwork.name}): ${purpose}`);
        } else {
          // No proxy, so no identity: Linkerd can only tell it by address, which for a pod is
          // any address of the pod network (a host-network pod: its node's). The NetworkPolicy
          // still admits only the declared pods; decision 0124.
          const network = from.workload.hostNetwork ? mesh.nodeNetwork : mesh.podNetwork;
          admit(network, `${describePeer(from)} (${from.workload.hostNetwork ? 'host network' : 'not meshed'}, by ${network.name}): ${purpose}`);
        }
      }
      if (probed.has(port)) {
        // Linkerd's default probe route matches plain-HTTP GETs of the pod's probe paths only
        // (linkerd/linkerd2@edge-26.8.3 policy-controller/k8s/index/src/inbound/index.rs
        // `default_inbound_http_routes`); HTTPS and gRPC probes need the kubelet's addresses.
        admit(mesh.kubeletNetwork, `${mesh.kubeletNetwork.name}: kubelet probes over HTTPS or gRPC`);
      }
      return {
        port,
        connections,
        identities: [...identities].sort(),
        networks: [...networks.values()].sort((a, b) => a.network.name.localeCompare(b.network.name)),
      };
    });
}

/** The name of a workload port's `Server` (and of its authorizations): the workload and the port's name. */
export function serverName(workload: Workload, port: number): string {
  const name = portNameOf(workload, port) ?? (port === PROXY_PORTS.admin ? 'linkerd-admin' : `port-${port}`);
  return `${workload.name}-${name}`;
}

/** The same slice as the namespace's NetworkPolicies: its name, its workloads and the plan. */
export type NamespaceMeshPoliciesProps = NamespacePoliciesProps;

/**
 * The namespace's half of Linkerd's authorization: per meshed workload and served TCP port, a
 * `Server` and the authorizations of the declared clients. Renders nothing without the mesh, in
 * an unmeshed namespace, or for a host-network workload.
 */
export class NamespaceMeshPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NamespaceMeshPoliciesProps) {
    super(scope, id);
    const { namespace, plan } = props;
    if (!plan.mesh?.isMeshedNamespace(namespace)) return;

    for (const workload of [...props.workloads].sort((a, b) => a.name.localeCompare(b.name))) {
      for (const clients of portClients(workload, plan)) {
        this.renderPort(namespace, workload, clients);
      }
    }
  }

  private renderPort(namespace: string, workload: Workload, clients: PortClients) {
    const name = serverName(workload, clients.port);
    const annotations: Record<string, string> = { ...SYNC_OPTIONS };
    if (clients.connections.length > 0) annotations[CONNECTIONS_ANNOTATION] = clients.connections.map((c) => `from ${describePeer(c.from)}: ${c.purpose}`).join('\n');
    const metadata = (objectName: string, component: string, extra: Record<string, string> = {}) => ({
      name: objectName,
      namespace,
      labels: standardLabels(objectName, component),
      annotations: { ...annotations, ...extra },
    });
    new ServerV1Beta3(this, `server-${name}`, {
      metadata: metadata(name, 'mesh-server'),
      spec: {
        podSelector: { matchLabels: { [selectorLabelOf(workload)]: workload.name } },
        port: clients.port,
        proxyProtocol: meshProtocolOf(workload, clients.port),
      },
    });
    const targetRef = { group: POLICY_GROUP, kind: 'Server', name };

    if (clients.identities.length > 0) {
      const authName = `${name}-meshed`;
      new MeshTlsAuthentication(this, `meshtls-${name}`, {
        metadata: metadata(authName, 'mesh-authentication'),
        spec: { identities: [...clients.identities] },
      });
      new AuthorizationPolicy(this, `authorization-meshed-${name}`, {
        metadata: metadata(authName, 'mesh-authorization'),
        spec: { targetRef, requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: 'MeshTLSAuthentication', name: authName }] },
      });
    }
    if (clients.networks.length > 0) {
      const authName = `${name}-networks`;
      const reasons = { 'platform-synthesizer.io/unauthenticated-clients': clients.networks.map((n) => n.reason).join('\n') };
      new NetworkAuthentication(this, `network-${name}`, {
        metadata: metadata(authName, 'mesh-authentication', reasons),
        spec: {
          networks: clients.networks.flatMap(({ network }) =>
            network.cidrs.map(({ cidr, except }) => ({ cidr, ...(except?.length ? { except: [...except] } : {}) })),
          ),
        },
      });
      new AuthorizationPolicy(this, `authorization-networks-${name}`, {
        metadata: metadata(authName, 'mesh-authorization', reasons),
        spec: { targetRef, requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: 'NetworkAuthentication', name: authName }] },
      });
    }
  }
}
