/**
 * kube-state-metrics: the state of Kubernetes objects as metrics (node conditions, pod phases and
 * restarts, workload replicas, volume claims). Upstream's ClusterRole reads every kind it could
 * export, Secrets and ConfigMaps included; this one lists and watches exactly the kinds
 * `--resources` enables, and no Secret.
 *
 * @see https://github.com/kubernetes/kube-state-metrics/blob/main/docs/developer/cli-arguments.md
 */
import { ApiObject, type Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { standardLabels } from '../lib/labels';
import { dnsAccess, kubeApiAccess, scrapedBy, type Connection } from '../lib/network';
import { nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import { RESTRICTED_CONTAINER_SECURITY, containerPorts, podLabels, resources, restrictedPodSecurity, selectorOf, serviceAccount } from './pod';
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

export const kubeStateMetrics: ServiceDefinition = {
  name: 'kube-state-metrics',
  namespace: MONITORING_NAMESPACE,
  syncWave: 4,
  connections: (platform: Platform): Connection[] => [
    dnsAccess(KUBE_STATE_METRICS),
    ...kubeApiAccess(KUBE_STATE_METRICS, platform),
    scrapedBy(KUBE_STATE_METRICS, 'metrics'),
    scrapedBy(KUBE_STATE_METRICS, 'telemetry'),
  ],
  build(chart: Chart, platform: Platform) {
    const ns = MONITORING_NAMESPACE;
    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: true });
    new ApiObject(chart, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      rules: ksmRules(),
    });
    new ApiObject(chart, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: standardLabels(NAME, 'rbac') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
    });
    // No Service: Prometheus discovers the pod itself, and nothing else reads it.
    new ApiObject(chart, 'deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: ns, labels: podLabels(KUBE_STATE_METRICS, 'metrics') },
      spec: {
        replicas: 1,
        selector: selectorOf(KUBE_STATE_METRICS),
        template: {
          metadata: { labels: podLabels(KUBE_STATE_METRICS, 'metrics') },
          spec: {
            serviceAccountName: NAME,
            // It lists and watches the API (the ClusterRole above).
            automountServiceAccountToken: true,
            nodeSelector: nodeSelectorFor(platform, 'prometheus'),
            securityContext: restrictedPodSecurity(UID),
            containers: [
              {
                name: 'kube-state-metrics',
                image: IMAGES.kubeStateMetrics,
                args: [
                  `--port=${KUBE_STATE_METRICS.ports!.metrics}`,
                  `--telemetry-port=${KUBE_STATE_METRICS.ports!.telemetry}`,
                  `--resources=${Object.keys(KSM_RESOURCES).sort().join(',')}`,
                ],
                ports: containerPorts(KUBE_STATE_METRICS, ['metrics', 'telemetry']),
                readinessProbe: { httpGet: { path: '/readyz', port: 'telemetry' }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/livez', port: 'metrics' }, periodSeconds: 15, failureThreshold: 6 },
                resources: resources('25m', '64Mi', '500m', '256Mi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
              },
            ],
          },
        },
      },
    });
  },
};
