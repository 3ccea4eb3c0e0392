import { describe, expect, it } from 'vitest';
import { KSM_RESOURCES } from '../../../charts/observability/kube-state-metrics';
import { defaultRender, kubeObjects } from '../../support/render';

const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);

describe('kube-state-metrics', () => {
  it('lists and watches exactly the kinds it exports, never Secrets or ConfigMaps', () => {
    const role = objects().find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'kube-state-metrics');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'pods', 'services'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], verbs: ['list', 'watch'] },
      { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['list', 'watch'] },
    ]);
    const args = objects().find((o) => o.kind === 'Deployment' && o.metadata.name === 'kube-state-metrics').spec.template.spec.containers[0].args;
    expect(args).toContain(`--resources=${Object.keys(KSM_RESOURCES).sort().join(',')}`);
    expect(JSON.stringify(role.rules)).not.toMatch(/secrets|configmaps/);
  });
});
