import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { KSM_RESOURCES, KubeStateMetrics } from '../../../charts/observability/kube-state-metrics';
import { validateCoreObject } from '../../support/schemas';

function synth(): any[] {
  const chart = Testing.chart();
  new KubeStateMetrics(chart, 'ksm', { node: 'node-a' });
  return Testing.synth(chart);
}

describe('kube-state-metrics', () => {
  it('GIVEN its kinds WHEN rendered THEN it lists and watches exactly the kinds it exports, never Secrets or ConfigMaps', () => {
    const objects = synth();
    const role = objects.find((o) => o.kind === 'ClusterRole');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'pods', 'services'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], verbs: ['list', 'watch'] },
      { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['list', 'watch'] },
    ]);
    expect(JSON.stringify(role.rules)).not.toMatch(/secrets|configmaps/);
    const args = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].args;
    expect(args).toContain(`--resources=${Object.keys(KSM_RESOURCES).sort().join(',')}`);
  });

  it('GIVEN a node WHEN rendered THEN the binding grants the role to its own account, whose token the pod mounts, and it has no Service', () => {
    const objects = synth();
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kube-state-metrics' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kube-state-metrics', namespace: 'monitoring' }]);
    const pod = objects.find((o) => o.kind === 'Deployment').spec.template.spec;
    expect(pod.serviceAccountName).toBe('kube-state-metrics');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(pod.containers[0].ports.map((p: any) => [p.name, p.containerPort])).toEqual([['metrics', 8080], ['telemetry', 8081]]);
    expect(objects.filter((o) => o.kind === 'Service')).toEqual([]);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});
