import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadPlatformFile } from '../../../config';
import { IMAGES } from '../../../config/versions';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { REDIS_CONSUMER, REDIS_USERS, Redis, redisConf, type RedisProps } from '../../../charts/data/redis';
import { secretPath } from '../../../charts/lib/vault';
import { ROOT } from '../../support/render';
import { validateCoreObject } from '../../support/schemas';

const PROPS: RedisProps = { node: 'node-b', storageGiB: 7, maxMemoryMiB: 1024, vaultTlsServerName: 'vault.example.com' };

function synth(props: RedisProps = PROPS): any[] {
  const chart = Testing.chart();
  new Redis(chart, 'redis', props);
  return Testing.synth(chart);
}
const find = (objects: any[], kind: string, name = 'redis') => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === 'databases');

describe('Redis', () => {
  const statefulSet = (props?: RedisProps) => find(synth(props), 'StatefulSet');
  const pod = (props?: RedisProps) => statefulSet(props).spec.template.spec;
  const conf = (props?: RedisProps) => find(synth(props), 'ConfigMap', 'redis-config').data['redis.conf'];

  it('GIVEN a node and a volume size WHEN rendered THEN it is one StatefulSet on that node behind the headless Service redis:6379, with redis_exporter on 9121, its file on a ceph-rbd claim of that size', () => {
    const objects = synth();
    expect(find(objects, 'Service').spec).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'redis' } });
    expect(find(objects, 'Service').spec.ports.map((p: any) => p.port)).toEqual([6379, 9121]);
    const set = find(objects, 'StatefulSet');
    expect(set.spec.template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([['redis', IMAGES.redis], ['exporter', IMAGES.redisExporter]]);
    expect(set.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-b' });
    expect(set.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: '7Gi' } } });
    expect(set.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('GIVEN any props WHEN rendered THEN the fields a running StatefulSet cannot change keep the values it was created with: selector, serviceName, podManagementPolicy and the claim template named data with the cache labels', () => {
    const set = statefulSet();
    expect(set.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'redis' } });
    expect(set.spec.serviceName).toBe('redis');
    expect(set.spec.podManagementPolicy).toBe('OrderedReady');
    expect(set.spec.volumeClaimTemplates.map((t: any) => t.metadata)).toEqual([{ name: 'data', labels: set.metadata.labels }]);
    expect(set.metadata.labels['app.kubernetes.io/component']).toBe('cache');
  });

  it('GIVEN 1024 MiB of memory WHEN rendered THEN it persists every write, never evicts, and sizes the container above maxmemory', () => {
    expect(conf()).toBe(redisConf(PROPS));
    expect(conf()).toContain('appendonly yes\n');
    expect(conf()).toContain('maxmemory 1024mb\nmaxmemory-policy noeviction\n');
    expect(pod().containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '1024Mi' }, limits: { cpu: '1', memory: '1280Mi' } });
  });

  it('GIVEN 301 MiB of memory WHEN rendered THEN the container limit is a quarter more, rounded up', () => {
    const small = { ...PROPS, maxMemoryMiB: 301 };
    expect(conf(small)).toContain('maxmemory 301mb\n');
    expect(pod(small).containers[0].resources.limits.memory).toBe('377Mi');
  });

  it('GIVEN any props WHEN rendered THEN it runs restricted: non-root 999, read-only root, no capabilities, seccomp, no API token', () => {
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod().automountServiceAccountToken).toBe(false);
    for (const c of pod().containers) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('GIVEN the declared clients WHEN rendered THEN every client authenticates as its own ACL user with a hashed password from Vault; the default user may only PING', () => {
    expect(conf()).toContain('user default on nopass resetkeys resetchannels -@all +ping\n');
    expect(REDIS_USERS.map((u) => u.user)).toEqual(['gitlab', 'harbor', 'exporter']);
    expect(conf()).toContain('include /vault/secrets/gitlab\ninclude /vault/secrets/harbor\ninclude /vault/secrets/exporter\n');
    const annotations = statefulSet().spec.template.metadata.annotations;
    expect(annotations['vault.hashicorp.com/role']).toBe('redis');
    expect(annotations['vault.hashicorp.com/tls-server-name']).toBe('vault.example.com');
    expect(annotations['vault.hashicorp.com/agent-inject-template-harbor']).toBe(
      '{{- with secret "secret/data/redis/harbor" -}}\nuser harbor reset on #{{ .Data.data.password | sha256Hex }} ~* &* +@all -flushall -shutdown -debug -replicaof -slaveof -failover -monitor -module -acl|setuser -acl|deluser -acl|load -acl|save -config|set -config|rewrite\n{{- end }}\n',
    );
    // The exporter's JSON password file comes from the same Vault entry as its ACL line.
    expect(REDIS_CONSUMER.secrets.map((s) => secretPath(REDIS_CONSUMER, s))).toEqual([
      'secret/data/redis/gitlab',
      'secret/data/redis/harbor',
      'secret/data/redis/exporter',
      'secret/data/redis/exporter',
    ]);
    expect(pod().containers[1].args).toEqual(['--redis.addr=redis://localhost:6379', '--redis.user=exporter', '--redis.password-file=/vault/secrets/exporter-targets']);
    // The exporter's user cannot write or read values beyond the metrics it needs.
    expect(REDIS_USERS[2].rules).toMatch(/^resetkeys ~\* resetchannels -@all /);
    expect(REDIS_USERS[2].rules).not.toMatch(/\+@all|\+set\b|\+del\b|\+flush/);
  });

  it('GIVEN any props WHEN rendered THEN it probes readiness with PING and liveness on the port (different checks)', () => {
    const [redis] = pod().containers;
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '-c', 'test "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG']);
    expect(redis.livenessProbe.tcpSocket).toEqual({ port: 'redis' });
  });

  it('GIVEN its registration WHEN the render plans the network THEN it asks only for DNS and lets Prometheus scrape 9121; its clients declare 6379 themselves', () => {
    const connections = Redis.registration.connections!({} as never);
    expect(connections.map((c) => [c.purpose, 'workload' in c.from ? c.from.workload.name : '', 'workload' in c.to ? c.to.workload.name : '', c.ports.map((p) => p.port)])).toEqual([
      ['DNS', 'redis', 'kube-dns', [53, 53]],
      ['metrics scrape', 'prometheus', 'redis', [9121]],
    ]);
  });

  it('GIVEN any props WHEN rendered THEN every object is a valid Kubernetes object', () => {
    for (const object of synth()) expect(validateCoreObject(object), `${object.kind}/${object.metadata.name}`).toBeUndefined();
  });

  it('GIVEN the one-node model WHEN the catalogue builds Redis THEN node, volume, memory and the Vault name come from the model', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const chart = Testing.chart();
    PLATFORM_SERVICES.find((s) => s.name === 'redis')!.build(chart, single, { connections: [] });
    const objects = Testing.synth(chart) as any[];
    const set = objects.find((o) => o.kind === 'StatefulSet');
    expect(set.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': single.services.redis.node });
    expect(set.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${single.redis.storageGiB}Gi`);
    expect(objects.find((o) => o.kind === 'ConfigMap').data['redis.conf']).toContain(`maxmemory ${single.redis.maxMemoryMiB}mb\n`);
    expect(set.spec.template.metadata.annotations['vault.hashicorp.com/tls-server-name']).toBe(single.services.vault.host);
  });
});
