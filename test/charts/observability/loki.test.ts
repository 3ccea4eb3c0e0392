import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Loki, lokiConfig, SCHEMA_FROM, type LokiProps } from '../../../charts/observability/loki';
import { describePeer, KUBE_DNS, PROMETHEUS } from '../../../charts/lib/network';
import { LOKI } from '../../../charts/observability/workloads';
import { validateCoreObject } from '../../support/schemas';

const PROPS: LokiProps = { node: 'node-a', retentionDays: 14, storageGiB: 30 };

function synth(props: LokiProps = PROPS): any[] {
  const chart = Testing.chart();
  new Loki(chart, 'loki', props);
  return Testing.synth(chart);
}

const find = (objects: any[], kind: string) => objects.find((o) => o.kind === kind);

describe('Loki', () => {
  it('GIVEN 14 days of retention WHEN rendered THEN it runs as one binary, single-tenant, with the in-memory ring and the TSDB v13 schema, and deletes logs after 336h', () => {
    const config = parse(find(synth(), 'ConfigMap').data['loki.yaml']);
    expect(config.auth_enabled).toBe(false);
    expect(config.common.ring.kvstore).toEqual({ store: 'inmemory' });
    expect(config.schema_config.configs).toEqual([{ from: SCHEMA_FROM, store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }]);
    expect(config.limits_config.retention_period).toBe('336h');
    expect(config.limits_config.max_query_lookback).toBe('336h');
    expect(config.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
  });

  it('GIVEN a one-node platform keeping logs 3 days WHEN configured THEN the retention is 72h', () => {
    expect((lokiConfig({ retentionDays: 3 }).limits_config as any).retention_period).toBe('72h');
  });

  it('GIVEN a node and a volume size WHEN rendered THEN a StatefulSet on that node keeps its chunks on a ceph-rbd claim of that size', () => {
    const sts = find(synth(), 'StatefulSet');
    const pod = sts.spec.template.spec;
    expect(pod.containers[0].args).toEqual(['-config.file=/etc/loki/loki.yaml', '-target=all']);
    expect(pod.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: '30Gi' } } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/loki' });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('GIVEN the defaults WHEN rendered THEN its HTTP API on 3100 is the one port, behind a headless Service, and probes use it by name', () => {
    const objects = synth();
    const service = find(objects, 'Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3100, targetPort: 'http', protocol: 'TCP' }]);
    const container = find(objects, 'StatefulSet').spec.template.spec.containers[0];
    expect(container.ports).toEqual([{ name: 'http', containerPort: 3100, protocol: 'TCP' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(parse(find(objects, 'ConfigMap').data['loki.yaml']).server.http_listen_port).toBe(3100);
  });

  it('GIVEN the defaults WHEN rendered THEN every object is valid against the pinned Kubernetes schemas', () => {
    for (const object of synth()) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN its registration WHEN the render plans the network THEN only DNS and the Prometheus scrape of port 3100 leave or reach Loki by its own declaration', () => {
    const connections = Loki.registration.connections!({} as never);
    expect(connections.map((c) => [describePeer(c.from), describePeer(c.to), c.ports, c.purpose])).toEqual([
      [describePeer({ workload: LOKI }), describePeer({ workload: KUBE_DNS }), [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], 'DNS'],
      [describePeer({ workload: PROMETHEUS }), describePeer({ workload: LOKI }), [{ port: 3100 }], 'metrics scrape'],
    ]);
  });
});
