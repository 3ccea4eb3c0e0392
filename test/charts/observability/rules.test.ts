/**
 * The alert rules under Prometheus' own tools: `promtool check rules` accepts every group, and
 * `promtool test rules` proves each alert fires on the series that should trigger it (and that
 * the important ones stay quiet on healthy series). Generic over RULE_GROUPS: an alert added to
 * any group without a firing case here fails the suite.
 */
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { platformRuleGroups, ruleFiles } from '../../../charts/observability/prometheus';
import { isAlertingRule, resolveRuleGroups, type AlertingRule } from '../../../charts/lib/rule-group';
import { scrapeJobs } from '../../../charts/observability/targets';
import { hasPromtool, promtoolCheckRules, promtoolTestRules } from '../../support/promtool';

const platform = loadDefaultPlatform();
const plan = { connections: PLATFORM_SERVICES.flatMap((s) => s.connections?.(platform) ?? []) };
const groups = platformRuleGroups(platform, plan);
const files = ruleFiles(groups);
/** Groups whose cases live in their own test: the service mesh's (test/charts/observability/mesh.test.ts, which also requires a case per alert). */
const OWN_TESTS = new Set(['service-mesh', 'service-mesh-traffic']);
const alerts = new Map(groups.filter((g) => !OWN_TESTS.has(g.name)).flatMap((g) => g.rules.filter(isAlertingRule).map((r) => [r.alert, r] as const)));
const jobs = scrapeJobs(platform, plan).map((j) => j.job_name);

const GiB = 1024 ** 3;
const DAY = 86400;

interface Case {
  /** Series in promtool's notation, e.g. `up{job="x"}` -> `0x10`. */
  readonly series: Readonly<Record<string, string>>;
  readonly at: string;
  /** Labels of the expected alert besides alertname and severity. */
  readonly labels: Readonly<Record<string, string>>;
  /** Healthy series on which the alert must not fire. */
  readonly quiet?: Readonly<Record<string, string>>;
}

const node = { job: 'node-exporter', instance: '100.64.0.11:9100', node: 'k3s-worker-01' };
const fsLabels = { ...node, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
const pvc = { job: 'kubelet', instance: '100.64.0.10:10250', node: 'k3s-master', namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0' };
const cert = { job: 'cert-manager', namespace: 'monitoring', name: 'grafana-tls', issuer_name: 'letsencrypt-prod' };
const app = { job: 'argocd-application-controller', namespace: 'argocd', name: 'grafana', project: 'platform', dest_namespace: 'monitoring' };
const sel = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

const CASES: Record<string, Case> = {
  // Always firing, with nothing else in the TSDB: the heartbeat must not depend on any series.
  Watchdog: { series: {}, at: '1m', labels: {} },
  TargetDown: {
    series: { [sel('up', { job: 'loki', instance: '10.42.0.7:3100' })]: '0x10' },
    at: '6m',
    labels: { job: 'loki', instance: '10.42.0.7:3100' },
    quiet: { [sel('up', { job: 'loki', instance: '10.42.0.7:3100' })]: '1x10' },
  },
  ScrapeTargetMissing: {
    // Every job has a target except velero.
    series: Object.fromEntries(jobs.filter((j) => j !== 'velero').map((job) => [sel('up', { job, instance: `${job}:1` }), '1x30'])),
    at: '20m',
    labels: { job: 'velero' },
    quiet: Object.fromEntries(jobs.map((job) => [sel('up', { job, instance: `${job}:1` }), '1x30'])),
  },
  NodeDown: { series: { [sel('up', node)]: '0x10' }, at: '3m', labels: node, quiet: { [sel('up', node)]: '1x10' } },
  NodeNotReady: {
    series: { [sel('kube_node_status_condition', { job: 'kube-state-metrics', node: 'k3s-worker-02', condition: 'Ready', status: 'true' })]: '0x10' },
    at: '6m',
    labels: { job: 'kube-state-metrics', node: 'k3s-worker-02', condition: 'Ready', status: 'true' },
  },
  NodeFilesystemFillingUp: {
    series: { [sel('node_filesystem_avail_bytes', fsLabels)]: '20000000000-100000000x180', [sel('node_filesystem_size_bytes', fsLabels)]: '100000000000x180' },
    at: '2h',
    labels: fsLabels,
    // Plenty of room, even though it shrinks.
    quiet: { [sel('node_filesystem_avail_bytes', fsLabels)]: '90000000000-1000000x180', [sel('node_filesystem_size_bytes', fsLabels)]: '100000000000x180' },
  },
  NodeFilesystemAlmostFull: {
    series: { [sel('node_filesystem_avail_bytes', fsLabels)]: '5000000000x30', [sel('node_filesystem_size_bytes', fsLabels)]: '100000000000x30' },
    at: '20m',
    labels: fsLabels,
  },
  PersistentVolumeFillingUp: {
    series: { [sel('kubelet_volume_stats_available_bytes', pvc)]: '1500000000-1000000x180', [sel('kubelet_volume_stats_capacity_bytes', pvc)]: '10000000000x180' },
    at: '2h',
    labels: pvc,
  },
  PersistentVolumeAlmostFull: {
    series: { [sel('kubelet_volume_stats_available_bytes', pvc)]: '500000000x20', [sel('kubelet_volume_stats_capacity_bytes', pvc)]: '10000000000x20' },
    at: '10m',
    labels: pvc,
    quiet: { [sel('kubelet_volume_stats_available_bytes', pvc)]: '5000000000x20', [sel('kubelet_volume_stats_capacity_bytes', pvc)]: '10000000000x20' },
  },
  CertificateExpiringSoon: {
    series: { [sel('certmanager_certificate_expiration_timestamp_seconds', cert)]: `${10 * DAY}x150` },
    at: '2h',
    labels: cert,
    quiet: { [sel('certmanager_certificate_expiration_timestamp_seconds', cert)]: `${60 * DAY}x150` },
  },
  CertificateExpiresInDays: {
    series: { [sel('certmanager_certificate_expiration_timestamp_seconds', cert)]: `${2 * DAY}x40` },
    at: '30m',
    labels: cert,
  },
  CephHealthWarning: { series: { [sel('ceph_health_status', { job: 'ceph-mgr', instance: '192.168.10.21:9283' })]: '1x30' }, at: '20m', labels: {} },
  CephHealthError: {
    series: { [sel('ceph_health_status', { job: 'ceph-mgr', instance: '192.168.10.21:9283' })]: '2x15' },
    at: '10m',
    labels: {},
    quiet: { [sel('ceph_health_status', { job: 'ceph-mgr', instance: '192.168.10.21:9283' })]: '0x15' },
  },
  CephClusterNearFull: {
    series: { [sel('ceph_cluster_total_used_raw_bytes', { job: 'ceph-mgr' })]: '800000000000x45', [sel('ceph_cluster_total_bytes', { job: 'ceph-mgr' })]: '1000000000000x45' },
    at: '40m',
    labels: {},
  },
  CephCapacityBelowInventory: {
    // The seed declares ceph.capacityGiB; an OSD is gone and 150 GiB remain.
    series: { [sel('ceph_cluster_total_bytes', { job: 'ceph-mgr' })]: `${150 * GiB}x45` },
    at: '40m',
    labels: {},
    quiet: { [sel('ceph_cluster_total_bytes', { job: 'ceph-mgr' })]: `${platform.ceph.capacityGiB * GiB}x45` },
  },
  ArgoCdAppOutOfSync: {
    series: { [sel('argocd_app_info', { ...app, sync_status: 'OutOfSync', health_status: 'Healthy' })]: '1x30' },
    at: '20m',
    labels: { ...app, sync_status: 'OutOfSync', health_status: 'Healthy' },
    quiet: { [sel('argocd_app_info', { ...app, sync_status: 'Synced', health_status: 'Healthy' })]: '1x30' },
  },
  ArgoCdAppDegraded: {
    series: { [sel('argocd_app_info', { ...app, sync_status: 'Synced', health_status: 'Degraded' })]: '1x30' },
    at: '15m',
    labels: { ...app, sync_status: 'Synced', health_status: 'Degraded' },
    quiet: { [sel('argocd_app_info', { ...app, sync_status: 'Synced', health_status: 'Healthy' })]: '1x30' },
  },
  VaultSealed: {
    series: { [sel('vault_core_unsealed', { job: 'vault', instance: 'vault.vault.svc:8200' })]: '0x5' },
    at: '2m',
    labels: { job: 'vault', instance: 'vault.vault.svc:8200' },
    quiet: { [sel('vault_core_unsealed', { job: 'vault', instance: 'vault.vault.svc:8200' })]: '1x5' },
  },
  VeleroBackupFailed: {
    series: { [sel('velero_backup_last_status', { schedule: 'daily' })]: '0x15' },
    at: '10m',
    labels: { schedule: 'daily' },
    quiet: { [sel('velero_backup_last_status', { schedule: 'daily' })]: '1x15' },
  },
  VeleroBackupMissing: {
    // Velero has never completed a backup: the series is absent.
    series: {},
    at: '40m',
    labels: { schedule: 'daily' },
    quiet: { [sel('velero_backup_last_successful_timestamp', { schedule: 'daily' })]: '0x50' },
  },
  ApplicationBackupFailed: {
    // kube-state-metrics: the Job's Failed condition, and the CronJob that owns it.
    series: {
      [sel('kube_job_failed', { job: 'kube-state-metrics', namespace: 'backups', job_name: 'postgresql-dump-29100000', condition: 'true' })]: '1x15',
      [sel('kube_job_owner', { job: 'kube-state-metrics', namespace: 'backups', job_name: 'postgresql-dump-29100000', owner_kind: 'CronJob', owner_name: 'postgresql-dump', owner_is_controller: 'true' })]: '1x15',
    },
    at: '10m',
    labels: { namespace: 'backups', cronjob: 'postgresql-dump' },
    quiet: {
      [sel('kube_job_failed', { job: 'kube-state-metrics', namespace: 'backups', job_name: 'postgresql-dump-29100000', condition: 'true' })]: '0x15',
      [sel('kube_job_owner', { job: 'kube-state-metrics', namespace: 'backups', job_name: 'postgresql-dump-29100000', owner_kind: 'CronJob', owner_name: 'postgresql-dump', owner_is_controller: 'true' })]: '1x15',
    },
  },
  ApplicationBackupMissing: {
    // Created at time 0 and never successful: missed once 25 h have passed (plus the 30 min wait).
    series: { [sel('kube_cronjob_created', { job: 'kube-state-metrics', namespace: 'backups', cronjob: 'vault-snapshot' })]: '0x1600' },
    at: '26h',
    labels: { job: 'kube-state-metrics', namespace: 'backups', cronjob: 'vault-snapshot' },
    quiet: {
      [sel('kube_cronjob_created', { job: 'kube-state-metrics', namespace: 'backups', cronjob: 'vault-snapshot' })]: '0x1600',
      [sel('kube_cronjob_status_last_successful_time', { job: 'kube-state-metrics', namespace: 'backups', cronjob: 'vault-snapshot' })]: '0+60x1600',
    },
  },
  RenovateRunFailed: {
    series: {
      [sel('kube_job_failed', { job: 'kube-state-metrics', namespace: 'renovate', job_name: 'renovate-29100000', condition: 'true' })]: '1x15',
      [sel('kube_job_owner', { job: 'kube-state-metrics', namespace: 'renovate', job_name: 'renovate-29100000', owner_kind: 'CronJob', owner_name: 'renovate', owner_is_controller: 'true' })]: '1x15',
    },
    at: '10m',
    labels: { namespace: 'renovate', cronjob: 'renovate' },
  },
  RenovateNotSucceeding: {
    // The seed's hourly schedule: created at time 0 and never successful, missed after 4 h (+30 min).
    series: { [sel('kube_cronjob_created', { job: 'kube-state-metrics', namespace: 'renovate', cronjob: 'renovate' })]: '0x330' },
    at: '5h',
    labels: { job: 'kube-state-metrics', namespace: 'renovate', cronjob: 'renovate' },
    quiet: {
      [sel('kube_cronjob_created', { job: 'kube-state-metrics', namespace: 'renovate', cronjob: 'renovate' })]: '0x330',
      [sel('kube_cronjob_status_last_successful_time', { job: 'kube-state-metrics', namespace: 'renovate', cronjob: 'renovate' })]: '0+60x330',
    },
  },
  PodCrashLooping: {
    series: { [sel('kube_pod_container_status_restarts_total', { job: 'kube-state-metrics', namespace: 'monitoring', pod: 'loki-0', container: 'loki' })]: '0+1x30' },
    at: '25m',
    labels: { job: 'kube-state-metrics', namespace: 'monitoring', pod: 'loki-0', container: 'loki' },
  },
  WorkloadReplicasUnavailable: {
    series: { [sel('kube_deployment_status_replicas_unavailable', { job: 'kube-state-metrics', namespace: 'monitoring', deployment: 'grafana' })]: '1x30' },
    at: '20m',
    labels: { job: 'kube-state-metrics', namespace: 'monitoring', deployment: 'grafana' },
  },
  PrometheusRuleEvaluationFailures: {
    series: { [sel('prometheus_rule_evaluation_failures_total', { job: 'prometheus', rule_group: 'nodes' })]: '0+1x30' },
    at: '25m',
    labels: { job: 'prometheus', rule_group: 'nodes' },
  },
  PrometheusNotificationsFailing: {
    series: { [sel('prometheus_notifications_errors_total', { job: 'prometheus', alertmanager: 'http://alertmanager.monitoring.svc:9093/api/v2/alerts' })]: '0+1x30' },
    at: '25m',
    labels: { job: 'prometheus', alertmanager: 'http://alertmanager.monitoring.svc:9093/api/v2/alerts' },
  },
  AlertmanagerNotificationsFailing: {
    series: { [sel('alertmanager_notifications_failed_total', { job: 'alertmanager', integration: 'email' })]: '0+1x40' },
    at: '35m',
    labels: { job: 'alertmanager', integration: 'email' },
  },
  LogShippingFailing: {
    series: { [sel('fluentbit_output_retries_failed_total', { job: 'fluent-bit', node: 'k3s-master', name: 'loki.0' })]: '0+1x40' },
    at: '35m',
    labels: { job: 'fluent-bit', node: 'k3s-master', name: 'loki.0' },
  },
};

/** Prometheus' template expansion for what our annotations use: `{{ $labels.<name> }}`. */
function expand(template: string, labels: Record<string, string>): string {
  return template.replace(/\{\{ \$labels\.([a-zA-Z_]+) \}\}/g, (_, name: string) => labels[name] ?? '<no value>');
}

function firingCase(rule: AlertingRule, c: Case) {
  const labels = { ...c.labels, severity: rule.labels.severity };
  return {
    interval: '1m',
    input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      {
        eval_time: c.at,
        alertname: rule.alert,
        exp_alerts: [
          {
            exp_labels: labels,
            exp_annotations: { summary: expand(rule.annotations.summary, labels), description: expand(rule.annotations.description, labels) },
          },
        ],
      },
    ],
  };
}

function quietCase(rule: AlertingRule, c: Case) {
  return {
    interval: '1m',
    input_series: Object.entries(c.quiet!).map(([series, values]) => ({ series, values })),
    alert_rule_test: [{ eval_time: c.at, alertname: rule.alert, exp_alerts: [] }],
  };
}

describe('the alert rules', () => {
  it('cover what the platform must alert on', () => {
    expect([...alerts.keys()]).toEqual(
      expect.arrayContaining([
        'NodeDown',
        'TargetDown',
        'NodeFilesystemFillingUp',
        'PersistentVolumeFillingUp',
        'CertificateExpiringSoon',
        'CephHealthError',
        'ArgoCdAppOutOfSync',
        'ArgoCdAppDegraded',
        'VaultSealed',
        'ApplicationBackupFailed',
        'ApplicationBackupMissing',
      ]),
    );
    for (const rule of alerts.values()) {
      expect(rule.alert === 'Watchdog' ? ['none'] : ['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10);
    }
  });

  it('promtool check rules accepts every group', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const result = promtoolCheckRules(files);
    expect(result.output).not.toContain('FAILED');
    expect(result.status, result.output).toBe(0);
    expect(Object.keys(files).sort()).toEqual(groups.map((g) => `${g.name}.yaml`).sort());
  });

  it('every alert of every group has a case that makes it fire', () => {
    expect([...alerts.keys()].filter((name) => !CASES[name]).sort()).toEqual([]);
    expect(Object.keys(CASES).filter((name) => !alerts.has(name)).sort()).toEqual([]);
  });

  it('promtool test rules: each alert fires on its case and the important ones stay quiet on healthy series', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    // One promtool run per rule file with only that file's cases: promtool evaluates every loaded
    // rule at every step of every case, so loading all files for the day-long backup cases cost
    // ~35 s. No alert reads a recording rule of another file (the groups define none).
    let count = 0;
    for (const group of groups.filter((g) => !OWN_TESTS.has(g.name))) {
      const tests = group.rules.filter(isAlertingRule).flatMap((rule) => {
        const c = CASES[rule.alert];
        return [firingCase(rule, c), ...(c.quiet ? [quietCase(rule, c)] : [])];
      });
      if (!tests.length) continue;
      count += tests.length;
      const file = `${group.name}.yaml`;
      const result = promtoolTestRules({ [file]: files[file] }, { evaluation_interval: '1m', tests });
      expect(result.output, file).toContain('SUCCESS');
      expect(result.status, result.output).toBe(0);
    }
    expect(count).toBeGreaterThan(alerts.size);
  });

  it('GIVEN no series at all WHEN promtool evaluates the rules at any time THEN the Watchdog fires, with severity none', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const rule = alerts.get('Watchdog')!;
    expect(rule.labels.severity).toBe('none');
    const tests = ['0m', '1m', '45m'].map((at) => firingCase(rule, { series: {}, at, labels: {} }));
    const result = promtoolTestRules(files, { evaluation_interval: '1m', tests });
    expect(result.status, result.output).toBe(0);
  });

  it('promtool test rules fails when an alert does not fire as expected (the check is not a no-op)', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const rule = alerts.get('NodeDown')!;
    const healthy = { ...CASES.NodeDown, series: { [sel('up', node)]: '1x10' } };
    const result = promtoolTestRules(files, { evaluation_interval: '1m', tests: [firingCase(rule, healthy)] });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('NodeDown');
  });

  it('fails when two groups define the same alert, or an alert has no known severity', () => {
    const group = { name: 'a', rules: [alerts.get('VaultSealed')!] };
    expect(() => resolveRuleGroups([group, { ...group, name: 'b' }], { platform, jobs })).toThrow('alert VaultSealed (group b) is defined twice; alert names must be unique');
    const bad = { name: 'c', rules: [{ ...alerts.get('VaultSealed')!, labels: { severity: 'page' as 'critical' } }] };
    expect(() => resolveRuleGroups([bad], { platform, jobs })).toThrow('alert VaultSealed (group c): severity "page" must be critical or warning');
  });

  it('takes thresholds from the model: the Ceph inventory', () => {
    const rule = alerts.get('CephCapacityBelowInventory')!;
    expect(rule.expr).toBe(`max(ceph_cluster_total_bytes) < ${Math.round(platform.ceph.capacityGiB * GiB * 0.95)}`);
    const small = { ...platform, ceph: { ...platform.ceph, capacityGiB: 100 } };
    const other = platformRuleGroups(small, plan).flatMap((g) => g.rules).find((r) => 'alert' in r && r.alert === 'CephCapacityBelowInventory') as AlertingRule;
    expect(other.expr).toBe(`max(ceph_cluster_total_bytes) < ${Math.round(100 * GiB * 0.95)}`);
  });
});
