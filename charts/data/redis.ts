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
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { IMAGES } from '../../config/versions';
import { dnsAccess, scrapedBy, type Connection } from '../lib/network';
import { STORAGE_CLASS } from '../lib/placement';
import type { ServiceRegistration } from '../lib/service';
import { vaultAgentPodFor, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { DATABASES_NAMESPACE, REDIS, REDIS_PORT } from '../lib/data-endpoints';
import { DATA_SYNC_WAVE } from '../lib/sync-waves';
import { READ_AT_START, vaultFile } from '../lib/vault-access';
import { WorkloadStatefulSet, WorkloadVolume } from '../lib/workload';

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

/** redis.conf: what differs from the defaults, and why. */
export function redisConf(props: Pick<RedisProps, 'maxMemoryMiB'>): string {
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
    `maxmemory ${props.maxMemoryMiB}mb`,
    // Never drop keys (job queues): refuse writes when full, and alert on memory instead.
    'maxmemory-policy noeviction',
    'databases 16',
    'user default on nopass resetkeys resetchannels -@all +ping',
    ...REDIS_USERS.map((u) => `include ${vaultFile(u.user)}`),
    '',
  ].join('\n');
}

export interface RedisProps {
  /** The node the pod runs on (`services.redis.node` of the model, checked there). */
  readonly node: string;
  /** The size of the append-only file's volume in GiB (`redis.storageGiB`). */
  readonly storageGiB: number;
  /** Redis' own memory limit in MiB (`redis.maxMemoryMiB`): the container's request; its limit is a quarter more. */
  readonly maxMemoryMiB: number;
  /** The name Vault's certificate is issued for, which the Vault agent verifies (`vaultTlsServerName`). */
  readonly vaultTlsServerName: string;
}

/**
 * The Redis server on the workload family: its ServiceAccount, configuration ConfigMap, headless
 * Service and StatefulSet, with its exporter beside the server. Every object keeps the `cache`
 * labels it was created with (its claim template cannot change on a running StatefulSet) and the
 * pod does not roll on a configuration checksum, so `dist/` is what it was as typed objects
 * (docs/decisions/0111-data-services-typed-objects.md).
 */
export class Redis extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'redis',
    namespace: DATABASES_NAMESPACE,
    syncWave: DATA_SYNC_WAVE,
    connections: (): Connection[] => [dnsAccess(REDIS), scrapedBy(REDIS)],
    secretConsumers: () => [REDIS_CONSUMER],
  };

  readonly statefulSet: k8s.KubeStatefulSet;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const agent = vaultAgentPodFor(REDIS_CONSUMER, props.vaultTlsServerName);
    // The container may use a quarter more than Redis' own limit (buffers, fork for rewrites).
    const memoryLimitMiB = Math.ceil(props.maxMemoryMiB * 1.25);

    const workload = new WorkloadStatefulSet(this, 'redis', {
      workload: REDIS,
      component: 'cache',
      labelObjectsLikeWorkload: true,
      rollOnConfigChange: false,
      vaultVolumesFirst: true,
      image: IMAGES.redis,
      automountToken: false,
      identity: { uid: REDIS_UID, fsGroup: REDIS_UID },
      node: props.node,
      ports: ['redis'],
      service: { ports: ['redis', 'metrics'] },
      command: ['redis-server', '/etc/redis/redis.conf'],
      // Ready once it answers PING (the default user may do nothing else); alive while the port answers.
      readinessProbe: { exec: ['sh', '-c', `test "$(redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping)" = PONG`], periodSeconds: 10, timeoutSeconds: 5 },
      livenessProbe: { tcpPort: 'redis', initialDelaySeconds: 15, periodSeconds: 20, failureThreshold: 6 },
      // Loading a large append-only file after a restart takes a while.
      startupProbe: { tcpPort: 'redis', periodSeconds: 5, failureThreshold: 120 },
      resources: { requests: { cpu: '100m', memory: `${props.maxMemoryMiB}Mi` }, limits: { cpu: '1', memory: `${memoryLimitMiB}Mi` } },
      terminationGracePeriodSeconds: 60,
      vaultAgent: { ...agent, annotations: { ...agent.annotations, ...READ_AT_START } },
      volumes: [
        WorkloadVolume.dataClaim('data', '/data', { storage: `${props.storageGiB}Gi`, storageClassName: STORAGE_CLASS }),
        WorkloadVolume.configFiles('config', { 'redis.conf': redisConf(props) }, [{ mountPath: '/etc/redis' }]),
        WorkloadVolume.emptyDir('tmp', '/tmp', '64Mi'),
      ],
      sidecars: [
        {
          name: 'exporter',
          image: IMAGES.redisExporter,
          args: [`--redis.addr=${EXPORTER_ADDRESS}`, '--redis.user=exporter', `--redis.password-file=${vaultFile(EXPORTER_TARGETS)}`],
          ports: ['metrics'],
          readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 10 },
          livenessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
        },
      ],
      // Written out as the StatefulSet was created: podManagementPolicy cannot change on it.
      podManagementPolicy: 'OrderedReady',
      updateStrategy: 'RollingUpdate',
    });
    this.statefulSet = workload.resource;
  }
}
