import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { policyExceptions } from '../../common/policy-exceptions';
import { declaredExceptions } from '../../policy/exceptions';
import { clone, compliantObjects, defaultDeny, k8sViolations, namespace } from './fixtures';

/** node-exporter as upstream renders it: hostNetwork, hostPID, read-only /proc, /sys and /. */
function nodeExporter(): KubeObject[] {
  const base = clone(compliantObjects()).filter((o) => !['Service', 'Namespace', 'NetworkPolicy'].includes(o.kind)) as any[];
  const ds = base.find((o) => o.kind === 'Deployment');
  ds.kind = 'DaemonSet';
  ds.metadata = {
    name: 'node-exporter',
    namespace: 'node-exporter',
    labels: { 'app.kubernetes.io/name': 'node-exporter' },
    annotations: policyExceptions({
      'K8S-SEC-01': 'host metrics need the host network and process namespaces',
      'K8S-SEC-08': 'reads /proc, /sys and / of the host, read-only',
    }),
  };
  delete ds.spec.replicas;
  ds.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'node-exporter' };
  ds.spec.template.metadata.labels = { 'app.kubernetes.io/name': 'node-exporter' };
  const pod = ds.spec.template.spec;
  Object.assign(pod, { hostNetwork: true, hostPID: true, serviceAccountName: 'demo' });
  pod.volumes = [
    { name: 'proc', hostPath: { path: '/proc' } },
    { name: 'sys', hostPath: { path: '/sys' } },
    { name: 'root', hostPath: { path: '/' } },
  ];
  pod.containers[0].volumeMounts = [
    { name: 'proc', mountPath: '/host/proc', readOnly: true },
    { name: 'sys', mountPath: '/host/sys', readOnly: true },
    { name: 'root', mountPath: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' },
  ];
  for (const o of base) o.metadata.namespace = 'node-exporter';
  const ns = namespace('node-exporter', 'privileged');
  ns.metadata.annotations = policyExceptions({ 'K8S-SEC-11': 'node-exporter needs host namespaces and host mounts' });
  const egress: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'node-exporter', namespace: 'node-exporter' },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'node-exporter' } }, policyTypes: ['Egress'], egress: [] },
  };
  return [ns, defaultDeny('node-exporter'), egress, ...base];
}

const daemonSet = (objects: KubeObject[]) => objects.find((o) => o.kind === 'DaemonSet') as any;

describe('policy exceptions', () => {
  it('waive exactly what the allow list grants, when declared and narrow', () => {
    expect(k8sViolations(nodeExporter())).toEqual([]);
    expect(declaredExceptions(nodeExporter().map((object) => ({ path: '', object }))).map((e) => `${e.rule} ${e.ref} [${e.component}]`)).toEqual([
      'K8S-SEC-11 Namespace/-/node-exporter [node-exporter (host namespaces and read-only host mounts)]',
      'K8S-SEC-01 DaemonSet/node-exporter/node-exporter [node-exporter (host metrics)]',
      'K8S-SEC-08 DaemonSet/node-exporter/node-exporter [node-exporter (host metrics)]',
    ]);
  });

  it('POLICY-EXC-02 fails when node-exporter mounts a host path writable or one upstream does not need', () => {
    const objects = nodeExporter();
    daemonSet(objects).spec.template.spec.containers[0].volumeMounts[0].readOnly = false;
    daemonSet(objects).spec.template.spec.volumes.push({ name: 'etc', hostPath: { path: '/etc' } });
    expect(k8sViolations(objects)).toEqual([
      'POLICY-EXC-02  DaemonSet/node-exporter/node-exporter  exception for node-exporter (host metrics) is broader than upstream needs: container app mounts /proc writable; mount it readOnly: true',
      'POLICY-EXC-02  DaemonSet/node-exporter/node-exporter  exception for node-exporter (host metrics) is broader than upstream needs: mounts hostPath /etc; only /proc, /sys, / are allowed',
    ]);
  });

  it('POLICY-EXC-02 fails when an exception namespace goes below the level its profile allows', () => {
    const objects = clone(compliantObjects());
    objects[0] = namespace('builds', 'privileged');
    objects[0].metadata.annotations = policyExceptions({ 'K8S-SEC-11': 'Kaniko runs as root inside its build container' });
    for (const o of objects.slice(1)) o.metadata.namespace = 'builds';
    expect(k8sViolations(objects)).toEqual([
      'POLICY-EXC-02  Namespace/-/builds  exception for Kaniko builds (root inside the build container) is broader than upstream needs: enforces privileged; this namespace may go down to baseline and no further',
    ]);
  });

  it('POLICY-EXC-01 fails when an ordinary workload declares an exception, and the violation stands', () => {
    const objects = clone(compliantObjects());
    const deployment = objects.find((o) => o.kind === 'Deployment') as any;
    deployment.metadata.annotations = policyExceptions({ 'K8S-SEC-07': 'the app writes its cache into its root filesystem' });
    deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    expect(k8sViolations(objects)).toEqual([
      'K8S-SEC-07  Deployment/demo/demo  container app has a writable root filesystem; set readOnlyRootFilesystem: true and mount emptyDir where it writes',
      'POLICY-EXC-01  Deployment/demo/demo  declares an exception to K8S-SEC-07 that the allow list (policy/exceptions.ts) does not grant to this object; meet the rule instead',
    ]);
  });

  it('POLICY-EXC-03 fails when a declared exception waives nothing', () => {
    const objects = nodeExporter();
    delete daemonSet(objects).spec.template.spec.hostNetwork;
    delete daemonSet(objects).spec.template.spec.hostPID;
    expect(k8sViolations(objects)).toEqual([
      'POLICY-EXC-03  DaemonSet/node-exporter/node-exporter  declares an exception to K8S-SEC-01 it does not need; remove it',
    ]);
  });

  it('keeps the log shipper to read-only log mounts and off host namespaces', () => {
    const objects = nodeExporter();
    const ds = daemonSet(objects);
    ds.metadata.labels['app.kubernetes.io/name'] = 'log-shipper';
    ds.metadata.annotations = policyExceptions({ 'K8S-SEC-08': 'reads node and pod logs from the host, read-only' });
    const pod = ds.spec.template.spec;
    delete pod.hostNetwork;
    delete pod.hostPID;
    pod.volumes = [{ name: 'logs', hostPath: { path: '/var/log' } }];
    pod.containers[0].volumeMounts = [{ name: 'logs', mountPath: '/var/log', readOnly: true }];
    const withoutNamespace = objects.filter((o) => o.kind !== 'Namespace');
    expect(k8sViolations(withoutNamespace)).toEqual([]);
    pod.containers[0].volumeMounts[0].readOnly = false;
    pod.hostNetwork = true;
    expect(k8sViolations(withoutNamespace)).toEqual([
      'K8S-SEC-01  DaemonSet/node-exporter/node-exporter  pod sets hostNetwork: true; remove it (the pod shares the node\'s namespace)',
      'POLICY-EXC-02  DaemonSet/node-exporter/node-exporter  exception for log shipper (reads node and pod logs) is broader than upstream needs: container app mounts /var/log writable; mount it readOnly: true',
      'POLICY-EXC-02  DaemonSet/node-exporter/node-exporter  exception for log shipper (reads node and pod logs) is broader than upstream needs: uses a host namespace; it only reads files',
    ]);
  });

  it('keeps the Kaniko build pod unprivileged, off the host and under seccomp', () => {
    const objects = clone(compliantObjects()) as any[];
    const pod = objects.find((o) => o.kind === 'Deployment');
    pod.kind = 'Job';
    pod.apiVersion = 'batch/v1';
    pod.metadata = { name: 'kaniko', namespace: 'demo', labels: { 'app.kubernetes.io/name': 'kaniko' }, annotations: policyExceptions({ 'K8S-SEC-05': 'Kaniko unpacks the base image as root' }) };
    pod.spec = { template: pod.spec.template };
    delete pod.spec.template.spec.securityContext.runAsNonRoot;
    pod.spec.template.spec.securityContext.runAsUser = 0;
    pod.spec.template.spec.containers[0].securityContext.privileged = true;
    pod.spec.template.spec.volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
    const found = k8sViolations(objects.filter((o) => o.kind !== 'Service'));
    expect(found).toContain('K8S-SEC-02  Job/demo/kaniko  container app is privileged; remove securityContext.privileged');
    expect(found).toContain('POLICY-EXC-02  Job/demo/kaniko  exception for Kaniko build pod (Jenkins agent) is broader than upstream needs: mounts a hostPath; Kaniko needs none (never the docker socket)');
    expect(found).toContain('POLICY-EXC-02  Job/demo/kaniko  exception for Kaniko build pod (Jenkins agent) is broader than upstream needs: container app is privileged');
    expect(found.some((v) => v.startsWith('K8S-SEC-05'))).toBe(false);
  });

  it('refuses a badly formed declaration where it is built', () => {
    expect(() => policyExceptions({})).toThrow('policyExceptions: name at least one rule id and its reason');
    expect(() => policyExceptions({ 'sec 1': 'a good reason here' })).toThrow('policyExceptions: "sec 1" is not a rule id such as "K8S-SEC-01"');
    expect(() => policyExceptions({ 'K8S-SEC-01': 'short' })).toThrow('policyExceptions: K8S-SEC-01: give a reason of at least 10 characters without ";"');
  });
});
