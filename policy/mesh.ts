/**
 * The service mesh's gates (issue 18 item 6, docs/decisions/0125). Only when the model turns the
 * mesh on; a namespace is meshed unless `UNMESHED_NAMESPACES` lists it (charts/lib/service-mesh.ts).
 *
 * - MESH-01: a meshed namespace we render carries `linkerd.io/inject: enabled`, or its pods start
 *   without a proxy (the injector acts on the namespace's or the pod's annotation).
 * - MESH-02: a pod template opts out (`linkerd.io/inject: disabled`) in a meshed namespace. Opting
 *   out is declared by listing the namespace, with its reason, in UNMESHED_NAMESPACES; host-network
 *   pods are exempt (Linkerd never injects them).
 * - MESH-03: a Server no authorization targets: every client is refused, so the declared flows
 *   it stands for are broken (or the Server is a leftover).
 * - MESH-04: an authorization for every identity: a MeshTLSAuthentication whose identities hold a
 *   `*` wildcard, or an AuthorizationPolicy that requires no authentication at all.
 * - MESH-05: a default inbound policy that admits unauthenticated clients from anywhere
 *   (`all-unauthenticated`, the chart's own default): a meshed namespace that has it, set or
 *   inherited from the cluster's default (the control plane's `proxy.defaultInboundPolicy`, or the
 *   chart's default when no value sets it); a pod template's annotation; a Server's `accessPolicy`.
 * - MESH-06: a Certificate of the trust chain (the identity issuer, the trust anchor) is no CA.
 * - CONSISTENCY-02 (cross-layer, once the render holds Servers): in a meshed namespace every port a
 *   NetworkPolicy admits has a Server for the same pods, and every Server has such a rule.
 *
 * Upstream (linkerd/linkerd2 edge-26.8.3): pkg/k8s/labels.go (`linkerd.io/inject`,
 * `config.linkerd.io/default-inbound-policy`), charts/linkerd-control-plane/values.yaml
 * (`proxy.defaultInboundPolicy`, default "all-unauthenticated"), charts/linkerd-crds/templates/
 * policy/{server,authorization-policy,meshtls-authentication,httproute}.yaml.
 */
import type { KubeObject } from '../charts/lib/service';
import { LINKERD_NAMESPACE, PROXY_PORTS, UNMESHED_NAMESPACES, isMeshed, serviceMeshEnabled } from '../charts/lib/service-mesh';
import { refOf, type PolicyInput, type Violation } from './types';
import { selects, workloads } from './k8s/workloads';
import { CEPH_CSI_NODEPLUGIN, METALLB } from '../charts/lib/host-network';
import { MESH_CERTIFICATES } from '../charts/observability/mesh';

/** Workloads of upstream charts (not rendered here) that run on the node's network (charts/lib/host-network.ts). */
const HOST_NETWORK_CHART_WORKLOADS = [METALLB, CEPH_CSI_NODEPLUGIN];

export const INJECT_ANNOTATION = 'linkerd.io/inject';
export const DEFAULT_POLICY_ANNOTATION = 'config.linkerd.io/default-inbound-policy';
/** The chart's default when `proxy.defaultInboundPolicy` is not set (values.yaml). */
export const CHART_DEFAULT_INBOUND_POLICY = 'all-unauthenticated';
const OPEN_POLICY = 'all-unauthenticated';

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
interface Ref {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

const annotationsOf = (metadata: Record<string, unknown> | undefined) => (metadata?.annotations as Record<string, string> | undefined) ?? {};

/** The pod template's metadata of a workload object (Pod itself, templates, CronJob's job template). */
function podMetadata(object: KubeObject): Record<string, unknown> | undefined {
  const spec = object.spec as Record<string, any> | undefined;
  if (object.kind === 'Pod') return object.metadata;
  return spec?.template?.metadata ?? spec?.jobTemplate?.spec?.template?.metadata;
}

/** The Linkerd control plane's Helm values, from the Application that installs its chart. */
function controlPlaneValues(objects: readonly KubeObject[]): { app: KubeObject; values: Record<string, any> }[] {
  return objects.flatMap((object) => {
    if (object.kind !== 'Application') return [];
    const spec = object.spec as { source?: Record<string, any>; sources?: Record<string, any>[] };
    const sources = spec.sources ?? (spec.source ? [spec.source] : []);
    return sources.filter((s) => s.chart === 'linkerd-control-plane').map((s) => ({ app: object, values: (s.helm?.valuesObject ?? {}) as Record<string, any> }));
  });
}

/** MESH-01 to MESH-05. */
export function meshRules(input: PolicyInput): Violation[] {
  if (!serviceMeshEnabled(input.platform)) return [];
  const violations: Violation[] = [];
  const push = (object: KubeObject, rule: string, message: string) => violations.push({ rule, ref: refOf(object), message });
  const objects = input.objects.map(({ object }) => object);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const meshed = (namespace: string | undefined) => namespace !== undefined && isMeshed(input.platform, namespace);
  // The cluster-wide default inbound policy: the control plane's values, else the chart's default.
  const explicit = controlPlaneValues(objects).map((v) => v.values.proxy?.defaultInboundPolicy as string | undefined).find((p) => p !== undefined);
  const clusterDefault = explicit
    ? { policy: explicit, source: 'the control plane\'s proxy.defaultInboundPolicy' }
    : { policy: CHART_DEFAULT_INBOUND_POLICY, source: 'the linkerd-control-plane chart\'s default' };

  for (const ns of of('Namespace')) {
    const annotations = annotationsOf(ns.metadata);
    if (meshed(ns.metadata.name) && annotations[INJECT_ANNOTATION] !== 'enabled') {
      push(ns, 'MESH-01', `is meshed but its ${INJECT_ANNOTATION} annotation is ${annotations[INJECT_ANNOTATION] ?? 'missing'}; set it to enabled, or list the namespace with its reason in UNMESHED_NAMESPACES (charts/lib/service-mesh.ts)`);
    }
    // The namespace's own default, else the cluster's: what its pods' ports without a Server admit.
    const own = annotations[DEFAULT_POLICY_ANNOTATION];
    if (own === OPEN_POLICY) {
      push(ns, 'MESH-05', `sets ${DEFAULT_POLICY_ANNOTATION}: ${OPEN_POLICY}, which admits any client without mTLS; use deny or all-authenticated and authorize the declared clients`);
    } else if (own === undefined && meshed(ns.metadata.name) && clusterDefault.policy === OPEN_POLICY) {
      push(ns, 'MESH-05', `is meshed and sets no ${DEFAULT_POLICY_ANNOTATION}, so its ports without a Server follow the cluster's default ${OPEN_POLICY} (${clusterDefault.source}), which admits any client without mTLS; annotate it deny (or set the control plane's proxy.defaultInboundPolicy)`);
    }
  }

  for (const workload of workloads(input.objects)) {
    const annotations = annotationsOf(podMetadata(workload.object));
    const namespace = workload.object.metadata.namespace;
    if (annotations[INJECT_ANNOTATION] === 'disabled' && meshed(namespace) && !workload.pod.hostNetwork) {
      push(workload.object, 'MESH-02', `opts out of the mesh (${INJECT_ANNOTATION}: disabled) in meshed namespace ${namespace}; remove the annotation, or list the namespace with its reason in UNMESHED_NAMESPACES (${Object.keys(UNMESHED_NAMESPACES).join(', ')})`);
    }
    if (annotations[DEFAULT_POLICY_ANNOTATION] === OPEN_POLICY) {
      push(workload.object, 'MESH-05', `sets ${DEFAULT_POLICY_ANNOTATION}: ${OPEN_POLICY} on its pods, which admits any client without mTLS; use deny or all-authenticated`);
    }
  }

  const authorizations = [...of('AuthorizationPolicy'), ...of('ServerAuthorization')];
  const routes = objects.filter((o) => o.kind === 'HTTPRoute' || o.kind === 'GRPCRoute');
  for (const server of of('Server')) {
    const spec = server.spec as { accessPolicy?: string };
    if (spec.accessPolicy === OPEN_POLICY) push(server, 'MESH-05', `has accessPolicy ${OPEN_POLICY}: any client reaches it without mTLS or authorization; remove it (the default is deny)`);
    const namespace = server.metadata.namespace;
    const name = server.metadata.name;
    const routesOfServer = new Set(
      routes
        .filter((r) => r.metadata.namespace === namespace && ((r.spec as { parentRefs?: Ref[] }).parentRefs ?? []).some((p) => p.kind === 'Server' && p.name === name))
        .map((r) => `${r.kind}/${r.metadata.name}`),
    );
    const authorized = authorizations.some((a) => {
      if (a.metadata.namespace !== namespace) return false;
      if (a.kind === 'ServerAuthorization') {
        const target = (a.spec as { server?: { name?: string; selector?: Selector } }).server;
        return target?.name === name || (target?.selector !== undefined && selects(target.selector, (server.metadata.labels as Record<string, string>) ?? {}));
      }
      const target = (a.spec as { targetRef?: Ref }).targetRef;
      return (target?.kind === 'Server' && target.name === name) || target?.kind === 'Namespace' || routesOfServer.has(`${target?.kind}/${target?.name}`);
    });
    if (!authorized) push(server, 'MESH-03', 'no AuthorizationPolicy targets it (nor a route of it, nor its namespace): every client is refused; authorize the declared clients or remove the Server');
  }

  // The trust chain signs: Linkerd's identity controller refuses an issuer that is no CA, and every
  // proxy certificate hangs off the anchor. cert-manager's field is `isCA` (the CRD's spelling; an
  // unknown `isCa` is pruned by the API server and the Certificate is issued as a leaf).
  for (const certificate of of('Certificate')) {
    if (!MESH_CERTIFICATES.some((c) => c.namespace === certificate.metadata.namespace && c.name === certificate.metadata.name)) continue;
    const spec = (certificate.spec ?? {}) as Record<string, unknown>;
    if (spec.isCA !== true) {
      push(certificate, 'MESH-06', `is part of Linkerd's trust chain but spec.isCA is ${JSON.stringify(spec.isCA) ?? 'missing'}${'isCa' in spec ? ' (it sets isCa, which cert-manager does not know; render the spec through the generated toJson)' : ''}; set spec.isCA: true`);
    }
  }

  for (const auth of of('MeshTLSAuthentication')) {
    for (const identity of (auth.spec as { identities?: string[] }).identities ?? []) {
      if (identity.startsWith('*')) {
        push(auth, 'MESH-04', `authenticates identity "${identity}": ${identity === '*' ? 'every meshed client' : `every identity of ${identity.slice(2)}`}; name the clients' ServiceAccounts (identityRefs) instead`);
      }
    }
  }
  for (const policy of of('AuthorizationPolicy')) {
    const required = (policy.spec as { requiredAuthenticationRefs?: Ref[] }).requiredAuthenticationRefs ?? [];
    if (required.length === 0) push(policy, 'MESH-04', 'requires no authentication (requiredAuthenticationRefs is empty): it authorizes every client; reference a MeshTLSAuthentication of the declared clients');
  }
  return violations;
}

interface NetworkPolicySpec {
  podSelector?: Selector;
  policyTypes?: string[];
  ingress?: { ports?: { port?: number | string; endPort?: number }[] }[];
}

/**
 * CONSISTENCY-02: Servers and NetworkPolicies agree in meshed namespaces. Pods are compared through
 * the selectors themselves (a Server covers a policy when its selector selects the policy's
 * matchLabels, and the reverse), so pods of upstream charts count as well. A named Server port is
 * resolved through the rendered pods it selects; the proxy's inbound and admin ports are the
 * proxy's own (no application Server stands for them). Runs once the render holds a Server (the policy part of issue 18).
 */
/** The proxy's own ports: its inbound port (meshed clients connect there) and its admin port; no application Server stands for them. */
const PROXY_OWN_PORTS = new Set<number>([PROXY_PORTS.inbound, PROXY_PORTS.admin]);

export function meshConsistencyRules(input: PolicyInput): Violation[] {
  if (!serviceMeshEnabled(input.platform)) return [];
  const objects = input.objects.map(({ object }) => object);
  const servers = objects.filter((o) => o.kind === 'Server' && isMeshed(input.platform, o.metadata.namespace ?? ''));
  if (!objects.some((o) => o.kind === 'Server')) return [];
  const violations: Violation[] = [];
  const pods = workloads(input.objects);
  const labelsOf = (selector: Selector | undefined) => selector?.matchLabels ?? {};

  /** The numeric ports a Server stands for (a named port resolves through the pods it selects). */
  const serverPorts = (server: KubeObject): number[] => {
    const spec = server.spec as { podSelector?: Selector; port?: number | string };
    if (typeof spec.port === 'number') return [spec.port];
    return [
      ...new Set(
        pods
          .filter((w) => w.object.metadata.namespace === server.metadata.namespace && selects(spec.podSelector, w.podLabels))
          .flatMap((w) => [...(w.pod.containers ?? []), ...(w.pod.initContainers ?? [])].flatMap((c) => c.ports ?? []))
          .filter((p) => p.name === spec.port)
          .map((p) => p.containerPort),
      ),
    ];
  };
  const admits = (rule: { ports?: { port?: number | string; endPort?: number }[] }, port: number) =>
    (rule.ports ?? []).some((p) => p.port === port || (typeof p.port === 'number' && p.endPort !== undefined && port >= p.port && port <= p.endPort));

  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && isMeshed(input.platform, o.metadata.namespace ?? '') && o.metadata.namespace !== LINKERD_NAMESPACE);
  for (const policy of policies) {
    const spec = policy.spec as NetworkPolicySpec;
    // Host-network pods get no proxy (Linkerd never injects them): nothing for a Server to stand for.
    // Rendered pods tell by their spec; upstream charts' pods by the host-network workloads we know.
    const selected = pods.filter((w) => w.object.metadata.namespace === policy.metadata.namespace && selects(spec.podSelector, w.podLabels));
    if (selected.length > 0 && selected.every((w) => w.pod.hostNetwork)) continue;
    const chartHostNetwork = HOST_NETWORK_CHART_WORKLOADS.some((w) => w.namespace === policy.metadata.namespace && selects(spec.podSelector, { [w.selectorLabel ?? 'app.kubernetes.io/name']: w.name }));
    if (chartHostNetwork) continue;
    const ports = [...new Set((spec.ingress ?? []).flatMap((rule) => (rule.ports ?? []).flatMap((p) => (typeof p.port === 'number' ? [p.port] : []))))].filter((p) => !PROXY_OWN_PORTS.has(p)).sort((a, b) => a - b);
    for (const port of ports) {
      const covered = servers.some(
        (s) => s.metadata.namespace === policy.metadata.namespace && selects((s.spec as { podSelector?: Selector }).podSelector, labelsOf(spec.podSelector)) && serverPorts(s).includes(port),
      );
      if (!covered) {
        violations.push({ rule: 'CONSISTENCY-02', ref: refOf(policy), message: `admits port ${port} but no Server of ${policy.metadata.namespace} selects these pods on it; the mesh refuses what the NetworkPolicy allows (render the Server from the same connection)` });
      }
    }
  }
  for (const server of servers) {
    const selector = (server.spec as { podSelector?: Selector }).podSelector;
    const ports = serverPorts(server);
    const allowed = ports.some((port) =>
      policies.some((p) => p.metadata.namespace === server.metadata.namespace && selects((p.spec as NetworkPolicySpec).podSelector, labelsOf(selector)) && ((p.spec as NetworkPolicySpec).ingress ?? []).some((rule) => admits(rule, port))),
    );
    if (!allowed) {
      violations.push({ rule: 'CONSISTENCY-02', ref: refOf(server), message: `stands for port ${ports.join(', ') || String((server.spec as { port?: unknown }).port)} but no NetworkPolicy ingress rule admits it for these pods; declare the connection, or remove the Server` });
    }
  }
  return violations;
}
