import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../charts/lib/service';
import { clone, compliantObjects, k8sViolations } from '../fixtures';

/** The compliant set with its Deployment's pod spec changed by `change`. */
function withPod(change: (pod: any, container: any) => void): KubeObject[] {
  const objects = clone(compliantObjects());
  const deployment = objects.find((o) => o.kind === 'Deployment') as any;
  change(deployment.spec.template.spec, deployment.spec.template.spec.containers[0]);
  return objects;
}

const REF = 'Deployment/demo/demo';

describe('pod and container rules', () => {
  it('pass on a compliant workload', () => {
    expect(k8sViolations(compliantObjects())).toEqual([]);
  });

  const cases: [string, (pod: any, c: any) => void, string][] = [
    ['K8S-SEC-01', (pod) => (pod.hostNetwork = true), "pod sets hostNetwork: true; remove it (the pod shares the node's namespace)"],
    ['K8S-SEC-02', (_p, c) => (c.securityContext.privileged = true), 'container app is privileged; remove securityContext.privileged'],
    ['K8S-SEC-03', (_p, c) => delete c.securityContext.allowPrivilegeEscalation, 'container app does not set securityContext.allowPrivilegeEscalation: false; set it explicitly'],
    ['K8S-SEC-04', (_p, c) => (c.securityContext.capabilities.drop = ['all']), 'container app does not drop all capabilities; set securityContext.capabilities.drop: ["ALL"] (upper case)'],
    ['K8S-SEC-04', (_p, c) => (c.securityContext.capabilities.add = ['NET_ADMIN']), 'container app adds NET_ADMIN; add at most NET_BIND_SERVICE'],
    ['K8S-SEC-05', (pod) => delete pod.securityContext.runAsNonRoot, 'container app may run as root; set runAsNonRoot: true on the pod or container'],
    ['K8S-SEC-05', (_p, c) => (c.securityContext.runAsGroup = 0), 'container app runs with GID 0; run with a non-zero GID (e.g. 65532)'],
    ['K8S-SEC-06', (pod) => delete pod.securityContext.seccompProfile, 'container app has seccomp profile (none); set securityContext.seccompProfile.type: RuntimeDefault on the pod'],
    ['K8S-SEC-06', (_p, c) => (c.securityContext.seccompProfile = { type: 'Unconfined' }), 'container app has seccomp profile Unconfined; set securityContext.seccompProfile.type: RuntimeDefault on the pod'],
    ['K8S-SEC-07', (_p, c) => (c.securityContext.readOnlyRootFilesystem = false), 'container app has a writable root filesystem; set readOnlyRootFilesystem: true and mount emptyDir where it writes'],
    ['K8S-SEC-08', (pod) => (pod.volumes[0] = { name: 'tmp', hostPath: { path: '/var/run/docker.sock' } }), 'volume tmp mounts the container runtime socket /var/run/docker.sock; never do this (it is root on the node)'],
    ['K8S-SEC-08', (pod) => (pod.volumes[0] = { name: 'tmp', hostPath: { path: '/data' } }), 'volume tmp mounts hostPath /data; use a PersistentVolumeClaim, emptyDir or ConfigMap'],
    ['K8S-SEC-09', (_p, c) => (c.ports[0].hostPort = 8080), 'container app binds hostPort 8080; expose it through a Service instead'],
    ['K8S-SEC-10', (pod) => (pod.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]), 'pod sets unsafe sysctl kernel.msgmax; remove it'],
    ['K8S-IMG-01', (_p, c) => (c.image = 'registry.example.com/demo'), 'container app image "registry.example.com/demo" has no tag; pin an exact version from config/versions.ts'],
    ['K8S-IMG-01', (_p, c) => (c.image = 'demo:latest'), 'container app image "demo:latest" uses latest; pin an exact version from config/versions.ts'],
    ['K8S-RES-01', (_p, c) => (c.resources = { requests: { cpu: '10m' } }), 'container app has no requests.memory, limits.memory; set them (the scheduler and the OOM killer need them)'],
    ['K8S-PRB-01', (_p, c) => delete c.readinessProbe, 'container app has no readinessProbe; add one so traffic waits until it is ready'],
    ['K8S-PRB-01', (_p, c) => delete c.livenessProbe, 'container app has no livenessProbe; add one so a hung process is restarted'],
    ['K8S-PRB-01', (_p, c) => (c.livenessProbe = clone(c.readinessProbe)), 'container app has identical readiness and liveness probes; check liveness on a cheaper or different endpoint'],
    ['K8S-PRB-01', (_p, c) => (c.livenessProbe = { tcpSocket: { port: 9999 } }), 'container app probes port 9999, which it does not declare in ports; declare it'],
  ];

  for (const [rule, change, message] of cases) {
    it(`${rule} fails when: ${message.split(';')[0]}`, () => {
      expect(k8sViolations(withPod(change))).toEqual([`${rule}  ${REF}  ${message}`]);
    });
  }

  it('does not ask Jobs for probes (they run to completion)', () => {
    const objects = clone(compliantObjects()).filter((o) => o.kind !== 'Service');
    const deployment = objects.find((o) => o.kind === 'Deployment') as any;
    const container = deployment.spec.template.spec.containers[0];
    delete container.readinessProbe;
    delete container.livenessProbe;
    const job = { ...deployment, apiVersion: 'batch/v1', kind: 'Job', spec: { template: { ...deployment.spec.template, spec: { ...deployment.spec.template.spec, restartPolicy: 'Never' } } } };
    expect(k8sViolations([...objects.filter((o) => o.kind !== 'Deployment'), job])).toEqual([]);
  });
});
