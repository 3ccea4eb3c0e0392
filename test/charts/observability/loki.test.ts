import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { lokiConfig } from '../../../charts/observability/loki';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';

const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);

describe('Loki', () => {
  it('runs as one binary with its chunks and index on ceph-rbd, keeping logs as long as the model says', () => {
    const config = parse((parse(defaultRender().get('k8s/platform/loki/configmap-loki-config.yaml')!) as any).data['loki.yaml']);
    expect(config.auth_enabled).toBe(false);
    expect(config.common.ring.kvstore).toEqual({ store: 'inmemory' });
    expect(config.schema_config.configs).toEqual([{ from: '2026-01-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }]);
    expect(config.limits_config.retention_period).toBe('336h');
    expect(config.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
    const sts = objects().find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'loki');
    expect(sts.spec.template.spec.containers[0].args).toEqual(['-config.file=/etc/loki/loki.yaml', '-target=all']);
    expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: `${loadDefaultPlatform().observability.loki.storageGiB}Gi` } } });
    expect(sts.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-master' });
  });

  it('follows the model: a one-node platform keeps logs 3 days', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    expect((lokiConfig(single).limits_config as any).retention_period).toBe('72h');
  });
});
