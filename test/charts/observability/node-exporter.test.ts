import { describe, expect, it } from 'vitest';
import { defaultRender, kubeObjects } from '../../support/render';

const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);

describe('node-exporter', () => {
  it('runs as upstream needs and no broader: host network and PID, /proc, /sys and / read-only, user 65534, no privilege', () => {
    const ds = objects().find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'node-exporter');
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
});
