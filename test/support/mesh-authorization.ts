/**
 * A small evaluator of Linkerd's inbound authorization over rendered objects: would the proxy of a
 * pod accept a connection from a client (its mTLS identity, if meshed, and its address) on a port?
 * Written from Linkerd's documented semantics, not from our renderer:
 * - a `Server` selects a port (by number, or by a name of the pod's ports) of the pods its
 *   podSelector matches, in its own namespace; a port no Server selects falls back to the default
 *   inbound policy (the namespace's `config.linkerd.io/default-inbound-policy`, else the cluster's)
 *   (linkerd.io/2-edge/reference/authorization-policy/#server, /features/server-policy/#default-policies);
 * - traffic to a Server's port is denied unless an `AuthorizationPolicy` targeting that Server (or
 *   the namespace) authorizes it, or the Server's `accessPolicy` allows it (default `deny`);
 * - an AuthorizationPolicy authorizes when ALL its `requiredAuthenticationRefs` are satisfied, and is
 *   ignored when one of them does not exist (the CRD's field description); any one policy suffices;
 * - a `MeshTLSAuthentication` matches a meshed client whose identity is listed (`*` matches every
 *   identity, `*.suffix` every identity in that domain) or whose ServiceAccount `identityRefs` names;
 *   a `NetworkAuthentication` matches a client whose address is in one of its networks (minus `except`),
 *   meshed or not (linkerd.io/2-edge/reference/authorization-policy/#meshtlsauthentication).
 */
import { isIpv4, parseCidr, rangeContains } from '../../config/net';
import type { KubeObject } from '../../charts/lib/service';

export interface MeshClient {
  /** The client's mTLS identity; none for a client without a proxy. */
  readonly identity?: string;
  readonly ip: string;
}

export interface MeshTarget {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly port: number;
  /** The pod's container ports by name (for a Server that names its port). */
  readonly portNames?: Readonly<Record<string, number>>;
}

export type DefaultInboundPolicy = 'all-unauthenticated' | 'all-authenticated' | 'cluster-authenticated' | 'cluster-unauthenticated' | 'deny' | 'audit';

export interface Decision {
  readonly allowed: boolean;
  /** What decided: the Server and the policy that authorized, or why nothing did. */
  readonly reason: string;
}

const POLICY_GROUP = 'policy.linkerd.io';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Spec = any;

function inCidr(ip: string, cidr: string): boolean {
  const range = parseCidr(cidr);
  if (!range || !isIpv4(ip)) throw new Error(`mesh evaluator: cannot read ${cidr} or ${ip}`);
  return rangeContains(range, ip);
}

function selects(selector: Spec, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  const matchLabels = Object.entries((selector.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v);
  const expressions = ((selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    return !has;
  });
  return matchLabels && expressions;
}

function identityMatches(pattern: string, identity: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return identity.endsWith(pattern.slice(1));
  return pattern === identity;
}

export class MeshAuthorizationEvaluator {
  private readonly byNamespace = new Map<string, KubeObject[]>();

  /**
   * @param objects every rendered object (policy.linkerd.io kinds and Namespaces are read)
   * @param clusterDefault the control plane's `proxy.defaultInboundPolicy`
   * @param identityOfServiceAccount how an `identityRefs` ServiceAccount becomes an identity
   */
  constructor(
    objects: readonly KubeObject[],
    private readonly clusterDefault: DefaultInboundPolicy,
    private readonly identityOfServiceAccount: (namespace: string, name: string) => string,
  ) {
    for (const object of objects) {
      const namespace = object.kind === 'Namespace' ? object.metadata.name : object.metadata.namespace;
      if (!namespace) continue;
      if (object.kind !== 'Namespace' && !object.apiVersion.startsWith(`${POLICY_GROUP}/`)) continue;
      this.byNamespace.set(namespace, [...(this.byNamespace.get(namespace) ?? []), object]);
    }
  }

  private objects(namespace: string, kind: string): KubeObject[] {
    return (this.byNamespace.get(namespace) ?? []).filter((o) => o.kind === kind);
  }

  /** The Server that selects the target's port, if any. */
  server(target: MeshTarget): KubeObject | undefined {
    return this.objects(target.namespace, 'Server').find((server) => {
      const spec = server.spec as Spec;
      const port = typeof spec.port === 'number' ? spec.port : target.portNames?.[spec.port];
      return port === target.port && selects(spec.podSelector, target.labels);
    });
  }

  decide(target: MeshTarget, client: MeshClient): Decision {
    const server = this.server(target);
    if (!server) {
      const annotations = (this.objects(target.namespace, 'Namespace')[0]?.metadata.annotations ?? {}) as Record<string, string>;
      const policy = (annotations['config.linkerd.io/default-inbound-policy'] as DefaultInboundPolicy | undefined) ?? this.clusterDefault;
      return { allowed: this.defaultAllows(policy, client), reason: `no Server selects port ${target.port}: default policy ${policy}` };
    }
    const serverName = server.metadata.name;
    for (const policy of this.objects(target.namespace, 'AuthorizationPolicy')) {
      const spec = policy.spec as Spec;
      const ref = spec.targetRef ?? {};
      const targets =
        (ref.group === POLICY_GROUP && ref.kind === 'Server' && ref.name === serverName) ||
        ((ref.group ?? '') === '' && ref.kind === 'Namespace' && ref.name === target.namespace);
      if (!targets) continue;
      const refs = (spec.requiredAuthenticationRefs ?? []) as { group?: string; kind: string; name: string; namespace?: string }[];
      const results = refs.map((auth) => this.authenticates(auth, target.namespace, client));
      // A missing authentication makes the whole policy void.
      if (results.includes(undefined)) continue;
      if (results.every(Boolean)) return { allowed: true, reason: `Server ${serverName}: AuthorizationPolicy ${policy.metadata.name}` };
    }
    const accessPolicy = ((server.spec as Spec).accessPolicy ?? 'deny') as DefaultInboundPolicy;
    return { allowed: this.defaultAllows(accessPolicy, client), reason: `Server ${serverName}: no AuthorizationPolicy matches; accessPolicy ${accessPolicy}` };
  }

  /** Whether the authentication matches the client; undefined when it does not exist. */
  private authenticates(ref: { group?: string; kind: string; name: string; namespace?: string }, namespace: string, client: MeshClient): boolean | undefined {
    const ns = ref.namespace ?? namespace;
    if (ref.kind === 'ServiceAccount' && (ref.group ?? '') === '') {
      return client.identity !== undefined && client.identity === this.identityOfServiceAccount(ns, ref.name);
    }
    const object = this.objects(ns, ref.kind).find((o) => o.metadata.name === ref.name && ref.group === POLICY_GROUP);
    if (!object) return undefined;
    const spec = object.spec as Spec;
    if (ref.kind === 'MeshTLSAuthentication') {
      if (client.identity === undefined) return false;
      const identities = (spec.identities ?? []) as string[];
      const refs = (spec.identityRefs ?? []) as { kind: string; name: string; namespace?: string }[];
      return (
        identities.some((pattern) => identityMatches(pattern, client.identity!)) ||
        refs.some((r) => r.kind === 'ServiceAccount' && this.identityOfServiceAccount(r.namespace ?? ns, r.name) === client.identity)
      );
    }
    if (ref.kind === 'NetworkAuthentication') {
      const networks = (spec.networks ?? []) as { cidr: string; except?: string[] }[];
      return networks.some((n) => inCidr(client.ip, n.cidr) && !(n.except ?? []).some((e) => inCidr(client.ip, e)));
    }
    return undefined;
  }

  private defaultAllows(policy: DefaultInboundPolicy, client: MeshClient): boolean {
    switch (policy) {
      case 'all-unauthenticated':
      case 'cluster-unauthenticated':
      case 'audit':
        return true;
      case 'all-authenticated':
      case 'cluster-authenticated':
        return client.identity !== undefined;
      case 'deny':
        return false;
    }
  }
}
