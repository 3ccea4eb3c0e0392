/**
 * The platform's alert rules: scrape targets, nodes, disks and volumes, certificates, Ceph,
 * Argo CD, Vault, the Kubernetes workloads and the monitoring pipeline itself. Thresholds that
 * depend on the platform come from the model. Backups alert from their own group (issue 6).
 */
import { WATCHDOG, type AlertingRule, type RuleContext, type RuleGroup } from '../../lib/rule-group';
import { serviceMeshEnabled } from '../../lib/service-mesh';
import { withoutMeshCertificates } from '../mesh';
import { cephFill, percent } from '../ceph-fill';

const GiB = 1024 ** 3;
const DAY = 24 * 3600;

const warning = (summary: string, description: string) => ({ labels: { severity: 'warning' as const }, annotations: { summary, description } });
const critical = (summary: string, description: string) => ({ labels: { severity: 'critical' as const }, annotations: { summary, description } });

/**
 * Every scrape target: down (it answers no scrape) or missing (its job discovers nothing, e.g.
 * a chart stopped declaring the metrics port). Generic over every job Prometheus has.
 */
export function targetRules({ jobs }: RuleContext): RuleGroup {
  const missing: AlertingRule = {
    alert: 'ScrapeTargetMissing',
    // absent() keeps the job label of its matcher, so the alert names the job that has no target.
    expr: jobs.map((job) => `absent(up{job="${job}"})`).join(' or '),
    for: '15m',
    ...warning('Scrape job {{ $labels.job }} has no target', 'Prometheus discovers no target for job {{ $labels.job }}: the workload is not running, or it no longer declares its metrics port. Check the workload and Status > Service Discovery in Prometheus.'),
  };
  return {
    name: 'targets',
    rules: [
      {
        alert: 'TargetDown',
        expr: 'up == 0',
        for: '5m',
        ...warning('{{ $labels.job }} target {{ $labels.instance }} is down', 'Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}. Check the pod (or host) and the NetworkPolicy between it and monitoring/prometheus.'),
      },
      missing,
    ],
  };
}

export function nodeRules(): RuleGroup {
  const fs = 'fstype!~"tmpfs|overlay|squashfs|nsfs|ramfs",mountpoint!~"/run.*|/var/lib/kubelet/.*"';
  return {
    name: 'nodes',
    rules: [
      {
        alert: 'NodeDown',
        expr: 'up{job="node-exporter"} == 0',
        for: '2m',
        ...critical('Node {{ $labels.node }} is down', 'node-exporter on {{ $labels.node }} has not answered for 2 minutes: the node is off, off the mesh, or out of memory. Check `kubectl get nodes` and the node itself (Tailscale SSH).'),
      },
      {
        alert: 'NodeNotReady',
        expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
        for: '5m',
        ...critical('Node {{ $labels.node }} is not Ready', 'The kubelet on {{ $labels.node }} reports NotReady. Check `kubectl describe node {{ $labels.node }}` and `journalctl -u k3s*` on the node.'),
      },
      {
        alert: 'NodeFilesystemFillingUp',
        expr: `(node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}} < 0.25) and predict_linear(node_filesystem_avail_bytes{${fs}}[6h], ${DAY}) < 0`,
        for: '1h',
        ...warning('Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} fills up within a day', 'At the rate of the last 6 hours, {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.node }} is full within 24 hours. Free space (container images: `k3s crictl rmi --prune`) or grow the disk.'),
      },
      {
        alert: 'NodeFilesystemAlmostFull',
        expr: `node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}} < 0.1`,
        for: '15m',
        ...critical('Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} is over 90% full', 'Less than 10% of {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.node }} is free; the kubelet evicts pods at 85% image filesystem usage. Free space now.'),
      },
    ],
  };
}

export function volumeRules(): RuleGroup {
  const ratio = 'kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes';
  return {
    name: 'volumes',
    rules: [
      {
        alert: 'PersistentVolumeFillingUp',
        expr: `(${ratio} < 0.2) and predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * ${DAY}) < 0`,
        for: '1h',
        ...warning('Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} fills up within 4 days', 'At the rate of the last 6 hours the volume of claim {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }} is full within 4 days. Expand the claim (ceph-rbd allows it) or lower the retention.'),
      },
      {
        alert: 'PersistentVolumeAlmostFull',
        expr: `${ratio} < 0.1`,
        for: '5m',
        ...critical('Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is over 90% full', 'Less than 10% of the volume of claim {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }} is free. Expand the claim now (edit its size; ceph-rbd expands online).'),
      },
    ],
  };
}

export function certificateRules(context?: Pick<RuleContext, 'platform'>): RuleGroup {
  // The mesh's trust chain is short-lived by design (the identity issuer lives 48 h in Linkerd's
  // guide): it is watched against its own renewal window (rules/mesh.ts), not these fixed days.
  const expiry = 'certmanager_certificate_expiration_timestamp_seconds';
  const left = `${context && serviceMeshEnabled(context.platform) ? withoutMeshCertificates(expiry) : expiry} - time()`;
  return {
    name: 'certificates',
    rules: [
      {
        // cert-manager renews 30 days before expiry: two weeks left means renewal has been failing.
        alert: 'CertificateExpiringSoon',
        expr: `${left} < 14 * ${DAY}`,
        for: '1h',
        ...warning('Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days', 'cert-manager has not renewed {{ $labels.name }} in {{ $labels.namespace }}. Check `kubectl describe certificate -n {{ $labels.namespace }} {{ $labels.name }}`, its CertificateRequest and the DNS-01 challenge (Cloudflare token).'),
      },
      {
        alert: 'CertificateExpiresInDays',
        expr: `${left} < 3 * ${DAY}`,
        for: '10m',
        ...critical('Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 3 days', 'The certificate {{ $labels.name }} in {{ $labels.namespace }} is about to expire and browsers will refuse the host. Fix the renewal now (see CertificateExpiringSoon).'),
      },
    ],
  };
}

export function cephRules({ platform }: RuleContext): RuleGroup {
  const fill = cephFill(platform.ceph.nearfullRatio);
  const inventoryBytes = platform.ceph.capacityGiB * GiB;
  return {
    name: 'ceph',
    rules: [
      {
        alert: 'CephHealthWarning',
        expr: 'max(ceph_health_status) == 1',
        for: '15m',
        ...warning('Ceph reports HEALTH_WARN', 'The Ceph cluster has been in HEALTH_WARN for 15 minutes. Run `ceph health detail` on a Ceph admin host.'),
      },
      {
        alert: 'CephHealthError',
        expr: 'max(ceph_health_status) == 2',
        for: '5m',
        ...critical('Ceph reports HEALTH_ERR', 'The Ceph cluster is in HEALTH_ERR: volumes may stop accepting writes. Run `ceph health detail` on a Ceph admin host now.'),
      },
      {
        alert: 'CephClusterNearFull',
        expr: `max(ceph_cluster_total_used_raw_bytes) / max(ceph_cluster_total_bytes) > ${fill.warning}`,
        for: '30m',
        ...warning(
          `Ceph is over ${percent(fill.warning)} full`,
          `Raw usage of the Ceph cluster is above ${percent(fill.warning)}; Ceph warns at ${percent(fill.nearfull)} (ceph.nearfullRatio) and OSDs stop writes at 95% (full ratio). Delete data, lower retention or add capacity.`,
        ),
      },
      {
        // The model's inventory says how much raw capacity there should be: less means a lost OSD or host.
        alert: 'CephCapacityBelowInventory',
        expr: `max(ceph_cluster_total_bytes) < ${Math.round(inventoryBytes * 0.95)}`,
        for: '30m',
        ...warning(`Ceph has less raw capacity than the ${platform.ceph.capacityGiB} GiB the model declares`, 'An OSD or a Ceph host is out of the cluster (or ceph.capacityGiB in the model is out of date). Run `ceph osd tree` on a Ceph admin host.'),
      },
    ],
  };
}

export function argocdRules(): RuleGroup {
  return {
    name: 'argocd',
    rules: [
      {
        alert: 'ArgoCdAppOutOfSync',
        expr: 'argocd_app_info{sync_status!="Synced"} == 1',
        for: '15m',
        ...warning('Argo CD application {{ $labels.name }} is {{ $labels.sync_status }}', 'Application {{ $labels.name }} has not matched Git for 15 minutes (self-heal and retries gave up, or a sync fails). Open it in Argo CD and read the sync result.'),
      },
      {
        alert: 'ArgoCdAppDegraded',
        expr: 'argocd_app_info{health_status=~"Degraded|Missing"} == 1',
        for: '10m',
        ...critical('Argo CD application {{ $labels.name }} is {{ $labels.health_status }}', 'Resources of application {{ $labels.name }} are {{ $labels.health_status }}. Open it in Argo CD and look at the unhealthy resources and their events.'),
      },
    ],
  };
}

export function vaultRules(): RuleGroup {
  return {
    name: 'vault',
    rules: [
      {
        alert: 'VaultSealed',
        expr: 'vault_core_unsealed == 0',
        for: '1m',
        ...critical('Vault is sealed', 'Vault ({{ $labels.instance }}) is sealed: no workload can read its secrets, and pods with the Vault agent cannot start. Unseal it (README: Vault runbook).'),
      },
    ],
  };
}

export function workloadRules(): RuleGroup {
  return {
    name: 'workloads',
    rules: [
      {
        alert: 'PodCrashLooping',
        expr: 'increase(kube_pod_container_status_restarts_total[15m]) > 3',
        for: '5m',
        ...warning('{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) keeps restarting', 'The container restarted more than 3 times in 15 minutes. Check `kubectl logs -n {{ $labels.namespace }} {{ $labels.pod }} -c {{ $labels.container }} --previous`.'),
      },
      {
        alert: 'WorkloadReplicasUnavailable',
        expr: '(kube_deployment_status_replicas_unavailable > 0) or (kube_statefulset_status_replicas - kube_statefulset_status_replicas_ready > 0) or (kube_daemonset_status_number_unavailable > 0)',
        for: '15m',
        ...warning('A workload in {{ $labels.namespace }} has unavailable replicas', 'A Deployment, StatefulSet or DaemonSet in {{ $labels.namespace }} has had unavailable pods for 15 minutes. Check `kubectl get pods -n {{ $labels.namespace }}` and the pods\' events.'),
      },
    ],
  };
}

/** The monitoring pipeline watching itself: rules that cannot run, alerts that cannot leave, logs that cannot arrive. */
export function monitoringRules(): RuleGroup {
  return {
    name: 'monitoring',
    rules: [
      {
        // The dead-man's switch: always firing, so the external heartbeat service hears from
        // Prometheus through Alertmanager every `observability.alerting.heartbeat.interval`, and
        // alerts on its own when the pings stop (Prometheus, Alertmanager, their node or the
        // egress is down). Alertmanager routes it to the heartbeat receiver only.
        alert: WATCHDOG,
        expr: 'vector(1)',
        labels: { severity: 'none' },
        annotations: {
          summary: 'The alerting pipeline is alive (this alert always fires)',
          description: 'Prometheus evaluates rules and Alertmanager delivers. If the heartbeat service stops receiving this alert, Prometheus or Alertmanager is down: check the monitoring namespace.',
        },
      },
      {
        alert: 'PrometheusRuleEvaluationFailures',
        expr: 'increase(prometheus_rule_evaluation_failures_total[10m]) > 0',
        for: '10m',
        ...warning('Prometheus fails to evaluate rules of {{ $labels.rule_group }}', 'Some rules cannot be evaluated, so their alerts cannot fire. Check the Prometheus log and Status > Rules.'),
      },
      {
        alert: 'PrometheusNotificationsFailing',
        expr: 'increase(prometheus_notifications_errors_total[10m]) > 0',
        for: '10m',
        ...critical('Prometheus cannot send alerts to {{ $labels.alertmanager }}', 'Alerts are not reaching Alertmanager. Check the Alertmanager pod and the NetworkPolicy between monitoring/prometheus and monitoring/alertmanager.'),
      },
      {
        alert: 'AlertmanagerNotificationsFailing',
        expr: 'increase(alertmanager_notifications_failed_total[15m]) > 0',
        for: '15m',
        ...critical('Alertmanager cannot deliver notifications through {{ $labels.integration }}', 'Notifications fail: check the receiver credentials in Vault (secret/alertmanager/...), the Alertmanager log and the SMTP or webhook endpoint.'),
      },
      {
        alert: 'LogShippingFailing',
        expr: 'increase(fluentbit_output_retries_failed_total[15m]) > 0',
        for: '15m',
        ...warning('Fluent Bit on {{ $labels.node }} drops logs', 'Fluent Bit gave up retrying chunks for Loki: logs of that node are lost. Check Loki (monitoring/loki) and the Fluent Bit log.'),
      },
    ],
  };
}
