import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeObject } from '../../charts/lib/service';
import { policyExceptions } from '../../common/policy-exceptions';
import { clone, deployment, k8sViolations, namespace, defaultDeny } from './fixtures';

/** A JCasC ConfigMap whose Kubernetes cloud has one pod template, as charts/build/jenkins.ts renders it. */
function cascWith(pod: unknown): KubeObject {
  const casc = { jenkins: { clouds: [{ kubernetes: { name: 'kubernetes', namespace: 'builds', templates: [{ name: 'agent', label: 'agent', yaml: stringify(pod) }] } }] } };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'jenkins-config', namespace: 'jenkins' }, data: { 'jenkins.yaml': stringify(casc) } };
}

function agentPod(): any {
  const template = (clone(deployment()).spec as any).template;
  template.spec.restartPolicy = 'Never';
  template.spec.serviceAccountName = 'agent';
  return { apiVersion: 'v1', kind: 'Pod', metadata: { labels: { 'app.kubernetes.io/name': 'agent' } }, spec: template.spec };
}

const builds = (): KubeObject[] => [
  namespace('builds'),
  defaultDeny('builds'),
  namespace('jenkins'),
  defaultDeny('jenkins'),
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent', namespace: 'builds' }, automountServiceAccountToken: false },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-agent', namespace: 'builds' },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'agent' } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] },
  },
];

describe('pods created at run time from rendered templates (Jenkins pod templates)', () => {
  it('are checked like rendered pods: a compliant template passes and selects its NetworkPolicy', () => {
    expect(k8sViolations([...builds(), cascWith(agentPod())])).toEqual([]);
    // Without the template, the policy selects no rendered pod.
    expect(k8sViolations(builds())).toEqual(['K8S-NET-02  NetworkPolicy/builds/allow-agent  selects no rendered pod; fix its podSelector or remove it']);
  });

  it('fail on what a rendered pod would fail on', () => {
    const pod = agentPod();
    pod.spec.containers[0].securityContext.privileged = true;
    expect(k8sViolations([...builds(), cascWith(pod)])).toEqual(['K8S-SEC-02  Pod/builds/agent  container app is privileged; remove securityContext.privileged']);
  });
});

describe("the kubernetes plugin's Role in the builds namespace", () => {
  const role = (rules: unknown[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'jenkins-agents', namespace: 'builds', annotations: policyExceptions({ 'K8S-RBAC-02': 'the kubernetes plugin execs into build containers' }) },
    rules,
  });

  it('may grant pods/exec (create, get) there, as a declared exception', () => {
    expect(k8sViolations([role([{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] }])])).toEqual([]);
  });

  it('may not grant attach, nor more exec verbs', () => {
    expect(k8sViolations([role([{ apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['create', 'get', 'delete'] }])])).toEqual([
      'POLICY-EXC-02  Role/builds/jenkins-agents  exception for Jenkins kubernetes plugin (runs pipeline steps in build containers through exec) is broader than upstream needs: grants pods/attach or "*"; exec is all the plugin needs',
      'POLICY-EXC-02  Role/builds/jenkins-agents  exception for Jenkins kubernetes plugin (runs pipeline steps in build containers through exec) is broader than upstream needs: grants pods/exec verbs beyond create and get',
    ]);
  });
});
