/**
 * Redis for GitLab and Harbor: one StatefulSet `redis` in namespace `databases`, on the node the
 * model places it (`services.redis.node`), its append-only file on a `ceph-rbd` volume.
 *
 * Every client has its own ACL user whose password lives in Vault (`secret/redis/<user>`, key
 * `password`); the Vault agent renders each user's ACL line with the SHA-256 of the password
 * (`#<hash>`), so the plain password is never in a file Redis reads. The `default` user (what an
 * unauthenticated connection is) may only PING, for the readiness probe. GitLab and Harbor use
 * separate logical databases (`REDIS_DATABASES`). redis_exporter runs beside it (port 9121) as
 * the read-only `exporter` user.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
 * @see https://github.com/oliver006/redis_exporter
 */
import { ApiObject, type Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { standardLabels } from '../lib/labels';
import { dnsAccess, scrapedBy, type Connection } from '../lib/network';
import { STORAGE_CLASS, nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import { vaultAgentPod, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { DATABASES_NAMESPACE, REDIS, REDIS_PORT } from '../lib/data-endpoints';
import { DATA_SYNC_WAVE } from '../lib/sync-waves';
import { READ_AT_START, vaultFile } from '../lib/vault-access';
import { RESTRICTED_CONTAINER_SECURITY, restrictedPodSecurity } from '../lib/security-context';

/** A client's ACL user. */
export interface RedisUser {
  readonly user: string;
  /** ACL rules after the password (keys, channels, commands). */
  readonly rules: string;
}

/**
 * Applications may use every key and command except the ones that act on the whole server
 * (wiping every database, shutting down, replication, changing the configuration or the ACLs).
 */
const APPLICATION_RULES = '~* &* +@all -flushall -shutdown -debug -replicaof -slaveof -failover -monitor -module -acl|setuser -acl|deluser -acl|load -acl|save -config|set -config|rewrite';

/** What redis_exporter needs to read (INFO, latency, slow log, client list, key counts), nothing that writes. */
const EXPORTER_RULES = 'resetkeys ~* resetchannels -@all +@connection +info +config|get +client|list +client|info +slowlog|get +slowlog|len +latency|latest +latency|histogram +memory|stats +dbsize +scan +type +strlen +llen +scard +zcard +hlen +xlen +pfcount +cluster|info';

export const REDIS_USERS: readonly RedisUser[] = [
  { user: 'gitlab', rules: APPLICATION_RULES },
  { user: 'harbor', rules: APPLICATION_RULES },
  { user: 'exporter', rules: EXPORTER_RULES },
];

const vaultPath = (user: string) => `secret/data/redis/${user}`;
const EXPORTER_TARGETS = 'exporter-targets';
const EXPORTER_ADDRESS = `redis://localhost:${REDIS_PORT}`;

/** One ACL line per user, the password as its SHA-256 (consul-template's sha256Hex). */
function aclSecret(user: RedisUser): VaultSecret {
  return {
    name: user.user,
    keys: ['password'],
    template: `{{- with secret "${vaultPath(user.user)}" -}}\nuser ${user.user} reset on #{{ .Data.data.password | sha256Hex }} ${user.rules}\n{{- end }}\n`,
  };
}

export const REDIS_CONSUMER: SecretConsumer = {
  name: 'redis',
  namespace: DATABASES_NAMESPACE,
  serviceAccount: 'redis',
  secrets: [
    ...REDIS_USERS.map(aclSecret),
    // The exporter's own password, as the JSON map (address -> password) its --redis.password-file reads.
    {
      name: EXPORTER_TARGETS,
      keys: ['password'],
      path: vaultPath('exporter'),
      template: `{{- with secret "${vaultPath('exporter')}" -}}\n{"${EXPORTER_ADDRESS}": {{ .Data.data.password | toJSON }}}\n{{- end }}\n`,
    },
  ],
};

/** The image's `redis` user. */
const REDIS_UID = 999;

export function redisConf(platform: Platform): string {
  return [
    '# Rendered by the platform synthesizer (charts/data/redis.ts).',
    // All addresses of the pod (IPv6 only if the cluster has it); the NetworkPolicy admits the clients.
    'bind * -::*',
    // Protected mode guards a default user without a password on an unbound port; here the default
    // user can only PING and every client authenticates as its own user.
    'protected-mode no',
    `port ${REDIS_PORT}`,
    'dir /data',
    // GitLab keeps its job queues here: the append-only file, fsynced every second.
    'appendonly yes',
    'appendfsync everysec',
    `maxmemory ${platform.redis.maxMemoryMiB}mb`,
    // Never drop keys (job queues): refuse writes when full, and alert on memory instead.
    'maxmemory-policy noeviction',
    'databases 16',
    'user default on nopass resetkeys resetchannels -@all +ping',
    ...REDIS_USERS.map((u) => `include ${vaultFile(u.user)}`),
    '',
  ].join('\n');
}

export const redis: ServiceDefinition = {
  name: 'redis',
  namespace: DATABASES_NAMESPACE,
  syncWave: DATA_SYNC_WAVE,
  connections: (): Connection[] => [dnsAccess(REDIS), scrapedBy(REDIS)],
  secretConsumers: () => [REDIS_CONSUMER],
  build(chart: Chart, platform: Platform) {
    const name = REDIS.name;
    const namespace = DATABASES_NAMESPACE;
    const labels = standardLabels(name, 'cache');
    const selector = { 'app.kubernetes.io/name': name };
    // The container may use a quarter more than Redis' own limit (buffers, fork for rewrites).
    const memoryLimitMiB = Math.ceil(platform.redis.maxMemoryMiB * 1.25);

    new ApiObject(chart, 'service-account', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: REDIS_CONSUMER.serviceAccount, namespace, labels },
      automountServiceAccountToken: false,
    });
    new ApiObject(chart, 'config', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-config`, namespace, labels },
      data: { 'redis.conf': redisConf(platform) },
    });
    new ApiObject(chart, 'service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: {
        clusterIP: 'None',
        selector,
        ports: [
          { name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' },
          { name: 'metrics', port: REDIS.ports!.metrics, targetPort: 'metrics', protocol: 'TCP' },
        ],
      },
    });

    new ApiObject(chart, 'statefulset', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace, labels },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: selector },
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: {
            labels: { ...labels, ...vaultAgentPod(REDIS_CONSUMER, platform).labels },
            annotations: { ...vaultAgentPod(REDIS_CONSUMER, platform).annotations, ...READ_AT_START },
          },
          spec: {
            serviceAccountName: REDIS_CONSUMER.serviceAccount,
            automountServiceAccountToken: false,
            nodeSelector: nodeSelectorFor(platform, 'redis'),
            securityContext: restrictedPodSecurity({ uid: REDIS_UID, fsGroup: REDIS_UID }),
            terminationGracePeriodSeconds: 60,
            containers: [
              {
                name: 'redis',
                image: IMAGES.redis,
                command: ['redis-server', '/etc/redis/redis.conf'],
                ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
                // Ready once it answers PING (the default user may do nothing else); alive while the port answers.
                readinessProbe: {
                  exec: { command: ['sh', '-c', `test "$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping)" = PONG`] },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                },
                livenessProbe: { tcpSocket: { port: 'redis' }, initialDelaySeconds: 15, periodSeconds: 20, failureThreshold: 6 },
                // Loading a large append-only file after a restart takes a while.
                startupProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5, failureThreshold: 120 },
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                resources: resources('100m', `${platform.redis.maxMemoryMiB}Mi`, '1', `${memoryLimitMiB}Mi`),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'config', mountPath: '/etc/redis', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
              {
                name: 'exporter',
                image: IMAGES.redisExporter,
                args: [`--redis.addr=${EXPORTER_ADDRESS}`, '--redis.user=exporter', `--redis.password-file=${vaultFile(EXPORTER_TARGETS)}`],
                ports: [{ name: 'metrics', containerPort: REDIS.ports!.metrics, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 10 },
                livenessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                resources: resources('10m', '32Mi', '200m', '128Mi'),
              },
            ],
            volumes: [
              ...vaultAgentPod(REDIS_CONSUMER, platform).volumes,
              { name: 'config', configMap: { name: `${name}-config` } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: STORAGE_CLASS,
              resources: { requests: { storage: `${platform.redis.storageGiB}Gi` } },
            },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
  },
};
