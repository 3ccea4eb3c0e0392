/**
 * kube-state-metrics: the state of Kubernetes objects as metrics (node conditions, pod phases and
 * restarts, workload replicas, volume claims). Upstream's ClusterRole reads every kind it could
 * export, Secrets and ConfigMaps included; this one lists and watches exactly the kinds
 * `--resources` enables, and no Secret.
 *
 * @see https://github.com/kubernetes/kube-state-metrics/blob/main/docs/developer/cli-arguments.md
 */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { standardLabels } from '../lib/labels';
import { dnsAccess, kubeApiAccess, scrapedBy } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { WorkloadDeployment } from '../lib/workload';
import { KUBE_STATE_METRICS, MONITORING_NAMESPACE } from './workloads';

const NAME = KUBE_STATE_METRICS.name;
const UID = 65534;

/** `--resources` name -> the API group and resource it lists and watches. */
export const KSM_RESOURCES: Readonly<Record<string, { group: string; resource: string }>> = {
  cronjobs: { group: 'batch', resource: 'cronjobs' },
  daemonsets: { group: 'apps', resource: 'daemonsets' },
  deployments: { group: 'apps', resource: 'deployments' },
  jobs: { group: 'batch', resource: 'jobs' },
  namespaces: { group: '', resource: 'namespaces' },
  nodes: { group: '', resource: 'nodes' },
  persistentvolumeclaims: { group: '', resource: 'persistentvolumeclaims' },
  persistentvolumes: { group: '', resource: 'persistentvolumes' },
  pods: { group: '', resource: 'pods' },
  replicasets: { group: 'apps', resource: 'replicasets' },
  services: { group: '', resource: 'services' },
  statefulsets: { group: 'apps', resource: 'statefulsets' },
};

/** ClusterRole rules: one per API group, list and watch only. */
export function ksmRules(): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const groups = [...new Set(Object.values(KSM_RESOURCES).map((r) => r.group))].sort();
  return groups.map((group) => ({
    apiGroups: [group],
    resources: Object.values(KSM_RESOURCES).filter((r) => r.group === group).map((r) => r.resource).sort(),
    verbs: ['list', 'watch'],
  }));
}

/** What kube-state-metrics reads of the model. */
export interface KubeStateMetricsProps {
  /** The node it runs on: Prometheus' (`services.prometheus.node`), the only reader of its metrics. */
  readonly node: string;
}

/** kube-state-metrics: a Deployment with a ClusterRole that lists and watches exactly its kinds. */
export class KubeStateMetrics extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'kube-state-metrics',
    namespace: MONITORING_NAMESPACE,
    syncWave: 4,
    connections: (platform) => [
      dnsAccess(KUBE_STATE_METRICS),
      ...kubeApiAccess(KUBE_STATE_METRICS, platform),
      scrapedBy(KUBE_STATE_METRICS, 'metrics'),
      scrapedBy(KUBE_STATE_METRICS, 'telemetry'),
    ],
  };

  constructor(scope: Construct, id: string, props: KubeStateMetricsProps) {
    super(scope, id);
    const ns = MONITORING_NAMESPACE;
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      rules: ksmRules(),
    });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
    });
    new WorkloadDeployment(this, 'kube-state-metrics', {
      workload: KUBE_STATE_METRICS,
      component: 'metrics',
      image: IMAGES.kubeStateMetrics,
      identity: { uid: UID },
      // It lists and watches the API (the ClusterRole above).
      automountToken: true,
      node: props.node,
      args: [
        `--port=${KUBE_STATE_METRICS.ports!.metrics}`,
        `--telemetry-port=${KUBE_STATE_METRICS.ports!.telemetry}`,
        `--resources=${Object.keys(KSM_RESOURCES).sort().join(',')}`,
      ],
      ports: ['metrics', 'telemetry'],
      // No Service: Prometheus discovers the pod itself, and nothing else reads it.
      service: false,
      readinessProbe: { httpGet: { path: '/readyz', port: 'telemetry' }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: '/livez', port: 'metrics' }, periodSeconds: 15, failureThreshold: 6 },
      resources: resources('25m', '64Mi', '500m', '256Mi'),
    });
  }
}
