import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { NodeExporter } from '../../../charts/observability/node-exporter';
import { validateCoreObject } from '../../support/schemas';

function synth(): any[] {
  const chart = Testing.chart();
  // Its own declared connections are the plan its namespace renders policies from.
  new NodeExporter(chart, 'node-exporter', { plan: { connections: NodeExporter.registration.connections!({} as never) } });
  return Testing.synth(chart);
}

describe('node-exporter', () => {
  it('GIVEN no model WHEN rendered THEN it runs as upstream needs and no broader: host network and PID, /proc, /sys and / read-only, user 65534, no privilege', () => {
    const objects = synth();
    const ds = objects.find((o) => o.kind === 'DaemonSet');
    const pod = ds.spec.template.spec;
    expect(ds.metadata.namespace).toBe('node-exporter');
    expect([pod.hostNetwork, pod.hostPID, pod.hostIPC ?? false]).toEqual([true, true, false]);
    expect(pod.volumes).toEqual([
      { name: 'proc', hostPath: { path: '/proc' } },
      { name: 'sys', hostPath: { path: '/sys' } },
      { name: 'root', hostPath: { path: '/' } },
    ]);
    expect(pod.containers[0].volumeMounts.every((m: any) => m.readOnly === true)).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 });
    expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    // It listens on the node's own address, not every interface of the host.
    expect(pod.containers[0].args).toContain('--web.listen-address=$(HOST_IP):9100');
    expect(ds.metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-SEC-01: .*; K8S-SEC-08: /);
  });

  it('GIVEN no model WHEN rendered THEN its namespace is privileged with the reason written down, and every object is schema-valid', () => {
    const objects = synth();
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe('node-exporter');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(objects.filter((o) => o.kind === 'Service')).toEqual([]);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});
