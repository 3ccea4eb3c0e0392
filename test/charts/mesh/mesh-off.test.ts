/**
 * `serviceMesh.enabled` is an option: turned off, the platform renders as it did before the mesh
 * existed. A whole-render property, so both renders are compared file by file: the render with the
 * mesh, minus the mesh's own objects and the mesh's marks on shared objects, must equal the render
 * without it. Anything else the option changed fails, naming the file.
 *
 * The reduction takes out exactly what the mesh adds, found by the names the mesh code exports
 * (never by comparing with the render without it): its services' files and Applications, its
 * policy resources, its namespace annotations, the connections to its control plane and the
 * proxies' ports in NetworkPolicies, Prometheus' scrape jobs of the proxies and the control plane
 * and the discovery grants only they need, the mesh's rule groups and the exclusion of its trust
 * chain from the generic certificate alerts, Grafana's Service mesh dashboard, and the inventory's
 * rows and section. A configuration file is reduced by its content and written again through the
 * project's one YAML writer; the pods' config checksums are then recomputed from the reduced files.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RenderedFiles } from '../../../cli/render';
import { MESH_SECTION_HEADING } from '../../../cli/inventory';
import { MESH_SERVICES } from '../../../charts/catalogue';
import { CNI_NAMESPACE } from '../../../charts/mesh/linkerd';
import { INJECT_ANNOTATION, LINKERD_NAMESPACE, PROXY_PORTS, SKIP_OUTBOUND_PORTS_ANNOTATION, TRUST_MANAGER } from '../../../charts/lib/service-mesh';
import { DEFAULT_INBOUND_POLICY_ANNOTATION } from '../../../charts/lib/mesh-policy';
import { CONNECTIONS_ANNOTATION } from '../../../charts/lib/network';
import { PROMETHEUS_SERVER } from '../../../charts/lib/prometheus';
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum } from '../../../charts/lib/workload';
import { CONTROL_PLANE_TARGETS, PROXY_JOB, PROXY_SCRAPE_PURPOSE, withoutMeshCertificates } from '../../../charts/observability/mesh';
import { MESH_ALERT_GROUP, MESH_TRAFFIC_GROUP } from '../../../charts/observability/rules/mesh';
import { MESH as MESH_DASHBOARD } from '../../../charts/observability/dashboards/mesh';
import { toYaml } from '../../../common/yaml';
import { CHARTS } from '../../../config/versions';
import { renderWithMesh } from '../../support/render';

const MESH_NAMES = new Set(MESH_SERVICES.map((service) => service.name));
const MESH_NAMESPACES = new Set([LINKERD_NAMESPACE, CNI_NAMESPACE]);
const MESH_REPOS = new Set<string>([CHARTS.linkerdControlPlane.repoURL]);
/** Prometheus' jobs of the mesh: the proxies' and one per control-plane component (charts/observability/mesh.ts). */
const MESH_JOBS = new Set([PROXY_JOB, ...CONTROL_PLANE_TARGETS.map(([workload]) => workload.name)]);
/** The mesh's rule groups, one rule file each (`<group>.yaml`, charts/observability/prometheus.ts). */
const MESH_RULE_GROUPS = new Set([MESH_TRAFFIC_GROUP, MESH_ALERT_GROUP]);
/** Grafana's file of the Service mesh dashboard (`<uid>.json`, charts/observability/grafana.ts). */
const MESH_DASHBOARD_FILE = `${MESH_DASHBOARD.uid}.json`;
/** cert-manager's expiry metric, which the generic certificate alerts read. */
const CERTIFICATE_EXPIRY = 'certmanager_certificate_expiration_timestamp_seconds';
/** Prometheus' configuration file in its ConfigMap. */
const PROMETHEUS_CONFIG = 'prometheus.yml';
/** Kubernetes service discovery roles that list objects of namespaces (`node` is cluster-scoped). */
const NAMESPACED_ROLES = new Set(['pod', 'service', 'endpoints', 'endpointslice', 'ingress']);
const PROMETHEUS_PEER = `${PROMETHEUS_SERVER.namespace}/${PROMETHEUS_SERVER.name}`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A file only the mesh renders: its services' folders and Applications, trust-manager's policy. */
function meshOwnFile(path: string, object: Json | undefined): boolean {
  const [, , folder, file] = path.split('/');
  if (MESH_NAMES.has(folder)) return true;
  if (folder === 'apps' && MESH_NAMES.has(file.replace(/^application-|\.yaml$/g, ''))) return true;
  if (String(object?.apiVersion ?? '').startsWith('policy.linkerd.io/')) return true;
  return object?.kind === 'NetworkPolicy' && object.metadata.namespace === TRUST_MANAGER.namespace && object.spec.podSelector?.matchLabels?.[TRUST_MANAGER.selectorLabel!] === TRUST_MANAGER.name;
}

/**
 * A YAML file of a ConfigMap, changed and written again through the project's one writer. When
 * the writer would not give back the file's own bytes unchanged, the file is left as it is (and
 * the comparison names its ConfigMap): a reduction must not reformat what it does not take out.
 */
function rewriteYaml(text: string, change: (document: Json) => Json): string {
  const document = parse(text) as Json;
  return toYaml(document) === text ? toYaml(change(document)) : text;
}

/** The namespaces a scrape job discovers objects in; `*` when it discovers them cluster-wide. */
function discoveredNamespaces(job: Json): string[] {
  return (job.kubernetes_sd_configs ?? []).filter((sd: Json) => NAMESPACED_ROLES.has(sd.role)).flatMap((sd: Json) => sd.namespaces?.names ?? ['*']);
}

/** What the reduction reads of the meshed render's Prometheus configuration. */
interface ScrapePlan {
  /** Namespaces whose discovery grant exists for the mesh's jobs alone. */
  readonly meshOnlyNamespaces: ReadonlySet<string>;
}

/**
 * The namespaces only the mesh's jobs discover pods in, from the meshed render's prometheus.yml:
 * discovered by a job of the mesh and by no other job (nor by one discovering cluster-wide).
 */
function scrapePlan(objects: ReadonlyMap<string, Json>): ScrapePlan {
  const configs = [...objects.values()].filter((o) => o.kind === 'ConfigMap' && o.metadata.namespace === PROMETHEUS_SERVER.namespace && typeof o.data?.[PROMETHEUS_CONFIG] === 'string');
  expect(configs, `one ConfigMap in ${PROMETHEUS_SERVER.namespace} with ${PROMETHEUS_CONFIG}`).toHaveLength(1);
  const jobs = (parse(configs[0].data[PROMETHEUS_CONFIG]) as Json).scrape_configs as Json[];
  const ofMesh = new Set(jobs.filter((job) => MESH_JOBS.has(job.job_name)).flatMap(discoveredNamespaces));
  const ofOthers = new Set(jobs.filter((job) => !MESH_JOBS.has(job.job_name)).flatMap(discoveredNamespaces));
  return { meshOnlyNamespaces: ofOthers.has('*') ? new Set() : new Set([...ofMesh].filter((ns) => ns !== '*' && !ofOthers.has(ns))) };
}

/** Prometheus' pod-discovery grant in a namespace (charts/observability/prometheus.ts PrometheusDiscovery). */
const isDiscoveryGrant = (object: Json) =>
  object.kind === 'RoleBinding' && object.roleRef?.kind === 'ClusterRole' && same(object.subjects, [{ kind: 'ServiceAccount', name: PROMETHEUS_SERVER.name, namespace: PROMETHEUS_SERVER.namespace }]);

/** A rule of a meshed connection also allows the proxy's inbound port (charts/lib/mesh-policy.ts). */
const withoutProxyPort = (rule: Json) => (rule.ports ? { ...rule, ports: rule.ports.filter((port: Json) => port.port !== PROXY_PORTS.inbound) } : rule);

const toMesh = (peer: Json) => MESH_NAMESPACES.has(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']);

/**
 * Whether a connection of a workload's policy is the mesh's: to or from its control plane (every
 * peer of the rule in a mesh namespace), or Prometheus' scrape of a proxy (its purpose, from or to
 * Prometheus, and nothing but the proxy's admin port).
 */
function meshConnection(policy: Json, line: string, rule: Json): boolean {
  const [, direction, peer, purpose] = /^(from|to) (.*?): (.*)$/s.exec(line) ?? [];
  const peers: Json[] = (direction === 'from' ? rule.from : rule.to) ?? [];
  if (MESH_NAMESPACES.has(peer?.split('/')[0]) && peers.length > 0 && peers.every(toMesh)) return true;
  if (purpose !== PROXY_SCRAPE_PURPOSE || !same(rule.ports, [{ port: PROXY_PORTS.admin, protocol: 'TCP' }])) return false;
  const ofPrometheus = policy.metadata.namespace === PROMETHEUS_SERVER.namespace && Object.values(policy.spec.podSelector?.matchLabels ?? {}).includes(PROMETHEUS_SERVER.name);
  return direction === 'from' ? peer === PROMETHEUS_PEER : ofPrometheus;
}

/**
 * A workload's policy without the mesh's connections. It holds one rule per connection, in the
 * order of its connections annotation: the incoming lines are the ingress rules, the outgoing
 * ones the egress rules (charts/lib/network.ts NamespacePolicies), so a connection's line and rule
 * go together. A policy whose lines and rules do not pair is left as it is.
 */
function withoutMeshConnections(policy: Json): void {
  const annotations = policy.metadata.annotations;
  const note: string | undefined = annotations?.[CONNECTIONS_ANNOTATION];
  if (note === undefined) return;
  const lines = note === '' ? [] : note.split('\n');
  const incoming = lines.filter((line) => line.startsWith('from '));
  const outgoing = lines.filter((line) => line.startsWith('to '));
  const { ingress = [], egress = [] } = policy.spec as { ingress?: Json[]; egress?: Json[] };
  if (incoming.length + outgoing.length !== lines.length || incoming.length !== ingress.length || outgoing.length !== egress.length) return;
  const keptIn = incoming.map((line, i) => !meshConnection(policy, line, ingress[i]));
  const keptOut = outgoing.map((line, i) => !meshConnection(policy, line, egress[i]));
  annotations[CONNECTIONS_ANNOTATION] = [...incoming.filter((_, i) => keptIn[i]), ...outgoing.filter((_, i) => keptOut[i])].join('\n');
  if (policy.spec.ingress) policy.spec.ingress = ingress.filter((_, i) => keptIn[i]).map(withoutProxyPort);
  if (policy.spec.egress) policy.spec.egress = egress.filter((_, i) => keptOut[i]).map(withoutProxyPort);
}

/** Prometheus' configuration without the mesh's scrape jobs. */
const withoutMeshJobs = (config: Json) => ({ ...config, scrape_configs: config.scrape_configs.filter((job: Json) => !MESH_JOBS.has(job.job_name)) });

/** The absence of a job's targets, as the generic ScrapeTargetMissing alert lists every job (charts/observability/rules/platform.ts). */
const MESH_JOB_ABSENCES = new Set([...MESH_JOBS].map((job) => `absent(up{job="${job}"})`));

/**
 * A generic alert's expression without the mesh's marks: the exclusion of the trust chain from
 * the certificate alerts, and the mesh's jobs among the `or`-joined absences of every job.
 */
const withoutMeshTerms = (expr: string) =>
  expr
    .replaceAll(withoutMeshCertificates(CERTIFICATE_EXPIRY), CERTIFICATE_EXPIRY)
    .split(' or ')
    .filter((term) => !MESH_JOB_ABSENCES.has(term))
    .join(' or ');

/** A rule file without the mesh's groups, and the other groups' expressions without the mesh's terms. */
const withoutMeshRules = (file: Json) => ({
  ...file,
  groups: file.groups
    .filter((group: Json) => !MESH_RULE_GROUPS.has(group.name))
    .map((group: Json) => ({ ...group, rules: group.rules.map((rule: Json) => (typeof rule.expr === 'string' ? { ...rule, expr: withoutMeshTerms(rule.expr) } : rule)) })),
});

/** A ConfigMap's files without the mesh's: Prometheus' jobs and rules, Grafana's dashboard (all in the monitoring namespace). */
function withoutMeshFiles(configMap: Json): void {
  const data: Record<string, string> | undefined = configMap.data;
  if (!data || configMap.metadata.namespace !== PROMETHEUS_SERVER.namespace) return;
  delete data[MESH_DASHBOARD_FILE];
  if (typeof data[PROMETHEUS_CONFIG] === 'string') data[PROMETHEUS_CONFIG] = rewriteYaml(data[PROMETHEUS_CONFIG], withoutMeshJobs);
  for (const [key, text] of Object.entries(data)) {
    const file = key.endsWith('.yaml') ? (parse(text) as Json | null) : null;
    if (!Array.isArray(file?.groups)) continue;
    // A rule file of the mesh's groups alone is the mesh's (one file per group).
    if (file.groups.every((group: Json) => MESH_RULE_GROUPS.has(group.name))) delete data[key];
    else data[key] = rewriteYaml(text, withoutMeshRules);
  }
}

/** Removes the mesh's marks from an object it shares with the platform without the mesh. */
function withoutMeshMarks(object: Json): Json {
  if (object.kind === 'Namespace' && object.metadata.annotations) {
    for (const key of [...Object.keys(INJECT_ANNOTATION), SKIP_OUTBOUND_PORTS_ANNOTATION, DEFAULT_INBOUND_POLICY_ANNOTATION]) delete object.metadata.annotations[key];
    if (Object.keys(object.metadata.annotations).length === 0) delete object.metadata.annotations;
  }
  if (object.kind === 'NetworkPolicy') withoutMeshConnections(object);
  if (object.kind === 'ConfigMap') withoutMeshFiles(object);
  if (object.kind === 'AppProject') {
    object.spec.destinations = object.spec.destinations.filter((d: Json) => !MESH_NAMESPACES.has(d.namespace));
    object.spec.sourceRepos = object.spec.sourceRepos.filter((repo: string) => !MESH_REPOS.has(repo));
    object.spec.clusterResourceWhitelist = object.spec.clusterResourceWhitelist?.filter((gk: Json) => gk.group !== 'trust.cert-manager.io');
  }
  return object;
}

const podTemplateOf = (object: Json): Json | undefined => object.spec?.jobTemplate?.spec?.template ?? object.spec?.template;

/**
 * The config checksum of every pod whose mounted ConfigMaps the reduction changed, recomputed from
 * the reduced files (charts/lib/workload.ts `configChecksum`), rather than stripped: the pod's
 * annotation must first be the checksum of its files in the meshed render, so a checksum the mesh
 * changed for any other reason still fails the comparison.
 */
function recomputeChecksums(before: ReadonlyMap<string, Json>, after: Map<string, Json>): void {
  const configMaps = (objects: Iterable<Json>) => new Map([...objects].filter((o) => o.kind === 'ConfigMap').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.data ?? {}]));
  const original = configMaps(before.values());
  const reduced = configMaps(after.values());
  for (const object of after.values()) {
    const template = podTemplateOf(object);
    const checksum = template?.metadata?.annotations?.[CONFIG_CHECKSUM_ANNOTATION];
    if (!template || checksum === undefined) continue;
    const mounted = (template.spec.volumes ?? []).flatMap((v: Json) => (v.configMap ? [`${object.metadata.namespace}/${v.configMap.name}`] : []));
    if (mounted.every((ref: string) => same(original.get(ref), reduced.get(ref)))) continue;
    const files = (maps: Map<string, Record<string, string>>) => Object.assign({}, ...mounted.map((ref: string) => maps.get(ref) ?? {}));
    if (checksum === configChecksum(files(original))) template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION] = configChecksum(files(reduced));
  }
}

/** The inventory without the mesh's rows and its Service mesh section (up to the next section). */
function withoutMeshInventory(text: string): string {
  const lines = text.split('\n').filter((line) => !MESH_NAMES.has(line.split('|')[2]?.trim() ?? ''));
  const at = lines.indexOf(MESH_SECTION_HEADING);
  if (at < 0) return lines.join('\n');
  const next = lines.findIndex((line, i) => i > at && line.startsWith('## '));
  // A section starts with a blank line; the next one keeps its own (the file's last newline likewise).
  const start = lines[at - 1] === '' ? at - 1 : at;
  const end = next < 0 ? lines.length - 1 : next - 1;
  return [...lines.slice(0, start), ...lines.slice(end)].join('\n');
}

/** The render with the mesh, reduced to what the render without it must be. */
function reduceToUnmeshed(files: RenderedFiles): Map<string, unknown> {
  const objects = new Map([...files].filter(([path]) => path.startsWith('k8s/')).map(([path, text]) => [path, parse(text) as Json]));
  const { meshOnlyNamespaces } = scrapePlan(objects);
  const kept = new Map<string, Json>();
  for (const [path, object] of objects) {
    if (meshOwnFile(path, object)) continue;
    if (isDiscoveryGrant(object) && meshOnlyNamespaces.has(object.metadata.namespace)) continue;
    kept.set(path, withoutMeshMarks(parse(files.get(path)!) as Json));
  }
  recomputeChecksums(objects, kept);
  const reduced = new Map<string, unknown>();
  for (const [path, text] of files) {
    if (path === 'README.md') reduced.set(path, withoutMeshInventory(text));
    else if (!path.startsWith('k8s/')) reduced.set(path, text);
    else if (kept.has(path)) reduced.set(path, kept.get(path));
  }
  return reduced;
}

function asComparable(files: RenderedFiles): Map<string, unknown> {
  return new Map([...files].map(([path, text]) => [path, path.startsWith('k8s/') ? parse(text) : text]));
}

/** The paths whose content differs, and the paths only one side has. */
function differences(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((path) => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)));
}

describe('serviceMesh.enabled: false', () => {
  const meshed = renderWithMesh(true);
  const unmeshed = renderWithMesh(false);

  it('GIVEN the seed rendered with and without the mesh WHEN the mesh is taken out of the first THEN every other file is as the second renders it', () => {
    expect(differences(reduceToUnmeshed(meshed), asComparable(unmeshed))).toEqual([]);
  });

  it('GIVEN the render without the mesh WHEN searched THEN nothing of Linkerd is in it', () => {
    const text = [...unmeshed.values()].join('\n');
    expect(text).not.toMatch(/linkerd/i);
    expect(text).not.toContain('trust-manager');
  });

  it('GIVEN the render with the mesh WHEN reduced THEN the reduction took something out (the comparison is not vacuous)', () => {
    expect(differences(asComparable(meshed), asComparable(unmeshed)).length).toBeGreaterThan(20);
  });
});
