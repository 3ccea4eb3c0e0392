/**
 * A small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) over rendered objects: is a
 * connection from a source to a destination on a port allowed? A pod is isolated in a direction
 * when a policy of its namespace selects it with that policy type; an isolated pod accepts (or
 * opens) only what some rule of those policies allows; both the source's egress and the
 * destination's ingress must allow. ipBlocks match pod addresses too (kube-router, k3s' policy
 * controller, does so), so every pod carries an address from the pod network.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
import { ipv4ToInt, parseCidr } from '../../config/net';
import type { KubeObject } from '../../charts/lib/service';

type Labels = Readonly<Record<string, string>>;

interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

export interface Pod {
  readonly namespace: string;
  readonly labels: Labels;
  readonly ip: string;
}

/** A pod, or an address outside the pod network. */
export type Endpoint = { readonly pod: Pod } | { readonly ip: string };

export interface Flow {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

function selects(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const present = expression.key in labels;
    const value = labels[expression.key];
    const values = expression.values ?? [];
    if (expression.operator === 'In' && !(present && values.includes(value))) return false;
    if (expression.operator === 'NotIn' && present && values.includes(value)) return false;
    if (expression.operator === 'Exists' && !present) return false;
    if (expression.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

function inCidr(ip: string, cidr: string): boolean {
  const range = parseCidr(cidr);
  if (!range) throw new Error(`not a CIDR: ${cidr}`);
  const value = ipv4ToInt(ip);
  return value >= range.first && value <= range.last;
}

const ipOf = (endpoint: Endpoint) => ('pod' in endpoint ? endpoint.pod.ip : endpoint.ip);

export class NetworkPolicyEvaluator {
  private readonly policies: { namespace: string; spec: NetworkPolicySpec }[];
  private readonly namespaceLabels = new Map<string, Labels>();

  constructor(objects: readonly KubeObject[]) {
    this.policies = objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => ({ namespace: o.metadata.namespace!, spec: o.spec as NetworkPolicySpec }));
    for (const o of objects.filter((o) => o.kind === 'Namespace')) {
      this.namespaceLabels.set(o.metadata.name, (o.metadata.labels as Labels | undefined) ?? {});
    }
  }

  private labelsOfNamespace(name: string): Labels {
    // The API server sets this label on every namespace, rendered or not.
    return { ...(this.namespaceLabels.get(name) ?? {}), 'kubernetes.io/metadata.name': name };
  }

  private peerMatches(peer: PolicyPeer, endpoint: Endpoint, policyNamespace: string): boolean {
    if (peer.ipBlock) {
      const ip = ipOf(endpoint);
      return inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((except) => inCidr(ip, except));
    }
    if (!('pod' in endpoint)) return false;
    const { pod } = endpoint;
    const namespaceOk = peer.namespaceSelector
      ? selects(peer.namespaceSelector, this.labelsOfNamespace(pod.namespace))
      : pod.namespace === policyNamespace;
    const podOk = peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
    return namespaceOk && podOk;
  }

  private static portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === 'string') throw new Error(`named port "${p.port}": the evaluator expects port numbers`);
      return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
    });
  }

  private direction(pod: Pod, type: 'Ingress' | 'Egress', other: Endpoint, port: number, protocol: string): boolean {
    const applying = this.policies.filter(
      (p) => p.namespace === pod.namespace && selects(p.spec.podSelector, pod.labels) && (p.spec.policyTypes ?? ['Ingress']).includes(type),
    );
    if (applying.length === 0) return true; // not isolated in this direction
    return applying.some(({ namespace, spec }) =>
      (type === 'Ingress' ? spec.ingress : spec.egress)?.some((rule) => {
        const peers = type === 'Ingress' ? rule.from : rule.to;
        const peerOk = !peers || peers.length === 0 || peers.some((peer) => this.peerMatches(peer, other, namespace));
        return peerOk && NetworkPolicyEvaluator.portMatches(rule.ports, port, protocol);
      }),
    );
  }

  /** Whether the flow is allowed by both the source's egress and the destination's ingress. */
  allows(flow: Flow): boolean {
    const protocol = flow.protocol ?? 'TCP';
    const egressOk = 'pod' in flow.from ? this.direction(flow.from.pod, 'Egress', flow.to, flow.port, protocol) : true;
    const ingressOk = 'pod' in flow.to ? this.direction(flow.to.pod, 'Ingress', flow.from, flow.port, protocol) : true;
    return egressOk && ingressOk;
  }
}
