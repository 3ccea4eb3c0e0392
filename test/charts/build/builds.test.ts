import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { BuildsNamespace } from '../../../charts/build/builds';
import { JENKINS, KANIKO_AGENT, buildAgentName } from '../../../charts/build/names';
import { BUILDS_NAMESPACE, DEPLOY_AGENT } from '../../../charts/lib/delivery';
import { connect, dnsAccess, INGRESS_CONTROLLER, type NetworkPlan } from '../../../charts/lib/network';
import { validateCoreObject } from '../../support/schemas';

/** The least each build pod needs (every workload must connect somewhere), and Kaniko's way to Harbor. */
const PLAN: NetworkPlan = {
  connections: [dnsAccess(KANIKO_AGENT), dnsAccess(DEPLOY_AGENT), connect({ workload: KANIKO_AGENT }, INGRESS_CONTROLLER, ['https'], 'GitLab and Harbor')],
};

function synth(plan: NetworkPlan = PLAN, apps: readonly string[] = ['shop']): any[] {
  const chart = Testing.chart();
  new BuildsNamespace(chart, 'builds', { apps, plan });
  return Testing.synth(chart);
}

const find = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('the builds namespace', () => {
  it('GIVEN the build pods WHEN rendered THEN the namespace is at Pod Security baseline, as a declared exception', () => {
    const namespace = find(synth(), 'Namespace', BUILDS_NAMESPACE);
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('baseline');
    expect(namespace.metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-SEC-11: Kaniko build pods run as root/);
  });

  it('GIVEN the Jenkins controller WHEN rendered THEN it may manage pods in the builds namespace, exec narrowed to create and get, no secrets', () => {
    const objects = synth();
    const role = find(objects, 'Role', 'jenkins-agents');
    expect(role.metadata.namespace).toBe(BUILDS_NAMESPACE);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ]);
    expect(role.metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-RBAC-02: /);
    const binding = find(objects, 'RoleBinding', 'jenkins-agents');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'jenkins-agents' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: JENKINS.name, namespace: JENKINS.namespace }]);
    // Nothing cluster-wide.
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
  });

  it('GIVEN two apps WHEN rendered THEN each app\'s build pods have their own ServiceAccount (their own Vault role), and only the deploy agent mounts an API token', () => {
    const objects = synth(PLAN, ['shop', 'blog']);
    const accounts = objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name);
    expect(accounts).toEqual([buildAgentName('shop'), buildAgentName('blog'), DEPLOY_AGENT.name]);
    expect(accounts).not.toContain(KANIKO_AGENT.name);
    for (const app of ['shop', 'blog']) expect(find(objects, 'ServiceAccount', buildAgentName(app)).automountServiceAccountToken).toBe(false);
    expect(find(objects, 'ServiceAccount', DEPLOY_AGENT.name).automountServiceAccountToken).toBe(true);
  });

  it("GIVEN a build pod's connection WHEN rendered THEN the namespace denies by default and allows that connection", () => {
    const policies = synth().filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.map((p) => p.metadata.name)).toContain('default-deny');
    expect(policies.some((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === KANIKO_AGENT.name)).toBe(true);
  });

  it('GIVEN the builds namespace WHEN rendered THEN every object is a valid Kubernetes object in that namespace', () => {
    for (const object of synth()) {
      expect(validateCoreObject(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
      if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe(BUILDS_NAMESPACE);
    }
  });
});
