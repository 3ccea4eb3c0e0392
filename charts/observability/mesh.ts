/**
 * What Prometheus watches of the service mesh (issue 18 item 5, docs/decisions/0125): the proxy
 * of every meshed workload and Linkerd's control plane. Linkerd's own Prometheus (linkerd-viz) is
 * not installed; ours scrapes the same ports. Nothing here exists when the mesh is off.
 *
 *  - The proxies: every meshed workload of the network plan gets a connection from Prometheus to
 *    its proxy's admin port (4191). One declaration per workload yields both NetworkPolicy halves
 *    (Prometheus' egress, the workload's ingress), the pod-discovery grant in its namespace and a
 *    keep rule of the one `linkerd-proxy` job, so a pod the plan does not name is not scraped.
 *  - The control plane: destination, identity and proxy-injector, each by its admin port, through
 *    the ordinary `scrapedBy` path (one job each, discovery in `linkerd`).
 *
 * Upstream facts (linkerd/linkerd2 edge-26.8.3):
 *  - charts/linkerd-control-plane/templates/{destination,identity,proxy-injector}.yaml: the pods
 *    are selected by `linkerd.io/control-plane-component`; the admin ports are `dest-admin` 9996,
 *    `ident-admin` 9990, `injector-admin` 9995;
 *  - pkg/k8s/labels.go: the injected container is `linkerd-proxy`, its metrics port `linkerd-admin`,
 *    and the injector labels each pod with its owner (`linkerd.io/proxy-deployment`,
 *    `linkerd.io/proxy-statefulset`, `linkerd.io/proxy-daemonset`, ...);
 *  - charts/linkerd-control-plane/templates/podmonitor.yaml: upstream's own scrape of the proxies
 *    keeps the container `linkerd-proxy` and the port `linkerd-admin`, as the job below does.
 * Prometheus' pod discovery lists init containers too (`__meta_kubernetes_pod_container_init`), so
 * a proxy run as a native sidecar is found the same way.
 *
 * @see https://linkerd.io/2-edge/reference/proxy-metrics/
 */
import type { Platform } from '../../config';
import { scrapedBy, workloadKey, type Connection, type Workload } from '../lib/network';
import { PROMETHEUS_SERVER } from '../lib/prometheus';
import { LINKERD_DESTINATION, LINKERD_IDENTITY, LINKERD_NAMESPACE, LINKERD_PROXY_INJECTOR, PROXY_PORTS, isMeshed, serviceMeshEnabled } from '../lib/service-mesh';

/** The control-plane components Prometheus scrapes, with the admin port of each. */
export const CONTROL_PLANE_TARGETS: readonly (readonly [Workload, string])[] = [
  [LINKERD_DESTINATION, 'admin'],
  [LINKERD_IDENTITY, 'admin'],
  [LINKERD_PROXY_INJECTOR, 'admin'],
];

/** The scrape job of every meshed workload's proxy. */
export const PROXY_JOB = 'linkerd-proxy';
/** The container and port name the injector gives the proxy (pkg/k8s/labels.go). */
export const PROXY_CONTAINER = 'linkerd-proxy';
export const PROXY_ADMIN_PORT_NAME = 'linkerd-admin';
/** How the plan marks a proxy scrape (distinct from `scrapedBy`, whose targets are one job each). */
export const PROXY_SCRAPE_PURPOSE = 'Linkerd proxy metrics (linkerd-admin)';
/** The owner kinds the injector labels pods with (`linkerd.io/proxy-<kind>`) that serve traffic. */
export const PROXY_WORKLOAD_KINDS = ['deployment', 'statefulset', 'daemonset'] as const;

/**
 * The certificates of the trust chain, as cert-manager names them in its metrics: the identity
 * issuer (where the identity controller reads its Secret) and the trust anchor, both in Linkerd's
 * namespace, where the install (charts/mesh/trust.ts, issue 18 item 2) issues them through
 * namespaced Issuers. Names as in Linkerd's guide (linkerd/website linkerd.io/content/2-edge/tasks/
 * automatically-rotating-control-plane-tls-credentials.md); the mesh test fails when the render's
 * Certificates of the chain are named otherwise.
 */
export const IDENTITY_ISSUER_CERTIFICATE = { namespace: LINKERD_NAMESPACE, name: 'linkerd-identity-issuer' } as const;
export const TRUST_ANCHOR_CERTIFICATE = { namespace: LINKERD_NAMESPACE, name: 'linkerd-trust-anchor' } as const;
export const MESH_CERTIFICATES = [IDENTITY_ISSUER_CERTIFICATE, TRUST_ANCHOR_CERTIFICATE] as const;

/**
 * A cert-manager series without the trust chain's certificates, which the mesh's own alerts
 * watch against their renewal window (rules/mesh.ts): what the generic certificate alerts
 * (rules/platform.ts) measure when the mesh is on.
 */
export function withoutMeshCertificates(series: string): string {
  const chain = MESH_CERTIFICATES.map((c) => `${series}{namespace="${c.namespace}", name="${c.name}"}`).join(' or ');
  return `(${series} unless on (namespace, name) (${chain}))`;
}

/** A scrape job as Prometheus reads it (the subset we render). */
type ScrapeConfig = Record<string, unknown> & { readonly job_name: string };


/** Prometheus' scrapes of the control plane's admin ports (none when the mesh is off). */
export function controlPlaneScrapes(platform: Platform): Connection[] {
  if (!serviceMeshEnabled(platform)) return [];
  // Prometheus is Ready without the control plane; the proxies' metrics wait for it anyway.
  return CONTROL_PLANE_TARGETS.map(([workload, port]) => ({ ...scrapedBy(workload, port), optionalAtStart: true }));
}

/**
 * Whether a workload of the plan runs a proxy that serves traffic worth measuring: its namespace
 * is meshed, it is not on the node's network (Linkerd cannot inject host-network pods), and it
 * accepts connections (a Job that only calls out has no inbound traffic, and its short-lived pods
 * would be scrape targets that vanish).
 */
function hasScrapedProxy(platform: Platform, workload: Workload): boolean {
  return isMeshed(platform, workload.namespace) && !workload.hostNetwork && !workload.receivesNothing;
}

/**
 * One connection from Prometheus to the proxy admin port of every meshed workload the plan names
 * (derived from the plan, so a workload added later is scraped without touching this file).
 */
export function proxyScrapeConnections(platform: Platform, connections: readonly Connection[]): Connection[] {
  if (!serviceMeshEnabled(platform)) return [];
  const workloads = new Map<string, Workload>();
  for (const connection of connections) {
    for (const peer of [connection.from, connection.to]) {
      if ('workload' in peer && hasScrapedProxy(platform, peer.workload) && !workloads.has(workloadKey(peer.workload))) workloads.set(workloadKey(peer.workload), peer.workload);
    }
  }
  return [...workloads]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, workload]) => ({
      from: { workload: PROMETHEUS_SERVER },
      to: { workload },
      ports: [{ port: PROXY_PORTS.admin }],
      purpose: PROXY_SCRAPE_PURPOSE,
      optionalAtStart: true,
    }));
}

/** The workloads whose proxies the plan lets Prometheus scrape. */
export function proxyTargets(connections: readonly Connection[]): Workload[] {
  return connections.flatMap((c) => (c.purpose === PROXY_SCRAPE_PURPOSE && 'workload' in c.to ? [c.to.workload] : []));
}

/** The namespaces of the scraped proxies (Prometheus needs pod discovery in each). */
export function proxyNamespaces(connections: readonly Connection[]): string[] {
  return [...new Set(proxyTargets(connections).map((w) => w.namespace))].sort();
}

/** Prometheus' name for a pod label in discovery metadata (every character outside [a-zA-Z0-9_] becomes `_`). */
export function podLabelMeta(label: string): string {
  return `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The `linkerd-proxy` job: pod discovery in the namespaces of the scraped proxies, keeping only
 * the pods of the workloads the plan names (one rule per selecting label: `namespace;value`) and
 * of those only the proxy's admin port. Series are labelled with namespace, pod, node, and the
 * owning workload (`workload`, `workload_kind`) from the injector's `linkerd.io/proxy-<kind>` label.
 * Undefined when no proxy is scraped (the mesh is off).
 */
export function proxyScrapeJob(connections: readonly Connection[]): ScrapeConfig | undefined {
  const targets = proxyTargets(connections);
  if (!targets.length) return undefined;
  const byLabel = new Map<string, string[]>();
  for (const w of targets) {
    const label = w.selectorLabel ?? 'app.kubernetes.io/name';
    byLabel.set(label, [...(byLabel.get(label) ?? []), `${escapeRegex(w.namespace)};${escapeRegex(w.name)}`]);
  }
  const MARK = '__tmp_linkerd_scraped';
  return {
    job_name: PROXY_JOB,
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: proxyNamespaces(connections) } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_container_name', '__meta_kubernetes_pod_container_port_name'], regex: `${PROXY_CONTAINER};${PROXY_ADMIN_PORT_NAME}`, action: 'keep' },
      ...[...byLabel]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([label, alternatives]) => ({
          source_labels: ['__meta_kubernetes_namespace', podLabelMeta(label)],
          regex: alternatives.length === 1 ? alternatives[0] : `(?:${[...alternatives].sort().join('|')})`,
          target_label: MARK,
          replacement: 'true',
        })),
      { source_labels: [MARK], regex: 'true', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
      ...PROXY_WORKLOAD_KINDS.flatMap((kind) => [
        { source_labels: [podLabelMeta(`linkerd.io/proxy-${kind}`)], regex: '(.+)', target_label: 'workload' },
        { source_labels: [podLabelMeta(`linkerd.io/proxy-${kind}`)], regex: '.+', target_label: 'workload_kind', replacement: kind },
      ]),
    ],
  };
}

/**
 * The proxy's metric families the platform reads (the recording rules, hence the dashboard), from
 * Linkerd's proxy metrics reference (linkerd/website linkerd.io/content/2-edge/reference/
 * proxy-metrics.md): `request_total`, `response_total` (label `classification`: success or
 * failure; `direction`: inbound or outbound) and the histogram `response_latency_ms`.
 */
export const MESH_METRIC_FAMILIES: Readonly<Record<string, readonly string[]>> = {
  [PROXY_JOB]: ['request_total', 'response_total', 'response_latency_ms_bucket', 'response_latency_ms_sum', 'response_latency_ms_count'],
};

/** A rendered object as the trust-chain check reads it. */
interface RenderedCertificate {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: unknown;
}

/**
 * The trust chain's Certificates of a render that the alerts do not watch, and the watched ones
 * the render does not have (both as `namespace/name`): a Certificate of the chain is a CA
 * (`isCA`) in Linkerd's namespace or named `linkerd-*` (the webhooks' serving certificates are no
 * CA and stay with the generic certificate alerts). Empty lists when they agree.
 */
export function unwatchedMeshCertificates(objects: readonly RenderedCertificate[]): { unwatched: string[]; missing: string[] } {
  const ref = (c: { namespace?: string; name: string }) => `${c.namespace ?? '-'}/${c.name}`;
  const watched = new Set(MESH_CERTIFICATES.map(ref));
  const chain = objects
    .filter((o) => o.kind === 'Certificate' && (o.spec as { isCA?: boolean } | undefined)?.isCA === true && (o.metadata.namespace === LINKERD_NAMESPACE || o.metadata.name.startsWith('linkerd-')))
    .map((o) => ref(o.metadata));
  return { unwatched: chain.filter((c) => !watched.has(c)).sort(), missing: [...watched].filter((c) => !chain.includes(c)).sort() };
}
