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
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { STORAGE_CLASS } from '../lib/placement';
import { resources } from '../lib/kinds';
import { DISCOVERY_SYNC_WAVE } from '../lib/sync-waves';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import type { NetworkPlan } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { WorkloadStatefulSet, WorkloadVolume } from '../lib/workload';
import { RULE_GROUPS } from './rules';
import { resolveRuleGroups, type RuleGroup, type RuleGroupSource } from '../lib/rule-group';
import { discoveryNamespaces, prometheusConnections, scrapeJobs, type ScrapeConfig } from './targets';
import { ALERTMANAGER, MONITORING_NAMESPACE, MONITORING_WORKLOADS, serviceHost } from './workloads';
import { PROMETHEUS_SERVER } from '../lib/prometheus';

const NAME = PROMETHEUS_SERVER.name;
/** The `nobody` user the upstream image runs as. */
const UID = 65534;
const CONFIG_DIR = '/etc/prometheus';
const RULES_DIR = '/etc/prometheus/rules';
const DATA_DIR = '/prometheus';
/** The ClusterRole of pod discovery, granted per namespace. */
const DISCOVERY_ROLE = `${NAME}-discovery`;

/** prometheus.yml: global settings from the model, Alertmanager, the rule files, every scrape job. */
export function prometheusConfig(props: Pick<PrometheusProps, 'scrapeInterval' | 'cluster' | 'scrapeJobs'>): Record<string, unknown> {
  const interval = props.scrapeInterval;
  return {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Upstream's default timeout, but never longer than the interval (Prometheus refuses that).
      scrape_timeout: `${Math.min(10, durationSeconds(interval))}s`,
      external_labels: { cluster: props.cluster },
    },
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`${serviceHost(ALERTMANAGER)}:${ALERTMANAGER.ports!.http}`] }] }],
    },
    rule_files: [`${RULES_DIR}/*.yaml`],
    scrape_configs: [...props.scrapeJobs],
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

/** What Prometheus reads of the model and the render. */
export interface PrometheusProps {
  /** The node it runs on (`services.prometheus.node`; its volume follows it). */
  readonly node: string;
  /** Days the TSDB keeps samples (`observability.prometheus.retentionDays`). */
  readonly retentionDays: number;
  /** Size of its volume in GiB; retention by size keeps 80% of it. */
  readonly storageGiB: number;
  /** Scrape and evaluation interval (`observability.scrapeInterval`), e.g. "30s". */
  readonly scrapeInterval: string;
  /** The `cluster` external label of every sample and alert (the platform's domain). */
  readonly cluster: string;
  /** Every scrape job (charts/observability/targets.ts `scrapeJobs`). */
  readonly scrapeJobs: readonly ScrapeConfig[];
  /** Its alerting and recording rules (`platformRuleGroups`). */
  readonly ruleGroups: readonly RuleGroup[];
  /** Every connection of the render: the `monitoring` namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/**
 * Prometheus and the `monitoring` namespace: a StatefulSet of one replica with its own volume,
 * and the RBAC its discovery needs (the per-namespace grants are `PrometheusDiscovery`'s).
 */
export class Prometheus extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'prometheus',
    namespace: MONITORING_NAMESPACE,
    // After the StorageClass, the ingress controller and the issuers (wave 2).
    syncWave: 3,
    connections: prometheusConnections,
  };

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const ns = MONITORING_NAMESPACE;
    new PlatformNamespace(this, 'namespace', { name: ns, workloads: MONITORING_WORKLOADS, plan: props.plan });

    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: ns }];
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { nonResourceUrLs: ['/metrics'], verbs: ['get'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects,
    });
    // Pod discovery: one ClusterRole holding the rule, granted namespace by namespace (a
    // RoleBinding to a ClusterRole grants it in that namespace only).
    new k8s.KubeClusterRole(this, 'discovery-role', {
      metadata: { name: DISCOVERY_ROLE, labels: standardLabels(DISCOVERY_ROLE, 'rbac') },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }],
    });
    // The RoleBindings are PrometheusDiscovery's (below): most namespaces do not exist yet.

    new WorkloadStatefulSet(this, 'prometheus', {
      workload: PROMETHEUS_SERVER,
      component: 'server',
      image: IMAGES.prometheus,
      identity: { uid: UID, fsGroup: UID },
      // Service discovery and the kubelet, cAdvisor and API server scrapes use this token.
      automountToken: true,
      node: props.node,
      // Lets the TSDB close its head block cleanly before the pod is killed.
      terminationGracePeriodSeconds: 300,
      args: [
        `--config.file=${CONFIG_DIR}/prometheus.yml`,
        `--storage.tsdb.path=${DATA_DIR}`,
        `--storage.tsdb.retention.time=${props.retentionDays}d`,
        `--storage.tsdb.retention.size=${retentionSize(props.storageGiB)}`,
        `--web.listen-address=:${PROMETHEUS_SERVER.ports!.http}`,
      ],
      readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
      livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, periodSeconds: 15, failureThreshold: 10 },
      // WAL replay after a restart can take minutes on a full TSDB.
      startupProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10, failureThreshold: 60 },
      resources: resources('250m', '1Gi', '2', '3Gi'),
      volumes: [
        WorkloadVolume.configFiles('config', { 'prometheus.yml': toYaml(prometheusConfig(props)) }, [{ mountPath: CONFIG_DIR }]),
        WorkloadVolume.configFiles('rules', ruleFiles(props.ruleGroups), [{ mountPath: RULES_DIR }]),
        WorkloadVolume.dataClaim('data', DATA_DIR, { storage: `${props.storageGiB}Gi`, storageClassName: STORAGE_CLASS }),
      ],
    });
  }
}

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
/** What the discovery grants read of the render. */
export interface PrometheusDiscoveryProps {
  /** Every connection of the render: the namespaces of its pod targets come from it. */
  readonly plan: NetworkPlan;
}

export class PrometheusDiscovery extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'prometheus-discovery',
    namespace: MONITORING_NAMESPACE,
    syncWave: DISCOVERY_SYNC_WAVE,
  };

  constructor(scope: Construct, id: string, props: PrometheusDiscoveryProps) {
    super(scope, id);
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: MONITORING_NAMESPACE }];
    for (const target of discoveryNamespaces(props.plan)) {
      new k8s.KubeRoleBinding(this, `role-binding-${target}`, {
        // One file per object: the namespace is part of the name.
        metadata: { name: `${DISCOVERY_ROLE}-${target}`, namespace: target, labels: standardLabels(DISCOVERY_ROLE, 'rbac') },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: DISCOVERY_ROLE },
        subjects,
      });
    }
  }
}
