/**
 * One dashboard per service the seed hosts: GitLab, Harbor, Jenkins, Vault, PostgreSQL, Redis and
 * Ceph. Each starts with what an operator checks first (is it up), then traffic and errors,
 * latency where the service exposes it, and saturation (connections, memory, queues, storage).
 * Queries name only families `SCRAPED_METRIC_FAMILIES` (targets.ts) declares for a rendered scrape
 * job; `job` selectors keep shared names (up) to the service's own targets. Memory and volume use
 * come from cAdvisor and the kubelet, by namespace, so every service is measured the same way.
 */
import type { DashboardSpec, Panel } from './builder';
import { cephUsedStat, percent, type CephFill } from '../ceph-fill';

/** Working-set memory of the service's containers (cAdvisor), per pod. */
const memoryByPod = (namespace: string): Panel => ({
  kind: 'timeseries',
  title: 'Memory (working set) by pod',
  unit: 'bytes',
  queries: [{ expr: `sum by (pod) (container_memory_working_set_bytes{namespace="${namespace}",container!=""})`, legend: '{{pod}}' }],
});

/** Fill of the service's PersistentVolumeClaims (kubelet volume stats). */
const volumeUse = (namespace: string): Panel => ({
  kind: 'timeseries',
  title: 'Volume use',
  unit: 'percentunit',
  queries: [{ expr: `1 - kubelet_volume_stats_available_bytes{namespace="${namespace}"} / kubelet_volume_stats_capacity_bytes{namespace="${namespace}"}`, legend: '{{persistentvolumeclaim}}' }],
});

const upStat = (title: string, jobs: string, width = 6): Panel => ({
  kind: 'stat', title, width, height: 4, queries: [{ expr: `sum(up{job=~"${jobs}"})` }],
});

export const GITLAB: DashboardSpec = {
  uid: 'platform-gitlab',
  title: 'GitLab',
  tags: ['platform', 'gitlab'],
  description: 'GitLab CE: Workhorse traffic and errors, Puma saturation, Sidekiq jobs and Gitaly (webservice, workhorse, sidekiq, gitaly scrape jobs).',
  rows: [
    [
      upStat('Webservice pods up', 'webservice'),
      upStat('Sidekiq pods up', 'sidekiq'),
      upStat('Gitaly up', 'gitaly'),
      { kind: 'stat', title: 'HTTP 5xx ratio (5m)', width: 6, height: 4, unit: 'percentunit', thresholds: [0.01, 0.05], queries: [{ expr: 'sum(rate(gitlab_workhorse_http_requests_total{code=~"5.."}[5m])) / sum(rate(gitlab_workhorse_http_requests_total[5m]))' }] },
    ],
    [
      { kind: 'timeseries', title: 'Requests by status (Workhorse)', unit: 'reqps', queries: [{ expr: 'sum by (code) (rate(gitlab_workhorse_http_requests_total[5m]))', legend: '{{code}}' }] },
      { kind: 'timeseries', title: 'Request latency (Workhorse)', unit: 's', queries: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(gitlab_workhorse_http_request_duration_seconds_bucket[5m])))', legend: 'p95' }, { expr: 'histogram_quantile(0.5, sum by (le) (rate(gitlab_workhorse_http_request_duration_seconds_bucket[5m])))', legend: 'p50' }] },
    ],
    [
      { kind: 'timeseries', title: 'Puma threads busy', unit: 'percentunit', queries: [{ expr: 'sum by (pod) (puma_active_connections) / sum by (pod) (puma_max_threads)', legend: '{{pod}}' }] },
      { kind: 'timeseries', title: 'Puma queued connections', queries: [{ expr: 'sum by (pod) (puma_queued_connections)', legend: '{{pod}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Sidekiq jobs running vs concurrency', queries: [{ expr: 'sum(sidekiq_running_jobs)', legend: 'running' }, { expr: 'sum(sidekiq_concurrency)', legend: 'concurrency' }] },
      { kind: 'timeseries', title: 'Sidekiq queue wait (p95) and failures', queries: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(sidekiq_jobs_queue_duration_seconds_bucket[5m])))', legend: 'queue wait p95 (s)' }, { expr: 'sum(rate(sidekiq_jobs_failed_total[5m]))', legend: 'failed jobs/s' }] },
    ],
    [
      { kind: 'timeseries', title: 'Gitaly calls not OK', unit: 'reqps', queries: [{ expr: 'sum by (grpc_method) (rate(grpc_server_handled_total{job="gitaly",grpc_code!="OK"}[5m]))', legend: '{{grpc_method}}' }] },
      memoryByPod('gitlab'),
    ],
  ],
};

export const HARBOR: DashboardSpec = {
  uid: 'platform-harbor',
  title: 'Harbor',
  tags: ['platform', 'harbor'],
  description: 'Harbor: component health, API and registry traffic, job queues and project quota use (exporter, core, registry, jobservice scrape jobs).',
  rows: [
    [
      { kind: 'stat', title: 'Harbor health', width: 6, height: 4, queries: [{ expr: 'max(harbor_health)' }] },
      { kind: 'stat', title: 'Components down', width: 6, height: 4, thresholds: [1, 2], queries: [{ expr: 'count(harbor_up == 0) or vector(0)' }] },
      { kind: 'stat', title: 'Projects', width: 6, height: 4, queries: [{ expr: 'sum(harbor_project_total)' }] },
      { kind: 'stat', title: 'Jobs queued', width: 6, height: 4, thresholds: [50, 200], queries: [{ expr: 'sum(harbor_task_queue_size)' }] },
    ],
    [
      { kind: 'timeseries', title: 'Core API requests by code', unit: 'reqps', queries: [{ expr: 'sum by (code) (rate(harbor_core_http_request_total[5m]))', legend: '{{code}}' }] },
      { kind: 'timeseries', title: 'Core API latency (p95)', unit: 's', queries: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(harbor_core_http_request_duration_seconds_bucket[5m])))', legend: 'p95' }] },
    ],
    [
      { kind: 'timeseries', title: 'Registry requests by code', unit: 'reqps', queries: [{ expr: 'sum by (code) (rate(registry_http_requests_total[5m]))', legend: '{{code}}' }] },
      { kind: 'timeseries', title: 'Registry latency (p95) by handler', unit: 's', queries: [{ expr: 'histogram_quantile(0.95, sum by (le, handler) (rate(registry_http_request_duration_seconds_bucket[5m])))', legend: '{{handler}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Job queue size and latency by type', queries: [{ expr: 'sum by (type) (harbor_task_queue_size)', legend: '{{type}} queued' }, { expr: 'max by (type) (harbor_task_queue_latency)', legend: '{{type}} oldest (s)' }] },
      { kind: 'timeseries', title: 'Jobs by status', queries: [{ expr: 'sum by (status) (increase(harbor_jobservice_task_total[1h]))', legend: '{{status}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Storage used by project', unit: 'bytes', queries: [{ expr: 'sum by (project_name) (harbor_project_quota_usage_byte)', legend: '{{project_name}}' }] },
      volumeUse('harbor'),
    ],
  ],
};

export const JENKINS: DashboardSpec = {
  uid: 'platform-jenkins',
  title: 'Jenkins',
  tags: ['platform', 'jenkins'],
  description: 'Jenkins: controller up, executors and build queue, build results and durations (prometheus plugin on /prometheus/).',
  rows: [
    [
      upStat('Controller scraped', 'jenkins'),
      { kind: 'stat', title: 'Build queue', width: 6, height: 4, thresholds: [5, 20], queries: [{ expr: 'sum(default_jenkins_executors_queue_length)' }] },
      { kind: 'stat', title: 'Quiet down', width: 6, height: 4, thresholds: [1, 1], queries: [{ expr: 'max(default_jenkins_quietdown)' }] },
      { kind: 'stat', title: 'Uptime', width: 6, height: 4, unit: 'ms', queries: [{ expr: 'max(default_jenkins_uptime)' }] },
    ],
    [
      { kind: 'timeseries', title: 'Executors', queries: [{ expr: 'sum(default_jenkins_executors_busy)', legend: 'busy' }, { expr: 'sum(default_jenkins_executors_available)', legend: 'available' }, { expr: 'sum(default_jenkins_executors_queue_length)', legend: 'queued' }] },
      { kind: 'timeseries', title: 'Build duration by job (median)', unit: 'ms', queries: [{ expr: 'max by (jenkins_job) (default_jenkins_builds_duration_milliseconds_summary{quantile="0.5"})', legend: '{{jenkins_job}}' }] },
    ],
    [
      { kind: 'timeseries', title: 'Builds per hour by result', queries: [{ expr: 'sum(increase(default_jenkins_builds_success_build_count[1h]))', legend: 'succeeded' }, { expr: 'sum(increase(default_jenkins_builds_failed_build_count[1h]))', legend: 'failed' }] },
      memoryByPod('jenkins'),
    ],
    [volumeUse('jenkins'), { kind: 'logs', title: 'Jenkins log', expr: '{namespace="jenkins"}' }],
  ],
};

export const VAULT: DashboardSpec = {
  uid: 'platform-vault',
  title: 'Vault',
  tags: ['platform', 'vault'],
  description: 'Vault: sealed or not, request and login rate and latency, leases and memory (/v1/sys/metrics). A sealed Vault answers no metrics: the target shows down.',
  rows: [
    [
      upStat('Vault scraped (unsealed)', 'vault'),
      { kind: 'stat', title: 'Unsealed', width: 6, height: 4, queries: [{ expr: 'min(vault_core_unsealed)' }] },
      { kind: 'stat', title: 'Leases', width: 6, height: 4, queries: [{ expr: 'max(vault_expire_num_leases)' }] },
      { kind: 'stat', title: 'Requests per second', width: 6, height: 4, unit: 'reqps', queries: [{ expr: 'sum(rate(vault_core_handle_request_count[5m]))' }] },
    ],
    [
      { kind: 'timeseries', title: 'Requests and logins', unit: 'reqps', queries: [{ expr: 'sum(rate(vault_core_handle_request_count[5m]))', legend: 'requests' }, { expr: 'sum(rate(vault_core_handle_login_request_count[5m]))', legend: 'logins' }] },
      { kind: 'timeseries', title: 'Request latency (p99, ms)', unit: 'ms', queries: [{ expr: 'max(vault_core_handle_request{quantile="0.99"})', legend: 'request p99' }, { expr: 'max(vault_core_handle_login_request{quantile="0.99"})', legend: 'login p99' }] },
    ],
    [
      { kind: 'timeseries', title: 'Heap allocated', unit: 'bytes', queries: [{ expr: 'max(vault_runtime_alloc_bytes)', legend: 'alloc' }] },
      { kind: 'timeseries', title: 'Goroutines', queries: [{ expr: 'max(vault_runtime_num_goroutines)', legend: 'goroutines' }] },
    ],
    [volumeUse('vault'), { kind: 'logs', title: 'Vault log', expr: '{namespace="vault"}' }],
  ],
};

export const POSTGRESQL: DashboardSpec = {
  uid: 'platform-postgresql',
  title: 'PostgreSQL',
  tags: ['platform', 'databases'],
  description: 'The shared PostgreSQL (GitLab, Harbor): connections against max_connections, transactions, cache hits, deadlocks and size (postgres_exporter).',
  rows: [
    [
      { kind: 'stat', title: 'Server up (exporter connected)', width: 6, height: 4, queries: [{ expr: 'min(pg_up)' }] },
      { kind: 'stat', title: 'Connections used', width: 6, height: 4, unit: 'percentunit', thresholds: [0.7, 0.9], queries: [{ expr: 'sum(pg_stat_database_numbackends) / max(pg_settings_max_connections)' }] },
      { kind: 'stat', title: 'Cache hit ratio', width: 6, height: 4, unit: 'percentunit', queries: [{ expr: 'sum(rate(pg_stat_database_blks_hit[5m])) / (sum(rate(pg_stat_database_blks_hit[5m])) + sum(rate(pg_stat_database_blks_read[5m])))' }] },
      { kind: 'stat', title: 'Deadlocks (24h)', width: 6, height: 4, thresholds: [1, 10], queries: [{ expr: 'sum(increase(pg_stat_database_deadlocks[24h])) or vector(0)' }] },
    ],
    [
      { kind: 'timeseries', title: 'Connections by database', queries: [{ expr: 'sum by (datname) (pg_stat_database_numbackends)', legend: '{{datname}}' }, { expr: 'max(pg_settings_max_connections)', legend: 'max_connections' }] },
      { kind: 'timeseries', title: 'Transactions by database', unit: 'ops', queries: [{ expr: 'sum by (datname) (rate(pg_stat_database_xact_commit[5m]))', legend: '{{datname}} commit' }, { expr: 'sum by (datname) (rate(pg_stat_database_xact_rollback[5m]))', legend: '{{datname}} rollback' }] },
    ],
    [
      { kind: 'timeseries', title: 'Database size', unit: 'bytes', queries: [{ expr: 'sum by (datname) (pg_database_size_bytes)', legend: '{{datname}}' }] },
      volumeUse('databases'),
    ],
  ],
};

export const REDIS: DashboardSpec = {
  uid: 'platform-redis',
  title: 'Redis',
  tags: ['platform', 'databases'],
  description: 'The shared Redis (GitLab, Harbor): clients, commands, hit ratio, memory against maxmemory, evictions and keys (redis_exporter).',
  rows: [
    [
      { kind: 'stat', title: 'Redis up', width: 6, height: 4, queries: [{ expr: 'min(redis_up)' }] },
      { kind: 'stat', title: 'Connected clients', width: 6, height: 4, queries: [{ expr: 'sum(redis_connected_clients)' }] },
      { kind: 'stat', title: 'Memory used', width: 6, height: 4, unit: 'bytes', queries: [{ expr: 'sum(redis_memory_used_bytes)' }] },
      { kind: 'stat', title: 'Rejected connections (1h)', width: 6, height: 4, thresholds: [1, 10], queries: [{ expr: 'sum(increase(redis_rejected_connections_total[1h])) or vector(0)' }] },
    ],
    [
      { kind: 'timeseries', title: 'Commands per second', unit: 'ops', queries: [{ expr: 'sum(rate(redis_commands_processed_total[5m]))', legend: 'commands' }] },
      { kind: 'timeseries', title: 'Keyspace hit ratio', unit: 'percentunit', queries: [{ expr: 'sum(rate(redis_keyspace_hits_total[5m])) / (sum(rate(redis_keyspace_hits_total[5m])) + sum(rate(redis_keyspace_misses_total[5m])))', legend: 'hits' }] },
    ],
    [
      // maxmemory 0 means no limit: the limit series is then 0 and only the use is meaningful.
      { kind: 'timeseries', title: 'Memory used vs maxmemory', unit: 'bytes', queries: [{ expr: 'sum(redis_memory_used_bytes)', legend: 'used' }, { expr: 'sum(redis_memory_max_bytes)', legend: 'maxmemory' }] },
      { kind: 'timeseries', title: 'Clients, blocked clients and evictions', queries: [{ expr: 'sum(redis_connected_clients)', legend: 'clients' }, { expr: 'sum(redis_blocked_clients)', legend: 'blocked' }, { expr: 'sum(rate(redis_evicted_keys_total[5m]))', legend: 'evictions/s' }] },
    ],
    [
      { kind: 'timeseries', title: 'Keys by database', queries: [{ expr: 'sum by (db) (redis_db_keys)', legend: '{{db}}' }] },
      volumeUse('databases'),
    ],
  ],
};

/**
 * Ceph from its managers' `prometheus` module (job ceph-mgr, at the model's monitor hosts): the
 * ceph-csi pods only report the liveness of their own sockets. Capacity thresholds are the
 * CephClusterNearFull alert's (orange) and the model's nearfull ratio (red): ../ceph-fill.ts.
 */
export function cephDashboard(fill: CephFill): DashboardSpec {
  return {
    uid: 'platform-ceph',
    title: 'Ceph',
    tags: ['platform', 'storage'],
    description: 'The external Ceph cluster: health, raw capacity used against the nearfull thresholds, OSDs up/in, placement groups, pool use and I/O (ceph-mgr prometheus module).',
    rows: [
      [
        { kind: 'stat', title: 'Health (0 OK, 1 WARN, 2 ERR)', width: 6, height: 4, thresholds: [1, 2], queries: [{ expr: 'max(ceph_health_status)' }] },
        cephUsedStat(fill, 'Raw capacity used', 6),
        { kind: 'stat', title: 'OSDs down', width: 6, height: 4, thresholds: [1, 2], queries: [{ expr: 'count(ceph_osd_up == 0) or vector(0)' }] },
        { kind: 'stat', title: 'OSDs out', width: 6, height: 4, thresholds: [1, 2], queries: [{ expr: 'count(ceph_osd_in == 0) or vector(0)' }] },
      ],
      [
        { kind: 'timeseries', title: 'Raw capacity', unit: 'bytes', queries: [{ expr: 'max(ceph_cluster_total_used_raw_bytes)', legend: 'used' }, { expr: 'max(ceph_cluster_total_bytes)', legend: 'total' }, { expr: `${fill.nearfull} * max(ceph_cluster_total_bytes)`, legend: `nearfull (${percent(fill.nearfull)})` }] },
        { kind: 'timeseries', title: 'Pool use', unit: 'percentunit', queries: [{ expr: 'max by (pool_id) (ceph_pool_percent_used)', legend: 'pool {{pool_id}}' }] },
      ],
      [
        { kind: 'timeseries', title: 'Placement groups', queries: [{ expr: 'sum(ceph_pg_total)', legend: 'total' }, { expr: 'sum(ceph_pg_active)', legend: 'active' }, { expr: 'sum(ceph_pg_clean)', legend: 'clean' }, { expr: 'sum(ceph_num_objects_degraded)', legend: 'degraded objects' }] },
        { kind: 'timeseries', title: 'OSD latency', unit: 'ms', queries: [{ expr: 'max by (ceph_daemon) (ceph_osd_commit_latency_ms)', legend: '{{ceph_daemon}} commit' }, { expr: 'max by (ceph_daemon) (ceph_osd_apply_latency_ms)', legend: '{{ceph_daemon}} apply' }] },
      ],
      [
        { kind: 'timeseries', title: 'Pool operations', unit: 'ops', queries: [{ expr: 'sum by (pool_id) (rate(ceph_pool_rd[5m]))', legend: 'pool {{pool_id}} read' }, { expr: 'sum by (pool_id) (rate(ceph_pool_wr[5m]))', legend: 'pool {{pool_id}} write' }] },
        { kind: 'table', title: 'Managers scraped', queries: [{ expr: 'up{job="ceph-mgr"}' }] },
      ],
    ],
  };
}

/** The dashboards of the hosted services; Ceph's capacity panels at the model's fill levels. */
export function serviceDashboards(fill: CephFill): readonly DashboardSpec[] {
  return [GITLAB, HARBOR, JENKINS, VAULT, POSTGRESQL, REDIS, cephDashboard(fill)];
}
