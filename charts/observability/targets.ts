/**
 * What Prometheus scrapes, derived from the model and the network plan so the scrape
 * configuration, the NetworkPolicies and the RBAC cannot disagree:
 *
 *  - in-cluster workloads: every connection declared with `scrapedBy(workload, port)` (by the
 *    service that runs the workload) becomes one job with Kubernetes pod discovery restricted to
 *    the workload's namespace and label, and a RoleBinding that lets Prometheus list pods there. A new
 *    service that declares `scrapedBy` is scraped without touching this file;
 *  - targets outside the pod network or owned by other issues, addressed directly: Prometheus
 *    itself, the Kubernetes API server, the kubelets and their cAdvisor (node discovery), CoreDNS,
 *    Vault and Velero (Service names fixed with issue 6), the Ceph managers (`ceph.monitors`
 *    hosts), HAProxy and Headscale on the gateway (over the mesh).
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config
 */
import type { Platform } from '../../config';
import { GATEWAY_PORTS, HEADSCALE_METRICS_PATH } from '../../config/gateway';
import {
  KUBE_DNS,
  PROMETHEUS,
  dnsAccess,
  hosts,
  kubeApiAccess,
  portOf,
  scrapedBy,
  type Connection,
  type NetworkPlan,
  type Workload,
  workloadKey,
} from '../lib/network';
import { VAULT_METRICS, VAULT_SERVER, vaultTlsServerName } from '../lib/vault';
// The host-network targets live below the services (decision 0110): no import of a service's module.
import { CEPH_CSI_NODEPLUGIN, METALLB } from '../lib/host-network';
import { ALERTMANAGER } from './workloads';
import { PROMETHEUS_SERVER } from '../lib/prometheus';
import { controlPlaneScrapes, proxyNamespaces, proxyScrapeJob } from './mesh';

/** The purpose `scrapedBy()` gives its connections: how the plan marks a metrics port. */
const SCRAPE_PURPOSE = scrapedBy({ namespace: '-', name: '-', ports: { metrics: 1 } }).purpose;

/** Where the service-account credentials are mounted in the Prometheus pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Velero's server (`app.kubernetes.io/name: velero`), metrics Service `velero` port 8085; issue 6 owns it. */
export const VELERO: Workload = { namespace: 'velero', name: 'velero', ports: { metrics: 8085 } };
/** k3s' CoreDNS serves its metrics on 9153 behind the `kube-dns` Service. */
const COREDNS: Workload = { ...KUBE_DNS, ports: { metrics: 9153 } };

/** Ceph's manager module `prometheus` listens on 9283 on every manager host. */
export const CEPH_MGR_PORT = 9283;
/** Ports of the kubelet (its /metrics and cAdvisor's /metrics/cadvisor) and node-exporter on every node. */
export const KUBELET_PORT = 10250;
export const NODE_EXPORTER_PORT = 9100;

/** Per-port scrape settings where a workload does not serve plain HTTP on /metrics. */
export interface ScrapeSettings {
  /** @default '/metrics' */
  readonly path?: string;
  /** @default 'http' */
  readonly scheme?: 'http' | 'https';
  /**
   * Sends Prometheus' service-account token (the target checks it with a TokenReview and asks a
   * SubjectAccessReview for `GET /metrics`, which Prometheus' ClusterRole grants). @default false
   */
  readonly serviceAccountToken?: boolean;
  /**
   * The target serves a self-signed certificate it generates at start, with no CA anyone could
   * pin: encryption without verification (the token is checked by the target, not the reverse).
   * @default false
   */
  readonly selfSignedCertificate?: boolean;
}

/** Non-default settings of in-cluster targets, by `namespace/name:port`. */
export const POD_SCRAPE_SETTINGS: Readonly<Record<string, ScrapeSettings>> = {
  // Fluent Bit serves Prometheus text on its monitoring API, not on /metrics.
  'logging/fluent-bit:http': { path: '/api/v2/metrics/prometheus' },
  // Jenkins' Prometheus plugin serves under its own URL (the plugin's default `prometheus`).
  'jenkins/jenkins:http': { path: '/prometheus/' },
  // MetalLB 0.16: controller-runtime's secure metrics, a self-signed certificate per pod
  // (charts/core/metallb.ts).
  'metallb-system/metallb:metrics': { scheme: 'https', serviceAccountToken: true, selfSignedCertificate: true },
};

/** An in-cluster scrape target found through Kubernetes pod discovery. */
export interface PodTarget {
  readonly job: string;
  readonly workload: Workload;
  readonly portName: string;
  readonly port: number;
  readonly settings: ScrapeSettings;
}

/** A scrape job as Prometheus reads it (the subset we render). */
export type ScrapeConfig = Record<string, unknown> & { readonly job_name: string };


/** Workloads scraped at a fixed address rather than discovered (pod discovery would need a RoleBinding in a namespace this render may not create). */
const STATIC_WORKLOADS = [VAULT_SERVER, VELERO, COREDNS];

/** Every `scrapedBy` connection of the plan, as pod discovery targets (one job per workload port). */
export function podTargets(plan: NetworkPlan): PodTarget[] {
  const staticKeys = new Set(STATIC_WORKLOADS.map(workloadKey));
  const seen = new Map<string, { workload: Workload; port: number }>();
  for (const c of plan.connections) {
    if (c.purpose !== SCRAPE_PURPOSE || !('workload' in c.from) || !('workload' in c.to)) continue;
    if (workloadKey(c.from.workload) !== workloadKey(PROMETHEUS)) continue;
    const workload = c.to.workload;
    if (staticKeys.has(workloadKey(workload))) continue;
    for (const { port } of c.ports) seen.set(`${workloadKey(workload)}:${port}`, { workload, port });
  }
  const entries = [...seen.values()];
  const targets = entries.map(({ workload, port }) => {
    const portName = Object.entries(workload.ports ?? {}).find(([, p]) => p === port)?.[0] ?? String(port);
    const scrapedPorts = entries.filter((e) => workloadKey(e.workload) === workloadKey(workload)).length;
    const job = portName === 'metrics' || scrapedPorts === 1 ? workload.name : `${workload.name}-${portName}`;
    return { job, workload, portName, port, settings: POD_SCRAPE_SETTINGS[`${workload.namespace}/${workload.name}:${portName}`] ?? {} };
  });
  const byJob = new Map<string, PodTarget>();
  for (const target of targets) {
    const other = byJob.get(target.job);
    if (other) {
      throw new Error(
        `scrape job "${target.job}" would cover both ${other.workload.namespace}/${other.workload.name} and ${target.workload.namespace}/${target.workload.name}; give the workloads distinct names`,
      );
    }
    byJob.set(target.job, target);
  }
  return [...byJob.values()].sort((a, b) => (a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
}

/** The namespaces Prometheus discovers pods in (one RoleBinding each). */
export function discoveryNamespaces(plan: NetworkPlan): string[] {
  // The namespaces of the scraped Linkerd proxies too (decision 0125; none when the mesh is off).
  return [...new Set([...podTargets(plan).map((t) => t.workload.namespace), ...proxyNamespaces(plan.connections)])].sort();
}

/** Keep the running pods' declared metrics port, and label every series with where it came from. */
function podJob(target: PodTarget): ScrapeConfig {
  const { workload } = target;
  return {
    job_name: target.job,
    // Exporters such as kube-state-metrics and cert-manager label series with the namespace and pod
    // they describe; those labels win over the target's own (all targets are platform components).
    honor_labels: true,
    ...(target.settings.scheme ? { scheme: target.settings.scheme } : {}),
    ...(target.settings.path ? { metrics_path: target.settings.path } : {}),
    ...(target.settings.serviceAccountToken ? { authorization: { credentials_file: `${SERVICE_ACCOUNT_DIR}/token` } } : {}),
    ...(target.settings.selfSignedCertificate ? { tls_config: { insecure_skip_verify: true } } : {}),
    kubernetes_sd_configs: [
      {
        role: 'pod',
        namespaces: { names: [workload.namespace] },
        selectors: [{ role: 'pod', label: `${workload.selectorLabel ?? 'app.kubernetes.io/name'}=${workload.name}` }],
      },
    ],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(target.port), action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
    ],
  };
}

const serviceAccountAuth = {
  authorization: { credentials_file: `${SERVICE_ACCOUNT_DIR}/token` },
  tls_config: { ca_file: `${SERVICE_ACCOUNT_DIR}/ca.crt` },
};

/** The kubelet of every node, found through node discovery, over HTTPS with Prometheus' token. */
function kubeletJob(job: string, path: string): ScrapeConfig {
  return {
    job_name: job,
    scheme: 'https',
    metrics_path: path,
    ...serviceAccountAuth,
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_address_InternalIP'], regex: '(.+)', replacement: `$1:${KUBELET_PORT}`, target_label: '__address__' },
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
    ],
  };
}

function staticJob(job: string, addresses: readonly string[], extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): ScrapeConfig {
  return { job_name: job, ...extra, static_configs: [{ targets: [...addresses], ...(Object.keys(labels).length ? { labels } : {}) }] };
}

/** The Ceph manager hosts: the monitor addresses of the model (the managers run beside them). */
export function cephManagerHosts(platform: Platform): string[] {
  return [...new Set(platform.ceph.monitors.map((m) => m.split(':')[0]))].sort();
}

/** Every node's mesh and LAN address (the kubelet and node-exporter answer on the node's own address). */
function nodeAddresses(platform: Platform): string[] {
  return Object.values(platform.nodes).flatMap((n) => [n.meshAddress, n.lanAddress]);
}

/** Scrape jobs of targets addressed directly (not through pod discovery). */
export function staticJobs(platform: Platform): ScrapeConfig[] {
  const gateway = `${platform.gateway.meshAddress}:${GATEWAY_PORTS.metrics}`;
  const host = (w: Workload, port: string) => `${w.name}.${w.namespace}.svc:${w.ports![port]}`;
  return [
    staticJob('prometheus', [`localhost:${PROMETHEUS_SERVER.ports!.http}`]),
    // The API server's own metrics (`/metrics` is a non-resource URL the ClusterRole grants).
    staticJob('apiserver', ['kubernetes.default.svc:443'], { scheme: 'https', ...serviceAccountAuth }),
    kubeletJob('kubelet', '/metrics'),
    kubeletJob('cadvisor', '/metrics/cadvisor'),
    staticJob('coredns', [host(COREDNS, 'metrics')]),
    // Vault's listener serves a Let's Encrypt certificate for its public host: verified against
    // the image's CA bundle, by that name (the address is the in-cluster Service).
    staticJob('vault', [host(VAULT_SERVER, 'https')], {
      scheme: VAULT_METRICS.scheme,
      metrics_path: VAULT_METRICS.path,
      params: VAULT_METRICS.params,
      tls_config: { server_name: vaultTlsServerName(platform) },
    }),
    staticJob('velero', [host(VELERO, 'metrics')]),
    staticJob('ceph-mgr', cephManagerHosts(platform).map((address) => `${address}:${CEPH_MGR_PORT}`)),
    staticJob('haproxy', [gateway], {}, { instance: 'gateway' }),
    staticJob('headscale', [gateway], { metrics_path: HEADSCALE_METRICS_PATH }, { instance: 'gateway' }),
  ];
}

/** Every scrape job, sorted by name. */
export function scrapeJobs(platform: Platform, plan: NetworkPlan): ScrapeConfig[] {
  const proxies = proxyScrapeJob(plan.connections);
  const jobs = [...staticJobs(platform), ...podTargets(plan).map(podJob), ...(proxies ? [proxies] : [])];
  const names = jobs.map((j) => j.job_name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new Error(`scrape job "${duplicate}" is defined twice; rename one of the workloads`);
  return jobs.sort((a, b) => (a.job_name < b.job_name ? -1 : a.job_name > b.job_name ? 1 : 0));
}

/**
 * The scraped workloads whose pods run (some or all) on the node's network: MetalLB's speaker and
 * ceph-csi's node plugin. Pod discovery finds them at the node's address, where no podSelector
 * reaches; the Prometheus test fails when a scraped `hostNetwork` workload is missing here.
 */
export const HOST_NETWORK_TARGETS: readonly Workload[] = [METALLB, CEPH_CSI_NODEPLUGIN];

/** The metrics ports of the host-network targets, sorted and without duplicates. */
function hostNetworkMetricsPorts(): number[] {
  return [...new Set(HOST_NETWORK_TARGETS.map((w) => portOf(w, 'metrics')))].sort((a, b) => a - b);
}

/**
 * Prometheus' own connections: discovery through the API, the static targets, alerts to
 * Alertmanager. The in-cluster targets declare theirs (`scrapedBy`); the host-network ones also
 * need the node addresses on their metrics ports, and only those ports.
 */
export function prometheusConnections(platform: Platform): Connection[] {
  const from = { workload: PROMETHEUS_SERVER };
  return [
    {
      from,
      to: { network: hosts('cluster nodes', nodeAddresses(platform)) },
      ports: hostNetworkMetricsPorts().map((port) => ({ port })),
      purpose: `metrics of host-network pods (${HOST_NETWORK_TARGETS.map((w) => `${w.namespace}/${w.name}`).join(', ')})`,
    },
    dnsAccess(PROMETHEUS_SERVER),
    ...kubeApiAccess(PROMETHEUS_SERVER, platform),
    { from, to: { network: hosts('cluster nodes', nodeAddresses(platform)) }, ports: [{ port: KUBELET_PORT }, { port: NODE_EXPORTER_PORT }], purpose: 'kubelet, cAdvisor and node-exporter (host network)' },
    { from, to: { network: hosts('ceph managers', cephManagerHosts(platform)) }, ports: [{ port: CEPH_MGR_PORT }], purpose: 'Ceph manager metrics' },
    { from, to: { network: hosts('gateway (mesh)', [platform.gateway.meshAddress]) }, ports: [{ port: GATEWAY_PORTS.metrics }], purpose: 'HAProxy and Headscale metrics on the gateway' },
    // Prometheus is Ready without its targets and its Alertmanager: both may come up later.
    ...[VAULT_SERVER, VELERO, COREDNS].map((w) => ({ from, to: { workload: w }, ports: Object.values(w.ports!).map((port) => ({ port })), purpose: 'metrics scrape (Service address)', optionalAtStart: true })),
    { from, to: { workload: ALERTMANAGER }, ports: [{ port: ALERTMANAGER.ports!.http }], purpose: 'alert notifications', optionalAtStart: true },
    // Linkerd's control plane (destination, identity, proxy injector), when the mesh is on (decision 0125).
    ...controlPlaneScrapes(platform),
  ];
}

/** A histogram's series (Prometheus exposition format): buckets, sum and count. */
const histogram = (name: string) => [`${name}_bucket`, `${name}_sum`, `${name}_count`];
/** A summary's series: the quantiles under the family's own name, sum and count. */
const summary = (name: string) => [name, `${name}_sum`, `${name}_count`];

/**
 * The metric families each scrape job exposes that the platform reads (dashboards, alert rules), keyed
 * by job name, each read from the exporter's upstream source or docs at the pinned version (cited
 * per job). Not every family an exporter serves: the ones a panel or rule may name. The
 * dashboards test fails when a panel or an alert rule names a metric no rendered job declares, or
 * a job declared here is not rendered. `up` and the `scrape_*` series Prometheus adds to every target are implied.
 */
export const SCRAPED_METRIC_FAMILIES: Readonly<Record<string, readonly string[]>> = {
  // Prometheus' own (prometheus/prometheus v3 rules/manager.go, notifier/notifier.go); ALERTS is
  // the series the rule manager writes for every pending or firing alert.
  prometheus: ['ALERTS', 'prometheus_rule_evaluation_failures_total', 'prometheus_notifications_errors_total'],
  // node_exporter v1.12.0: collector/cpu_linux.go, meminfo.go, filesystem_common.go,
  // loadavg.go, netdev_common.go, diskstats_common.go, uname.go.
  'node-exporter': [
    'node_cpu_seconds_total', 'node_memory_MemAvailable_bytes', 'node_memory_MemTotal_bytes',
    'node_filesystem_avail_bytes', 'node_filesystem_size_bytes', 'node_load1',
    'node_network_receive_bytes_total', 'node_network_transmit_bytes_total',
    'node_disk_io_time_seconds_total', 'node_uname_info',
  ],
  // kube-state-metrics: docs/metrics/workload/{pod,deployment,statefulset,daemonset}-metrics.md,
  // docs/metrics/cluster/{namespace,node}-metrics.md.
  'kube-state-metrics': [
    'kube_pod_status_phase', 'kube_pod_status_ready', 'kube_pod_container_status_restarts_total',
    'kube_namespace_status_phase', 'kube_node_status_condition',
    'kube_deployment_status_replicas_unavailable', 'kube_statefulset_status_replicas',
    'kube_statefulset_status_replicas_ready', 'kube_daemonset_status_number_unavailable',
    // docs/metrics/workload/{job,cronjob}-metrics.md: the backup CronJobs' alerts.
    'kube_job_failed', 'kube_job_owner', 'kube_cronjob_created', 'kube_cronjob_status_last_successful_time',
    // The same cronjob-metrics.md: Renovate's missed-run alert is silent while its CronJob is suspended.
    'kube_cronjob_spec_suspend',
  ],
  // cAdvisor inside the kubelet (google/cadvisor metrics/prometheus.go).
  cadvisor: ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes'],
  // The kubelet's volume stats (kubernetes pkg/kubelet/metrics/collectors/volume_stats.go).
  kubelet: ['kubelet_volume_stats_available_bytes', 'kubelet_volume_stats_capacity_bytes'],
  // Argo CD v3.5: controller/metrics/metrics.go (application controller), reposerver/metrics/metrics.go.
  'argocd-application-controller': ['argocd_app_info', 'argocd_app_sync_total', ...histogram('argocd_app_reconcile'), 'argocd_app_k8s_request_total'],
  'argocd-repo-server': ['argocd_git_request_total'],
  // NGINX Ingress Controller 5.x with nginx-prometheus-exporter inside (namespace nginx_ingress,
  // nginxinc/nginx-prometheus-exporter collector/nginx.go: http_requests_total, connections_active).
  'nginx-ingress': ['nginx_ingress_nginx_http_requests_total', 'nginx_ingress_nginx_connections_active'],
  // HAProxy's built-in exporter (haproxy/haproxy addons/promex/service-prometheus.c).
  haproxy: ['haproxy_frontend_sessions_total', 'haproxy_frontend_denied_connections_total', 'haproxy_backend_status'],
  // Velero v1.18: pkg/metrics/metrics.go.
  velero: [
    'velero_backup_last_successful_timestamp', 'velero_backup_last_status', 'velero_backup_success_total',
    'velero_backup_failure_total', 'velero_backup_partial_failure_total', ...histogram('velero_backup_duration_seconds'),
    // The same file: backup_location_status_gauge (1 available, 0 unavailable, per location).
    'velero_backup_location_status_gauge',
  ],
  // Ceph's mgr module `prometheus` (ceph/ceph src/pybind/mgr/prometheus/module.py: health_status,
  // DF_CLUSTER, DF_POOL, OSD_STATUS, OSD_STATS, pg states, NUM_OBJECTS). The external cluster's Ceph
  // release is not pinned by this model; these families exist since Reef.
  'ceph-mgr': [
    'ceph_health_status', 'ceph_cluster_total_bytes', 'ceph_cluster_total_used_bytes', 'ceph_cluster_total_used_raw_bytes',
    'ceph_osd_up', 'ceph_osd_in', 'ceph_osd_apply_latency_ms', 'ceph_osd_commit_latency_ms',
    'ceph_pool_stored', 'ceph_pool_max_avail', 'ceph_pool_percent_used', 'ceph_pool_rd', 'ceph_pool_wr',
    'ceph_pg_total', 'ceph_pg_active', 'ceph_pg_clean', 'ceph_num_objects_degraded', 'ceph_mon_quorum_status',
  ],
  // cert-manager's controller (cert-manager/cert-manager internal/controller/certificates/
  // metrics, pkg/metrics/metrics.go: certificate_expiration_timestamp_seconds in namespace certmanager).
  // internal/collectors/certificate_collector.go (v1.21.1): renewal_timestamp_seconds, the time after
  // which cert-manager renews (the mesh's trust-chain alerts measure lateness against it).
  'cert-manager': ['certmanager_certificate_expiration_timestamp_seconds', 'certmanager_certificate_renewal_timestamp_seconds'],
  // Alertmanager v0.32 (notify/notify.go) and Fluent Bit (src/flb_metrics, output retries).
  alertmanager: ['alertmanager_notifications_failed_total'],
  'fluent-bit': ['fluentbit_output_retries_failed_total'],
  // Vault's Prometheus telemetry on /v1/sys/metrics (hashicorp/vault
  // website/content/docs/internals/telemetry/metrics/core-system.mdx and all.mdx: vault.core.*,
  // vault.expire.*, vault.runtime.*; go-metrics' Prometheus sink turns timers into summaries).
  vault: [
    'vault_core_unsealed', ...summary('vault_core_handle_request'), ...summary('vault_core_handle_login_request'),
    'vault_expire_num_leases', 'vault_runtime_alloc_bytes', 'vault_runtime_num_goroutines',
  ],
  // postgres_exporter v0.18.1: cmd/postgres_exporter/postgres_exporter.go ("up"),
  // collector/pg_stat_database.go, collector/pg_database.go, cmd/postgres_exporter/pg_setting.go
  // (pg_settings_<name>).
  postgresql: [
    'pg_up', 'pg_stat_database_numbackends', 'pg_stat_database_xact_commit', 'pg_stat_database_xact_rollback',
    'pg_stat_database_deadlocks', 'pg_stat_database_blks_hit', 'pg_stat_database_blks_read',
    'pg_database_size_bytes', 'pg_settings_max_connections',
  ],
  // redis_exporter v1.88.0: exporter/exporter.go (INFO field -> metric maps, "up"), exporter/info.go (db_keys).
  redis: [
    'redis_up', 'redis_connected_clients', 'redis_blocked_clients', 'redis_memory_used_bytes', 'redis_memory_max_bytes',
    'redis_commands_processed_total', 'redis_rejected_connections_total', 'redis_evicted_keys_total',
    'redis_keyspace_hits_total', 'redis_keyspace_misses_total', 'redis_db_keys',
  ],
  // Jenkins' prometheus plugin (jenkinsci/prometheus-plugin src/main/java/.../collectors/
  // CollectorType.java; default namespace "default", PrometheusConfiguration.java; subsystem "jenkins").
  jenkins: [
    'default_jenkins_up', 'default_jenkins_uptime', 'default_jenkins_quietdown', 'default_jenkins_nodes_online',
    'default_jenkins_executors_available', 'default_jenkins_executors_busy', 'default_jenkins_executors_queue_length',
    ...summary('default_jenkins_builds_duration_milliseconds_summary'), 'default_jenkins_builds_failed_build_count',
    'default_jenkins_builds_success_build_count',
  ],
  // Harbor 2.15 (goharbor/harbor tests/apitests/python/test_verify_metrics_enabled.py lists what
  // each component serves; src/pkg/exporter, src/server/middleware/metric).
  exporter: ['harbor_up', 'harbor_health', 'harbor_project_total', 'harbor_project_quota_usage_byte', 'harbor_task_queue_size', 'harbor_task_queue_latency'],
  core: ['harbor_core_http_request_total', ...histogram('harbor_core_http_request_duration_seconds'), 'harbor_core_http_inflight_requests'],
  registry: ['registry_http_requests_total', ...histogram('registry_http_request_duration_seconds'), 'registry_http_in_flight_requests'],
  jobservice: ['harbor_jobservice_task_total', ...histogram('harbor_jobservice_task_process_time_seconds')],
  // GitLab 18.8 (gitlab-org/gitlab doc/administration/monitoring/prometheus/gitlab_metrics.md:
  // Rails http_requests_total/http_request_duration_seconds, Puma metrics, Sidekiq metrics;
  // workhorse/internal/helper/... http metrics: gitlab_workhorse_http_requests_total{code,method}).
  webservice: [
    'http_requests_total', ...histogram('http_request_duration_seconds'),
    'puma_active_connections', 'puma_queued_connections', 'puma_max_threads', 'puma_running_workers', 'puma_workers',
  ],
  'webservice-workhorseMetrics': ['gitlab_workhorse_http_requests_total', ...histogram('gitlab_workhorse_http_request_duration_seconds')],
  sidekiq: [
    'sidekiq_running_jobs', 'sidekiq_concurrency', 'sidekiq_jobs_failed_total',
    ...histogram('sidekiq_jobs_completion_seconds'), ...histogram('sidekiq_jobs_queue_duration_seconds'),
  ],
  // Gitaly serves go-grpc-prometheus' server metrics (grpc-ecosystem/go-grpc-prometheus server_metrics.go).
  gitaly: ['grpc_server_handled_total'],
};
