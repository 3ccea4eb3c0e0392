import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { IMAGES } from '../../../config/versions';
import { REDIS_CONSUMER, REDIS_USERS, redisConf } from '../../../charts/data/redis';
import { secretPath } from '../../../charts/lib/vault';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { defaultRender, kubeObjects } from '../../support/render';

const objects = kubeObjects(defaultRender()).map(({ object }) => object as any);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === 'databases');

describe('Redis', () => {
  const statefulSet = () => find('StatefulSet', 'redis');
  const pod = () => statefulSet().spec.template.spec;

  it('is one StatefulSet behind the headless Service redis:6379, with redis_exporter on 9121', () => {
    expect(find('Service', 'redis').spec).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'redis' } });
    expect(find('Service', 'redis').spec.ports.map((p: any) => p.port)).toEqual([6379, 9121]);
    expect(pod().containers.map((c: any) => [c.name, c.image])).toEqual([['redis', IMAGES.redis], ['exporter', IMAGES.redisExporter]]);
    expect(pod().nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-01' });
    expect(statefulSet().spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: `${loadDefaultPlatform().redis.storageGiB}Gi` } } });
  });

  it('persists every write, never evicts, and sizes the container above maxmemory', () => {
    const conf = find('ConfigMap', 'redis-config').data['redis.conf'];
    expect(conf).toBe(redisConf(loadDefaultPlatform()));
    expect(conf).toContain('appendonly yes\n');
    expect(conf).toContain('maxmemory 1024mb\nmaxmemory-policy noeviction\n');
    expect(pod().containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '1024Mi' }, limits: { cpu: '1', memory: '1280Mi' } });
  });

  it('authenticates every client as its own ACL user with a hashed password from Vault; the default user may only PING', () => {
    const conf = find('ConfigMap', 'redis-config').data['redis.conf'];
    expect(conf).toContain('user default on nopass resetkeys resetchannels -@all +ping\n');
    expect(REDIS_USERS.map((u) => u.user)).toEqual(['gitlab', 'harbor', 'exporter']);
    expect(conf).toContain('include /vault/secrets/gitlab\ninclude /vault/secrets/harbor\ninclude /vault/secrets/exporter\n');
    const annotations = statefulSet().spec.template.metadata.annotations;
    expect(annotations['vault.hashicorp.com/role']).toBe('redis');
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

  it('probes readiness with PING and liveness on the port (different checks)', () => {
    const [redis] = pod().containers;
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '-c', 'test "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG']);
    expect(redis.livenessProbe.tcpSocket).toEqual({ port: 'redis' });
  });

  it('admits only GitLab, Harbor (6379) and Prometheus (9121) on the network', () => {
    const evaluator = new NetworkPolicyEvaluator(objects);
    let ip = 20;
    const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ pod: { namespace, labels, ip: `10.42.8.${ip++}` } });
    const redis = pod('databases', { 'app.kubernetes.io/name': 'redis' });
    const allowed = (from: Endpoint, port: number) => evaluator.allows({ from, to: redis, port });
    for (const app of ['webservice', 'sidekiq', 'toolbox', 'migrations', 'gitlab-exporter']) expect(allowed(pod('gitlab', { app }), 6379), app).toBe(true);
    for (const component of ['core', 'jobservice', 'registry', 'trivy', 'exporter']) expect(allowed(pod('harbor', { component }), 6379), component).toBe(true);
    expect(allowed(pod('gitlab', { app: 'gitaly' }), 6379)).toBe(false);
    expect(allowed(pod('harbor', { component: 'portal' }), 6379)).toBe(false);
    expect(allowed(pod('databases', { 'app.kubernetes.io/name': 'postgresql' }), 6379)).toBe(false);
    expect(allowed(pod('argocd', { 'app.kubernetes.io/name': 'argocd-redis' }), 6379)).toBe(false);
    expect(allowed(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), 9121)).toBe(true);
    expect(allowed(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), 6379)).toBe(false);
  });
});
