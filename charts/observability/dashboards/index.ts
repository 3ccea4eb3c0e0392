/**
 * The dashboards Grafana provisions: nodes, the cluster, Argo CD, the ingress controller,
 * backups, the platform's logs, and one per hosted service (services.ts). Queries name metrics the scrape jobs of targets.ts collect.
 */
import { dashboard, type DashboardSpec } from './builder';
import { backupsDashboard } from './backups';
import { serviceDashboards } from './services';
import { cephFill } from '../ceph-fill';
import { MESH } from './mesh';

const NODES: DashboardSpec = {
  uid: 'platform-nodes',
  title: 'Nodes',
  tags: ['platform', 'nodes'],
  description: 'CPU, memory, disk and network of every k3s node (node-exporter).',
  variables: { node: 'label_values(node_uname_info, node)' },
  rows: [
    [
      { kind: 'stat', title: 'Nodes up', width: 6, height: 4, queries: [{ expr: 'sum(up{job="node-exporter"})' }] },
      { kind: 'stat', title: 'Highest CPU use', width: 6, height: 4, unit: 'percentunit', thresholds: [0.7, 0.9], queries: [{ expr: 'max(1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m])))' }] },
      { kind: 'stat', title: 'Highest memory use', width: 6, height: 4, unit: 'percentunit', thresholds: [0.8, 0.9], queries: [{ expr: 'max(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)' }] },
      { kind: 'stat', title: 'Fullest filesystem', width: 6, height: 4, unit: 'percentunit', thresholds: [0.75, 0.9], queries: [{ expr: 'max(1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})' }] },
    ],
    [
      { kind: 'timeseries', title: 'CPU use', unit: 'percentunit', queries: [{ expr: '1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle",node=~"$node"}[5m]))', legend: '{{node}}' }] },
      { kind: 'timeseries', title: 'Memory use', unit: 'percentunit', queries: [{ expr: '1 - node_memory_MemAvailable_bytes{node=~"$node"} / node_memory_MemTotal_bytes{node=~"$node"}', legend: '{{node}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Load (1m) per CPU', queries: [{ expr: 'node_load1{node=~"$node"} / count by (node) (node_cpu_seconds_total{mode="idle",node=~"$node"})', legend: '{{node}}' }] },
      { kind: 'timeseries', title: 'Filesystem use', unit: 'percentunit', queries: [{ expr: '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs",node=~"$node"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs",node=~"$node"}', legend: '{{node}} {{mountpoint}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Network received', unit: 'Bps', queries: [{ expr: 'sum by (node, device) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|cni.*|flannel.*",node=~"$node"}[5m]))', legend: '{{node}} {{device}}' }] },
      { kind: 'timeseries', title: 'Network sent', unit: 'Bps', queries: [{ expr: 'sum by (node, device) (rate(node_network_transmit_bytes_total{device!~"lo|veth.*|cni.*|flannel.*",node=~"$node"}[5m]))', legend: '{{node}} {{device}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Disk I/O time', unit: 'percentunit', queries: [{ expr: 'rate(node_disk_io_time_seconds_total{node=~"$node"}[5m])', legend: '{{node}} {{device}}' }] },
      { kind: 'logs', title: 'Node journal', expr: '{job="node-journal", node=~"$node"}' },
    ],
  ],
};

const CLUSTER: DashboardSpec = {
  uid: 'platform-cluster',
  title: 'Cluster',
  tags: ['platform', 'kubernetes'],
  description: 'Workloads, pods, volumes and scrape targets of the k3s cluster (kube-state-metrics, kubelet, cAdvisor).',
  variables: { namespace: 'label_values(kube_namespace_status_phase, namespace)' },
  rows: [
    [
      { kind: 'stat', title: 'Pods running', width: 6, height: 4, queries: [{ expr: 'sum(kube_pod_status_phase{phase="Running"})' }] },
      { kind: 'stat', title: 'Pods not ready', width: 6, height: 4, thresholds: [1, 3], queries: [{ expr: 'sum(kube_pod_status_ready{condition="false"}) or vector(0)' }] },
      { kind: 'stat', title: 'Targets down', width: 6, height: 4, thresholds: [1, 3], queries: [{ expr: 'count(up == 0) or vector(0)' }] },
      { kind: 'stat', title: 'Firing alerts', width: 6, height: 4, thresholds: [1, 5], queries: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }] },
    ],
    [
      { kind: 'timeseries', title: 'CPU by namespace', unit: 'short', queries: [{ expr: 'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!="",namespace=~"$namespace"}[5m]))', legend: '{{namespace}}' }] },
      { kind: 'timeseries', title: 'Memory by namespace', unit: 'bytes', queries: [{ expr: 'sum by (namespace) (container_memory_working_set_bytes{container!="",namespace=~"$namespace"})', legend: '{{namespace}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Container restarts (1h)', queries: [{ expr: 'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace=~"$namespace"}[1h])) > 0', legend: '{{namespace}}/{{pod}}' }] },
      { kind: 'timeseries', title: 'Volume use', unit: 'percentunit', queries: [{ expr: '1 - kubelet_volume_stats_available_bytes{namespace=~"$namespace"} / kubelet_volume_stats_capacity_bytes{namespace=~"$namespace"}', legend: '{{namespace}}/{{persistentvolumeclaim}}' }] },
    ],
    [
      { kind: 'table', title: 'Scrape targets down', width: 24, queries: [{ expr: 'up == 0' }] },
    ],
  ],
};

const ARGOCD: DashboardSpec = {
  uid: 'platform-argocd',
  title: 'Argo CD',
  tags: ['platform', 'gitops'],
  description: 'Sync and health of every Application, reconciliation and Git activity (application controller, repo server).',
  rows: [
    [
      { kind: 'stat', title: 'Applications', width: 6, height: 4, queries: [{ expr: 'count(argocd_app_info)' }] },
      { kind: 'stat', title: 'Out of sync', width: 6, height: 4, thresholds: [1, 3], queries: [{ expr: 'count(argocd_app_info{sync_status!="Synced"}) or vector(0)' }] },
      { kind: 'stat', title: 'Not healthy', width: 6, height: 4, thresholds: [1, 3], queries: [{ expr: 'count(argocd_app_info{health_status!="Healthy"}) or vector(0)' }] },
      { kind: 'stat', title: 'Failed syncs (24h)', width: 6, height: 4, thresholds: [1, 5], queries: [{ expr: 'sum(increase(argocd_app_sync_total{phase=~"Error|Failed"}[24h])) or vector(0)' }] },
    ],
    [
      { kind: 'table', title: 'Applications', width: 24, queries: [{ expr: 'argocd_app_info' }] },
    ],
    [
      { kind: 'timeseries', title: 'Syncs by phase', queries: [{ expr: 'sum by (phase) (increase(argocd_app_sync_total[1h]))', legend: '{{phase}}' }] },
      { kind: 'timeseries', title: 'Reconciliation time (p95)', unit: 's', queries: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(argocd_app_reconcile_bucket[5m])))', legend: 'p95' }] },
    ],
    [
      { kind: 'timeseries', title: 'Git requests', queries: [{ expr: 'sum by (request_type) (rate(argocd_git_request_total[5m]))', legend: '{{request_type}}' }] },
      { kind: 'timeseries', title: 'Kubernetes API requests by the controller', queries: [{ expr: 'sum by (verb) (rate(argocd_app_k8s_request_total[5m]))', legend: '{{verb}}' }] },
    ],
  ],
};

const INGRESS: DashboardSpec = {
  uid: 'platform-ingress',
  title: 'Ingress',
  tags: ['platform', 'ingress'],
  description: 'The NGINX Ingress Controller (traffic from the gateway) and HAProxy on the gateway.',
  rows: [
    [
      { kind: 'stat', title: 'Controllers up', width: 6, height: 4, queries: [{ expr: 'sum(up{job="nginx-ingress"})' }] },
      { kind: 'stat', title: 'Gateway HAProxy up', width: 6, height: 4, queries: [{ expr: 'sum(up{job="haproxy"})' }] },
      { kind: 'stat', title: 'Requests per second', width: 6, height: 4, unit: 'reqps', queries: [{ expr: 'sum(rate(nginx_ingress_nginx_http_requests_total[5m]))' }] },
      { kind: 'stat', title: 'Active connections', width: 6, height: 4, queries: [{ expr: 'sum(nginx_ingress_nginx_connections_active)' }] },
    ],
    [
      { kind: 'timeseries', title: 'Requests per second by controller', unit: 'reqps', queries: [{ expr: 'sum by (pod) (rate(nginx_ingress_nginx_http_requests_total[5m]))', legend: '{{pod}}' }] },
      { kind: 'timeseries', title: 'Connections', queries: [{ expr: 'sum by (pod) (nginx_ingress_nginx_connections_active)', legend: '{{pod}} active' }] },
    ],
    [
      { kind: 'timeseries', title: 'Gateway: sessions per frontend', queries: [{ expr: 'sum by (proxy) (rate(haproxy_frontend_sessions_total[5m]))', legend: '{{proxy}}' }] },
      { kind: 'timeseries', title: 'Gateway: denied connections', queries: [{ expr: 'sum by (proxy) (rate(haproxy_frontend_denied_connections_total[5m]))', legend: '{{proxy}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Gateway: backend up', queries: [{ expr: 'haproxy_backend_status{state="UP"}', legend: '{{proxy}}' }] },
      { kind: 'logs', title: 'Ingress controller log', expr: '{namespace="nginx-ingress"}' },
    ],
  ],
};

const LOGS: DashboardSpec = {
  uid: 'platform-logs',
  title: 'Logs',
  tags: ['platform', 'logs'],
  description: 'Pod and node logs from Loki, by namespace.',
  rows: [
    [{ kind: 'logs', title: 'Errors in pod logs', width: 24, height: 12, expr: '{job="pods"} |~ "(?i)(error|fatal|panic)"' }],
    [{ kind: 'logs', title: 'Node journals', width: 24, height: 12, expr: '{job="node-journal"}' }],
  ],
};

export interface PlatformDashboardsOptions {
  /** Provision the service mesh dashboard. @default false */
  readonly serviceMesh?: boolean;
  /** Ceph's nearfull ratio (`ceph.nearfullRatio`), for the capacity panels. @default 0.85 - Ceph's default */
  readonly cephNearfullRatio?: number;
}

/** Every provisioned dashboard: file name (without .json) -> JSON model; the mesh's only when it is on. */
export function platformDashboards(options: PlatformDashboardsOptions = {}): Record<string, Record<string, unknown>> {
  const fill = cephFill(options.cephNearfullRatio ?? 0.85);
  const specs = [NODES, CLUSTER, ARGOCD, INGRESS, backupsDashboard(fill), LOGS, ...serviceDashboards(fill), ...(options.serviceMesh ? [MESH] : [])];
  return Object.fromEntries(specs.map((spec) => [spec.uid, dashboard(spec)]));
}
