import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fluentBitConfig, LogShipper } from '../../../charts/observability/log-shipper';
import { validateCoreObject } from '../../support/schemas';

function objects(): any[] {
  const chart = Testing.chart();
  // Its own declared connections are the plan its namespace renders policies from.
  new LogShipper(chart, 'log-shipper', { plan: { connections: LogShipper.registration.connections!({} as never) } });
  return Testing.synth(chart);
}
const daemonSet = () => objects().find((o) => o.kind === 'DaemonSet');

describe('the log shipper (Fluent Bit)', () => {
  it('GIVEN no model WHEN rendered THEN it reads pod logs and the journal from read-only host mounts only, as a non-root user without an API token', () => {
    const pod = daemonSet().spec.template.spec;
    expect(daemonSet().metadata.namespace).toBe('logging');
    expect(daemonSet().metadata.labels['app.kubernetes.io/name']).toBe('fluent-bit');
    expect(pod.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/var/log/pods', '/var/log/journal', '/etc/machine-id']);
    const hostMounts = pod.containers[0].volumeMounts.filter((m: any) => ['pod-logs', 'journal', 'machine-id'].includes(m.name));
    expect(hostMounts.every((m: any) => m.readOnly === true)).toBe(true);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, supplementalGroups: [0, 4] });
    expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(daemonSet().metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-SEC-08: reads the node and pod logs/);
    expect(objects().find((o) => o.kind === 'Namespace' && o.metadata.name === 'logging').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('GIVEN the CRI log path WHEN configured THEN each stream is labelled from the path and pushed to Loki, and the ConfigMap holds that configuration', () => {
    const config = fluentBitConfig() as any;
    expect(config.parsers[0].regex).toBe('^/var/log/pods/(?<namespace>[^_/]+)_(?<pod>[^_/]+)_(?<pod_uid>[^/]+)/(?<container>[^/]+)/[^/]+$');
    const path = '/var/log/pods/monitoring_loki-0_1f2e3d4c-aaaa-bbbb-cccc-0123456789ab/loki/0.log';
    const match = new RegExp(config.parsers[0].regex.replace(/\(\?<(\w+)>/g, '(?<$1>')).exec(path);
    expect(match?.groups).toEqual({ namespace: 'monitoring', pod: 'loki-0', pod_uid: '1f2e3d4c-aaaa-bbbb-cccc-0123456789ab', container: 'loki' });
    expect(config.pipeline.inputs.map((i: any) => [i.name, i.path])).toEqual([['tail', '/var/log/pods/*/*/*.log'], ['systemd', '/var/log/journal']]);
    expect(config.pipeline.outputs.map((o: any) => [o.match, o.host, o.port])).toEqual([['pods.*', 'loki.monitoring.svc', 3100], ['journal.*', 'loki.monitoring.svc', 3100]]);
    expect(config.pipeline.outputs[0].labels).toBe('job=pods, node=${NODE_NAME}, $namespace, $pod, $container, $stream');
    const configMap = objects().find((o) => o.kind === 'ConfigMap');
    expect(configMap.metadata.name).toBe('fluent-bit-config');
    expect(parse(configMap.data['fluent-bit.yaml'])).toEqual(config);
    for (const object of objects()) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});
