/**
 * Prometheus, rendered as plain YAML: one replica in a StatefulSet on `ceph-rbd`, retention from
 * the model, placed on `services.prometheus.node`, its configuration generated from the model and
 * the network plan (charts/observability/targets.ts) and its rules from `rules/`. It also renders
 * the `monitoring` namespace, which Alertmanager, Grafana, Loki and kube-state-metrics share.
 *
 * RBAC is least privilege for what it discovers: list/watch pods only in the namespaces of its
 * pod targets (a RoleBinding each), list/watch nodes and read `nodes/metrics` (kubelet and cAdvisor),
 * read the API server's `/metrics`. No Secrets, no cluster-wide pods.
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/
 */
import { ApiObject, type Chart } from 'cdk8s';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { DISCOVERY_SYNC_WAVE } from '../lib/sync-waves';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import type { NetworkPlan } from '../lib/network';
import { STORAGE_CLASS, nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  RESTRICTED_CONTAINER_SECURITY,
  configChecksum,
  configMap,
  containerPorts,
  podLabels,
  resources,
  restrictedPodSecurity,
  selectorOf,
  serviceAccount,
  workloadService,
} from './pod';
import { RULE_GROUPS } from './rules';
import { resolveRuleGroups, type RuleGroup, type RuleGroupSource } from './rules/rule-group';
import { discoveryNamespaces, prometheusConnections, scrapeJobs } from './targets';
import { ALERTMANAGER, MONITORING_NAMESPACE, MONITORING_WORKLOADS, PROMETHEUS_SERVER, serviceHost } from './workloads';

const NAME = PROMETHEUS_SERVER.name;
/** The `nobody` user the upstream image runs as. */
const UID = 65534;
const CONFIG_DIR = '/etc/prometheus';
const RULES_DIR = '/etc/prometheus/rules';
const DATA_DIR = '/prometheus';

/** prometheus.yml: global settings from the model, Alertmanager, the rule files, every scrape job. */
export function prometheusConfig(platform: Platform, plan: NetworkPlan): Record<string, unknown> {
  const interval = platform.observability.scrapeInterval;
  return {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Upstream's default timeout, but never longer than the interval (Prometheus refuses that).
      scrape_timeout: `${Math.min(10, durationSeconds(interval))}s`,
      external_labels: { cluster: platform.domain },
    },
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`${serviceHost(ALERTMANAGER)}:${ALERTMANAGER.ports!.http}`] }] }],
    },
    rule_files: [`${RULES_DIR}/*.yaml`],
    scrape_configs: scrapeJobs(platform, plan),
  };
}

/** The rule files: one per group, `<group>.yaml`. */
export function ruleFiles(groups: readonly RuleGroup[]): Record<string, string> {
  return Object.fromEntries(groups.map((group) => [`${group.name}.yaml`, toYaml({ groups: [group] })]));
}

/** The rule groups of a render: every source of `RULE_GROUPS`, with the model and the scrape jobs. */
export function platformRuleGroups(platform: Platform, plan: NetworkPlan, sources: readonly RuleGroupSource[] = RULE_GROUPS): RuleGroup[] {
  return resolveRuleGroups(sources, { platform, jobs: scrapeJobs(platform, plan).map((j) => j.job_name) });
}

/** The TSDB may use 80% of its volume: retention by size keeps the volume from filling up. */
export function retentionSize(storageGiB: number): string {
  return `${Math.floor(storageGiB * 0.8)}GB`;
}

export const prometheus: ServiceDefinition = {
  name: 'prometheus',
  namespace: MONITORING_NAMESPACE,
  // After the StorageClass, the ingress controller and the issuers (wave 2).
  syncWave: 3,
  connections: prometheusConnections,
  build(chart: Chart, platform: Platform, plan: NetworkPlan) {
    const ns = MONITORING_NAMESPACE;
    new PlatformNamespace(chart, 'namespace', { name: ns, workloads: MONITORING_WORKLOADS, plan });

    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: true });
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: ns }];
    new ApiObject(chart, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { nonResourceURLs: ['/metrics'], verbs: ['get'] },
      ],
    });
    new ApiObject(chart, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects,
    });
    // Pod discovery: one ClusterRole holding the rule, granted namespace by namespace (a
    // RoleBinding to a ClusterRole grants it in that namespace only).
    const discovery = `${NAME}-discovery`;
    new ApiObject(chart, 'discovery-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: discovery, labels: standardLabels(discovery, 'rbac') },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }],
    });
    // The RoleBindings are prometheusDiscovery's (below): most namespaces do not exist yet.

    const config = { 'prometheus.yml': toYaml(prometheusConfig(platform, plan)) };
    const rules = ruleFiles(platformRuleGroups(platform, plan));
    configMap(chart, 'config', { name: `${NAME}-config`, namespace: ns, data: config });
    configMap(chart, 'rules', { name: `${NAME}-rules`, namespace: ns, data: rules });
    workloadService(chart, 'service', PROMETHEUS_SERVER, ['http'], { headless: true });

    const { retentionDays, storageGiB } = platform.observability.prometheus;
    new ApiObject(chart, 'statefulset', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: NAME, namespace: ns, labels: podLabels(PROMETHEUS_SERVER, 'server') },
      spec: {
        replicas: 1,
        serviceName: NAME,
        selector: selectorOf(PROMETHEUS_SERVER),
        template: {
          metadata: {
            labels: podLabels(PROMETHEUS_SERVER, 'server'),
            annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum({ ...config, ...rules }) },
          },
          spec: {
            serviceAccountName: NAME,
            // Service discovery and the kubelet, cAdvisor and API server scrapes use this token.
            automountServiceAccountToken: true,
            nodeSelector: nodeSelectorFor(platform, 'prometheus'),
            securityContext: restrictedPodSecurity(UID, { fsGroup: UID }),
            // Lets the TSDB close its head block cleanly before the pod is killed.
            terminationGracePeriodSeconds: 300,
            containers: [
              {
                name: 'prometheus',
                image: IMAGES.prometheus,
                args: [
                  `--config.file=${CONFIG_DIR}/prometheus.yml`,
                  `--storage.tsdb.path=${DATA_DIR}`,
                  `--storage.tsdb.retention.time=${retentionDays}d`,
                  `--storage.tsdb.retention.size=${retentionSize(storageGiB)}`,
                  `--web.listen-address=:${PROMETHEUS_SERVER.ports!.http}`,
                ],
                ports: containerPorts(PROMETHEUS_SERVER, ['http']),
                readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
                livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, periodSeconds: 15, failureThreshold: 10 },
                // WAL replay after a restart can take minutes on a full TSDB.
                startupProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10, failureThreshold: 60 },
                resources: resources('250m', '1Gi', '2', '3Gi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'rules', mountPath: RULES_DIR, readOnly: true },
                  { name: 'data', mountPath: DATA_DIR },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${NAME}-config` } },
              { name: 'rules', configMap: { name: `${NAME}-rules` } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: standardLabels(NAME, 'storage') },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: `${storageGiB}Gi` } } },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
  },
};

/** Seconds of a model duration ("30s", "1m", "1h"). */
export function durationSeconds(duration: string): number {
  const value = Number(duration.slice(0, -1));
  return value * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[duration.slice(-1)];
}

/**
 * Prometheus' pod-discovery grants: one RoleBinding per scraped namespace, to the ClusterRole the
 * prometheus service renders. A separate Application in the last sync wave, because most of those
 * namespaces are created by Applications after Prometheus' (a RoleBinding into a namespace that
 * does not exist yet fails the sync, and the root would wait for Prometheus forever). Until it
 * syncs, pod discovery outside `monitoring` finds nothing (docs/decisions/0065-bring-up-order.md).
 */
export const prometheusDiscovery: ServiceDefinition = {
  name: 'prometheus-discovery',
  namespace: MONITORING_NAMESPACE,
  syncWave: DISCOVERY_SYNC_WAVE,
  build(chart: Chart, _platform: Platform, plan: NetworkPlan) {
    const discovery = `${NAME}-discovery`;
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: MONITORING_NAMESPACE }];
    for (const target of discoveryNamespaces(plan)) {
      new ApiObject(chart, `role-binding-${target}`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        // One file per object: the namespace is part of the name.
        metadata: { name: `${discovery}-${target}`, namespace: target, labels: standardLabels(discovery, 'rbac') },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: discovery },
        subjects,
      });
    }
  },
};
