/**
 * PostgreSQL for GitLab and Harbor: one StatefulSet `postgresql` in namespace `databases`, on the
 * node the model places it (`services.postgresql.node`), its data on a `ceph-rbd` volume.
 *
 * Credentials come from Vault through the agent injector, as files, read once at start:
 *  - `secret/postgresql/superuser` (key `password`): the `postgres` superuser, for an operator
 *    connecting over the network (local socket connections inside the pod are trusted);
 *  - `secret/postgresql/<user>` (key `password`): each application user (`gitlab`, `harbor`).
 * The init container `init` creates the cluster on first start, then (every start) creates the
 * users and databases that are missing and sets every password from the files: idempotent, so a
 * password rotated in Vault takes effect at the next restart, and a database added here appears.
 *
 * postgres_exporter runs beside it (port 9187) and connects through the pod's local socket as the
 * `postgres_exporter` role (member of `pg_monitor`), so it needs no password.
 *
 * @see https://www.postgresql.org/docs/17/app-initdb.html
 * @see https://github.com/prometheus-community/postgres_exporter
 */
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { IMAGES } from '../../config/versions';
import { dnsAccess, scrapedBy, type Connection } from '../lib/network';
import { STORAGE_CLASS } from '../lib/placement';
import type { ServiceRegistration } from '../lib/service';
import { vaultAgentPodFor, type SecretConsumer } from '../lib/vault';
import { DATABASES, DATABASES_NAMESPACE, POSTGRESQL, type DatabaseOwner } from '../lib/data-endpoints';
import { DATA_SYNC_WAVE } from '../lib/sync-waves';
import { READ_AT_START, rawValueTemplate, vaultFile } from '../lib/vault-access';
import { WorkloadStatefulSet, WorkloadVolume } from '../lib/workload';

/** The role the exporter connects as (through the local socket, no password). */
export const EXPORTER_ROLE = 'postgres_exporter';

/** The image's `postgres` user; the data directory, socket and files belong to it. */
const POSTGRES_UID = 999;
const DATA_MOUNT = '/var/lib/postgresql/data';
/** A subdirectory: initdb wants an empty directory, and a fresh ext4 volume holds lost+found. */
export const PGDATA = `${DATA_MOUNT}/pgdata`;
const SOCKET_DIR = '/var/run/postgresql';
const CONFIG_DIR = '/etc/postgresql';
const INIT_DIR = '/etc/postgresql-init';

export const POSTGRESQL_CONSUMER: SecretConsumer = {
  name: 'postgresql',
  namespace: DATABASES_NAMESPACE,
  serviceAccount: 'postgresql',
  secrets: [{ name: 'superuser', keys: ['password'] }, ...DATABASES.map((d) => ({ name: d.user, keys: ['password'] }))].map((secret) => ({
    ...secret,
    template: rawValueTemplate(`secret/data/postgresql/${secret.name}`),
  })),
};

/** SQL identifiers we generate are plain lowercase names; anything else is a programming error. */
function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`postgresql: "${name}" is not a plain SQL identifier`);
  return name;
}

/**
 * The SQL the init step runs through psql on every start. Passwords are read from the agent's
 * files by psql itself (backticks) and quoted by psql (`:'var'`), so they never appear in a
 * process's arguments or in this file.
 */
export function initSql(databases: readonly DatabaseOwner[] = DATABASES, secretsDir = '/vault/secrets'): string {
  const file = (name: string) => `${secretsDir}/${name}`;
  const lines = [
    '-- Rendered by the platform synthesizer (charts/data/postgresql.ts); runs at every start.',
    '\\set ON_ERROR_STOP on',
    `\\set password \`cat ${file('superuser')}\``,
    'ALTER ROLE postgres WITH PASSWORD :\'password\';',
    `SELECT 'CREATE ROLE ${EXPORTER_ROLE} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${EXPORTER_ROLE}')\\gexec`,
    `GRANT pg_monitor TO ${EXPORTER_ROLE};`,
  ];
  for (const { user, database, extensions } of databases) {
    const u = identifier(user);
    const d = identifier(database);
    lines.push(
      `-- ${u}: owns ${d}`,
      `\\set password \`cat ${file(u)}\``,
      `SELECT 'CREATE ROLE ${u}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${u}')\\gexec`,
      `ALTER ROLE ${u} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';`,
      `SELECT 'CREATE DATABASE ${d} OWNER ${u} ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${d}')\\gexec`,
      `ALTER DATABASE ${d} OWNER TO ${u};`,
      `REVOKE ALL ON DATABASE ${d} FROM PUBLIC;`,
      `GRANT CONNECT ON DATABASE ${d} TO ${EXPORTER_ROLE};`,
    );
    if (extensions.length) {
      lines.push(`\\connect ${d}`, ...extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS ${identifier(e)};`), '\\connect postgres');
    }
  }
  lines.push('\\unset password', '');
  return lines.join('\n');
}

/**
 * The init step: initdb on an empty volume (superuser password from its file), then a server on
 * the local socket only, the SQL above, and a clean stop. `set -eu`: any failure stops the pod.
 */
export const INIT_SCRIPT = `#!/bin/sh
# Rendered by the platform synthesizer (charts/data/postgresql.ts).
set -eu
: "\${PGDATA:?PGDATA must be set}"
: "\${INIT_SQL:=${INIT_DIR}/init.sql}"
: "\${SUPERUSER_PASSWORD_FILE:=${vaultFile('superuser')}}"
: "\${POSTGRESQL_CONF:=${CONFIG_DIR}/postgresql.conf}"
: "\${SOCKET_DIR:=${SOCKET_DIR}}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "init: creating the cluster in $PGDATA"
  initdb --pgdata="$PGDATA" --username=postgres --pwfile="$SUPERUSER_PASSWORD_FILE" \\
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
fi

echo "init: creating missing users and databases, setting passwords"
pg_ctl --pgdata="$PGDATA" --wait --silent \\
  --options="-c config_file=$POSTGRESQL_CONF -c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start
trap 'pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop' EXIT
psql --no-psqlrc --quiet --host="$SOCKET_DIR" --username=postgres --dbname=postgres --file="$INIT_SQL"
echo "init: done"
`;

/** postgresql.conf: what differs from the defaults, and why. */
export function postgresqlConf(): string {
  return [
    '# Rendered by the platform synthesizer (charts/data/postgresql.ts).',
    "listen_addresses = '*'",
    'port = 5432',
    `unix_socket_directories = '${SOCKET_DIR}'`,
    `hba_file = '${CONFIG_DIR}/pg_hba.conf'`,
    // GitLab (Puma, Sidekiq, migrations) and Harbor (core, jobservice, exporter) share the server.
    'max_connections = 300',
    'shared_buffers = 512MB',
    'effective_cache_size = 1536MB',
    'password_encryption = scram-sha-256',
    // Logs go to the container's stderr, where the cluster's log shipper reads them.
    "log_destination = 'stderr'",
    'logging_collector = off',
    'log_min_duration_statement = 2000',
    'log_connections = off',
    '',
  ].join('\n');
}

/**
 * pg_hba.conf: the local socket (only this pod's containers reach it: the init step and the
 * exporter) is trusted, as in the official image; every network connection needs a password.
 */
export function pgHbaConf(): string {
  return [
    '# Rendered by the platform synthesizer (charts/data/postgresql.ts).',
    '# TYPE  DATABASE  USER  ADDRESS    METHOD',
    'local   all       all              trust',
    'host    all       all   0.0.0.0/0  scram-sha-256',
    '',
  ].join('\n');
}

export interface PostgresqlProps {
  /** The node the pod runs on (`services.postgresql.node` of the model, checked there). */
  readonly node: string;
  /** The size of the data volume in GiB (`postgresql.storageGiB`). */
  readonly storageGiB: number;
  /** The name Vault's certificate is issued for, which the Vault agent verifies (`vaultTlsServerName`). */
  readonly vaultTlsServerName: string;
}

/**
 * The PostgreSQL server on the workload family: its ServiceAccount, configuration and init
 * ConfigMaps, headless Service and StatefulSet, with the init container and the exporter beside
 * the server. Every object keeps the `database` labels it was created with (its claim template
 * cannot change on a running StatefulSet) and the pod does not roll on a configuration checksum,
 * so `dist/` is what it was as typed objects (docs/decisions/0111-data-services-typed-objects.md).
 */
export class Postgresql extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'postgresql',
    namespace: DATABASES_NAMESPACE,
    syncWave: DATA_SYNC_WAVE,
    connections: (): Connection[] => [dnsAccess(POSTGRESQL), scrapedBy(POSTGRESQL)],
    secretConsumers: () => [POSTGRESQL_CONSUMER],
  };

  readonly statefulSet: k8s.KubeStatefulSet;

  constructor(scope: Construct, id: string, props: PostgresqlProps) {
    super(scope, id);
    const agent = vaultAgentPodFor(POSTGRESQL_CONSUMER, props.vaultTlsServerName);
    const env: k8s.EnvVar[] = [{ name: 'PGDATA', value: PGDATA }];

    const workload = new WorkloadStatefulSet(this, 'postgresql', {
      workload: POSTGRESQL,
      component: 'database',
      labelObjectsLikeWorkload: true,
      rollOnConfigChange: false,
      vaultVolumesFirst: true,
      image: IMAGES.postgres,
      // It never calls the Kubernetes API; the Vault agent gets its own projected token.
      automountToken: false,
      identity: { uid: POSTGRES_UID, fsGroup: POSTGRES_UID },
      node: props.node,
      // Headless (the family's StatefulSet Service): clients resolve postgresql.databases.svc to the pod.
      ports: ['postgres'],
      service: { ports: ['postgres', 'metrics'] },
      command: ['postgres', '-D', PGDATA, '-c', `config_file=${CONFIG_DIR}/postgresql.conf`],
      env,
      // Ready once it accepts connections; alive while its port answers.
      readinessProbe: { exec: ['pg_isready', '--host', SOCKET_DIR, '--username', 'postgres', '--dbname', 'postgres'], periodSeconds: 10, timeoutSeconds: 5 },
      livenessProbe: { tcpPort: 'postgres', initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
      startupProbe: { tcpPort: 'postgres', periodSeconds: 10, failureThreshold: 60 },
      resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
      // A fast shutdown with a checkpoint can take a while on a busy server.
      terminationGracePeriodSeconds: 120,
      vaultAgent: { ...agent, annotations: { ...agent.annotations, ...READ_AT_START } },
      volumes: [
        // Deleting the StatefulSet (or scaling it down) keeps the volume: the data outlives the pod.
        WorkloadVolume.dataClaim('data', DATA_MOUNT, { storage: `${props.storageGiB}Gi`, storageClassName: STORAGE_CLASS }),
        WorkloadVolume.configFiles('config', { 'postgresql.conf': postgresqlConf(), 'pg_hba.conf': pgHbaConf() }, [{ mountPath: CONFIG_DIR }]),
        WorkloadVolume.configFiles('init', { 'init.sh': INIT_SCRIPT, 'init.sql': initSql() }, [{ mountPath: INIT_DIR }]),
        // The socket the init step and the exporter connect through: tiny, and never on a disk.
        WorkloadVolume.memoryDir('socket', SOCKET_DIR, '1Mi'),
        WorkloadVolume.emptyDir('tmp', '/tmp', '256Mi'),
      ],
      mounts: ['data', 'config', 'socket', 'tmp'],
      initContainers: [
        {
          name: 'init',
          image: IMAGES.postgres,
          command: ['/bin/sh', `${INIT_DIR}/init.sh`],
          env,
          resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
          mounts: ['data', 'config', 'init', 'socket', 'tmp'],
        },
      ],
      sidecars: [
        {
          name: 'exporter',
          image: IMAGES.postgresExporter,
          env: [{ name: 'DATA_SOURCE_NAME', value: `postgresql://${EXPORTER_ROLE}@/postgres?host=${SOCKET_DIR}&sslmode=disable` }],
          ports: ['metrics'],
          readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 10 },
          livenessProbe: { httpGet: { path: '/', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
          // The exporter sees only the socket.
          mounts: ['socket'],
        },
      ],
      // Written out as the StatefulSet was created: podManagementPolicy cannot change on it.
      podManagementPolicy: 'OrderedReady',
      updateStrategy: 'RollingUpdate',
    });
    this.statefulSet = workload.resource;
  }
}
