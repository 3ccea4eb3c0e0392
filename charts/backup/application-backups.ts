/**
 * Application-consistent backups, beside Velero's volume snapshots (issue 17): a crash-consistent
 * copy of a database's volume may not start cleanly, a logical dump and a raft snapshot do.
 *  - `postgresql-dump`: every day, `pg_dumpall --globals-only` (roles) and `pg_dump -Fc` of each
 *    platform database, from the pinned postgres image (the server's own major version);
 *  - `vault-snapshot`: every day, `vault operator raft snapshot save`, logged in through
 *    Kubernetes auth with a role that may read `sys/storage/raft/snapshot` only.
 * Both write to an emptyDir first (an init container), then an rclone container uploads the folder
 * to `s3://<backups.dumpBucket>/<kind>/<UTC time>/` on the RADOS Gateway and deletes what is older
 * than `backups.retentionDays`. The RGW keys come from Vault (agent, read once at start).
 * No PersistentVolumeClaim: nothing to count in the Ceph pool but the bucket itself.
 * Alerts: charts/observability/rules/backups.ts (APPLICATION_BACKUP_ALERT_RULES).
 * See docs/decisions/0086-database-dumps-and-snapshots.md and 0087-rclone-upload-tool.md.
 *
 * @see https://www.postgresql.org/docs/17/app-pgdump.html
 * @see https://developer.hashicorp.com/vault/docs/commands/operator/raft#snapshot-save
 * @see https://rclone.org/s3/#ceph
 */
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { DATABASES, POSTGRESQL, POSTGRESQL_HOST, POSTGRESQL_PORT } from '../lib/data-endpoints';
import { READ_AT_START, rawValueTemplate } from '../lib/vault-access';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { connect, dnsAccess, hosts, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import { WorkloadCronJob, WorkloadVolume, type WorkloadContainer } from '../lib/workload';
import { resources } from '../lib/kinds';
import type { ServiceRegistration } from '../lib/service';
import {
  KUBERNETES_AUTH_MOUNT,
  VAULT_ADDRESS,
  VAULT_AGENT_GID,
  VAULT_AGENT_UID,
  VAULT_TOKEN_VOLUME,
  secretFile,
  vaultAgentPodFor,
  type SecretConsumer,
  type VaultSecret,
} from '../lib/vault';
import { BACKUPS_NAMESPACE, POSTGRESQL_DUMP, RAFT_SNAPSHOT_ROLE, VAULT_SNAPSHOT } from '../lib/backup-jobs';
import { rgwEndpoint } from './velero';


/** After the databases (wave 11) they dump; Vault (wave 3) is up long before. */
export const BACKUPS_SYNC_WAVE = 12;

/** Both only call out (Jobs): every ingress is denied. */
export const POSTGRESQL_DUMP_WORKLOAD: Workload = { namespace: BACKUPS_NAMESPACE, name: POSTGRESQL_DUMP, receivesNothing: true };
export const VAULT_SNAPSHOT_WORKLOAD: Workload = { namespace: BACKUPS_NAMESPACE, name: VAULT_SNAPSHOT, receivesNothing: true };

/**
 * When each runs (UTC): before Velero's daily backup (seed 03:00), one after the other, so the
 * RADOS Gateway and PostgreSQL see one heavy reader at a time.
 */
export const DUMP_SCHEDULES = { [VAULT_SNAPSHOT]: '15 1 * * *', [POSTGRESQL_DUMP]: '30 1 * * *' } as const;
/** A run that has not finished by then is killed and counts as failed (alert). */
const JOB_DEADLINE_SECONDS = 3 * 3600;
/**
 * A finished Job (and its failed state) is kept 20 hours: long enough to read its logs, gone
 * before the next run, so the failed-run alert clears by itself and the missed-run alert (no
 * success for 25 hours) takes over if nothing succeeded since.
 */
const JOB_TTL_SECONDS = 20 * 3600;

/** The prefix of each kind in the dump bucket. */
export const DUMP_PREFIXES = { [POSTGRESQL_DUMP]: 'postgresql', [VAULT_SNAPSHOT]: 'vault' } as const;

/**
 * The RADOS Gateway keys of the dump bucket, one Vault entry both Jobs read, as an AWS shared
 * credentials file (rclone's `env_auth` reads it through the AWS SDK's default chain).
 */
const RGW_PATH = 'secret/data/backups/rgw';
const RGW_SECRET: VaultSecret = {
  name: 'rgw',
  keys: ['access_key_id', 'secret_access_key'],
  path: RGW_PATH,
  template: `{{- with secret "${RGW_PATH}" -}}\n[default]\naws_access_key_id={{ .Data.data.access_key_id }}\naws_secret_access_key={{ .Data.data.secret_access_key }}\n{{- end }}\n`,
};
/** PostgreSQL's superuser: pg_dumpall reads the roles' catalogue, which only a superuser may. */
const SUPERUSER_PATH = 'secret/data/postgresql/superuser';
const SUPERUSER_SECRET: VaultSecret = { name: 'superuser', keys: ['password'], path: SUPERUSER_PATH, template: rawValueTemplate(SUPERUSER_PATH) };

export const POSTGRESQL_DUMP_CONSUMER: SecretConsumer = {
  name: POSTGRESQL_DUMP,
  namespace: BACKUPS_NAMESPACE,
  serviceAccount: POSTGRESQL_DUMP,
  workload: POSTGRESQL_DUMP_WORKLOAD,
  secrets: [RGW_SECRET, SUPERUSER_SECRET],
};
export const VAULT_SNAPSHOT_CONSUMER: SecretConsumer = {
  name: VAULT_SNAPSHOT,
  namespace: BACKUPS_NAMESPACE,
  serviceAccount: VAULT_SNAPSHOT,
  workload: VAULT_SNAPSHOT_WORKLOAD,
  secrets: [RGW_SECRET],
};

/**
 * Vault entries no workload reads: copies an operator keeps for a restore (README runbook "Restore
 * GitLab"). GitLab's backup archive is useless without its Rails secret, which lives only in the
 * cluster; a copy in Vault travels with every raft snapshot.
 */
export const RESTORE_ONLY_VAULT_ENTRIES = [{ path: 'secret/backups/gitlab-rails-secret', key: 'secrets.yml' }] as const;

/** Where the dump or snapshot is written before the upload: an emptyDir both containers mount. */
const OUT_DIR = '/backup';
/** The projected token (audience vault) the snapshot container logs in with. */
const VAULT_TOKEN_DIR = '/var/run/secrets/vault';
const POSTGRES_UID = 999;
/** The rclone image runs as root by default; any unprivileged UID will do (it writes only to /tmp). */
const RCLONE_UID = 65532;

/** Runs in the postgres image: the roles, then one custom-format archive per database. */
export function dumpScript(databases: readonly string[] = DATABASES.map((d) => d.database)): string {
  return `#!/bin/sh
# Rendered by the platform synthesizer (charts/backup/application-backups.ts).
set -eu
PGPASSWORD=$(cat ${secretFile(SUPERUSER_SECRET)})
export PGPASSWORD
export PGHOST=${POSTGRESQL_HOST} PGPORT=${POSTGRESQL_PORT} PGUSER=postgres
# Roles and their grants (with password hashes): pg_restore needs the owners to exist.
pg_dumpall --globals-only --file=${OUT_DIR}/globals.sql
for database in ${databases.join(' ')}; do
  pg_dump --format=custom --dbname="$database" --file="${OUT_DIR}/$database.dump"
  echo "dumped $database"
done
`;
}

/** Runs in the vault image: a short-lived token for the snapshot role, the snapshot, the token revoked. */
export function snapshotScript(): string {
  return `#!/bin/sh
# Rendered by the platform synthesizer (charts/backup/application-backups.ts).
set -eu
VAULT_TOKEN=$(vault write -field=token auth/${KUBERNETES_AUTH_MOUNT}/login role=${RAFT_SNAPSHOT_ROLE} jwt=@${VAULT_TOKEN_DIR}/token)
export VAULT_TOKEN
vault operator raft snapshot save ${OUT_DIR}/vault.snap
vault token revoke -self
echo "snapshot saved"
`;
}

/**
 * Runs in the rclone image once the dump is complete: uploads the folder under a new UTC time
 * prefix, then deletes what is older than the retention (rclone compares the modification time
 * it stored with each object). Nothing is deleted unless the upload succeeded (`set -e`).
 */
export function uploadScript(prefix: string, retentionDays: number): string {
  return `#!/bin/sh
# Rendered by the platform synthesizer (charts/backup/application-backups.ts).
set -eu
# The agent's file with the RGW keys; rclone's env_auth reads it through the AWS SDK.
export AWS_SHARED_CREDENTIALS_FILE=${secretFile(RGW_SECRET)}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
rclone copy ${OUT_DIR} "rgw:$BUCKET/${prefix}/$stamp"
echo "uploaded to s3://$BUCKET/${prefix}/$stamp"
rclone delete --min-age ${retentionDays}d "rgw:$BUCKET/${prefix}"
rclone rmdirs --leave-root "rgw:$BUCKET/${prefix}"
`;
}

/** rclone's remote `rgw`, from environment variables only (no config file). @see https://rclone.org/docs/#config-file */
function rcloneEnv(props: ApplicationBackupsProps): k8s.EnvVar[] {
  return [
    { name: 'BUCKET', value: props.dumpBucket },
    { name: 'RCLONE_CONFIG_RGW_TYPE', value: 's3' },
    { name: 'RCLONE_CONFIG_RGW_PROVIDER', value: 'Ceph' },
    { name: 'RCLONE_CONFIG_RGW_ENDPOINT', value: props.rgwUrl },
    { name: 'RCLONE_CONFIG_RGW_REGION', value: props.region },
    { name: 'RCLONE_CONFIG_RGW_ENV_AUTH', value: 'true' },
    // The operator creates the bucket (README runbook); the keys need not be allowed to.
    { name: 'RCLONE_S3_NO_CHECK_BUCKET', value: 'true' },
    { name: 'HOME', value: '/tmp' },
  ];
}

interface BackupJob {
  readonly consumer: SecretConsumer;
  /** The CronJob as the network plan knows it (its name is the consumer's). */
  readonly workload: Workload;
  readonly script: string;
  /** The container that writes the dump into OUT_DIR (its command and the shared mounts are added). */
  readonly producer: Omit<WorkloadContainer, 'command'>;
  /** The largest dump the emptyDir holds (node disk). */
  readonly sizeLimit: string;
}

/**
 * What the application backups read of the model. Each backup is a `WorkloadCronJob` (its
 * ServiceAccount and CronJob) beside a ConfigMap of scripts rendered here (decision 0112).
 */
export interface ApplicationBackupsProps {
  /** Every connection of the render: the backups namespace renders its half of each. */
  readonly plan: NetworkPlan;
  /** The bucket the dumps and snapshots go to (`backups.dumpBucket`). */
  readonly dumpBucket: string;
  /** The bucket's region as the RADOS Gateway names it (`backups.region`). */
  readonly region: string;
  /** The RADOS Gateway's URL (`ceph.rgw.endpoint`). */
  readonly rgwUrl: string;
  /** Days a dump or snapshot is kept before the upload prunes it (`backups.retentionDays`). */
  readonly retentionDays: number;
  /** PostgreSQL's volume size in GiB (`postgresql.storageGiB`): the most the dump's emptyDir holds. */
  readonly postgresqlStorageGiB: number;
  /** The name Vault's certificate is issued for, which the agent and the snapshot Job verify. */
  readonly vaultTlsServerName: string;
}

/** The daily PostgreSQL dump and Vault raft snapshot, each a CronJob uploading to the dump bucket. */
export class ApplicationBackups extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'application-backups',
    namespace: BACKUPS_NAMESPACE,
    syncWave: BACKUPS_SYNC_WAVE,
    secretConsumers: () => [POSTGRESQL_DUMP_CONSUMER, VAULT_SNAPSHOT_CONSUMER],
    connections: (platform: Platform): Connection[] => {
      const rgw = rgwEndpoint(platform);
      const toRgw = (workload: Workload): Connection => ({
        from: { workload },
        to: { network: hosts('ceph rados gateway', [rgw.address]) },
        ports: [{ port: rgw.port }],
        purpose: 'dump bucket (RADOS Gateway, S3)',
      });
      // Both reach Vault as secret consumers (the render adds that connection).
      return [
        dnsAccess(POSTGRESQL_DUMP_WORKLOAD),
        dnsAccess(VAULT_SNAPSHOT_WORKLOAD),
        connect({ workload: POSTGRESQL_DUMP_WORKLOAD }, POSTGRESQL, ['postgres'], 'daily logical dump'),
        toRgw(POSTGRESQL_DUMP_WORKLOAD),
        toRgw(VAULT_SNAPSHOT_WORKLOAD),
      ];
    },
  };

  constructor(scope: Construct, id: string, props: ApplicationBackupsProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: BACKUPS_NAMESPACE, workloads: [POSTGRESQL_DUMP_WORKLOAD, VAULT_SNAPSHOT_WORKLOAD], plan: props.plan });
    this.cronJob(props, {
      consumer: POSTGRESQL_DUMP_CONSUMER,
      workload: POSTGRESQL_DUMP_WORKLOAD,
      script: dumpScript(),
      // Compressed archives of databases that fill at most their volume.
      sizeLimit: `${props.postgresqlStorageGiB}Gi`,
      producer: {
        name: 'dump',
        // The server's own image: pg_dump of the same major version as the server.
        image: IMAGES.postgres,
        identity: { uid: POSTGRES_UID },
        resources: resources('100m', '128Mi', '1', '512Mi'),
      },
    });
    this.cronJob(props, {
      consumer: VAULT_SNAPSHOT_CONSUMER,
      workload: VAULT_SNAPSHOT_WORKLOAD,
      script: snapshotScript(),
      sizeLimit: '1Gi',
      producer: {
        name: 'snapshot',
        image: IMAGES.vault,
        env: [
          { name: 'VAULT_ADDR', value: VAULT_ADDRESS },
          { name: 'VAULT_TLS_SERVER_NAME', value: props.vaultTlsServerName },
          { name: 'HOME', value: '/tmp' },
        ],
        identity: { uid: VAULT_AGENT_UID, gid: VAULT_AGENT_GID },
        resources: resources('50m', '64Mi', '500m', '256Mi'),
        // The agent's projected token (audience vault), to log in to Vault itself.
        mounts: [{ volume: VAULT_TOKEN_VOLUME, mountPath: VAULT_TOKEN_DIR }],
      },
    });
  }

  private cronJob(props: ApplicationBackupsProps, job: BackupJob): void {
    const name = job.consumer.name as keyof typeof DUMP_SCHEDULES;
    const labels = standardLabels(name, 'backup');
    const agent = vaultAgentPodFor(job.consumer, props.vaultTlsServerName);
    new k8s.KubeConfigMap(this, `${name}-scripts`, {
      metadata: { name: `${name}-scripts`, namespace: BACKUPS_NAMESPACE, labels },
      data: { 'backup.sh': job.script, 'upload.sh': uploadScript(DUMP_PREFIXES[name], props.retentionDays) },
    });
    // The family's CronJob (decision 0112): the upload container is the workload's, the producer
    // its init container; each runs as the user its image is built for under a pod-level
    // context that pins none. The scripts ConfigMap is rendered above, labelled as before.
    const shared = [
      { volume: 'out', mountPath: OUT_DIR },
      { volume: 'scripts', mountPath: '/scripts' },
      { volume: 'tmp', mountPath: '/tmp' },
    ];
    new WorkloadCronJob(this, `${name}-cronjob`, {
      workload: job.workload,
      component: 'backup',
      service: false,
      containerName: 'upload',
      image: IMAGES.rclone,
      command: ['/bin/sh', '/scripts/upload.sh'],
      env: rcloneEnv(props),
      identity: { uid: RCLONE_UID },
      identityPerContainer: true,
      resources: resources('50m', '64Mi', '1', '256Mi'),
      volumes: [
        WorkloadVolume.emptyDir('out', OUT_DIR, job.sizeLimit),
        WorkloadVolume.configMap('scripts', `${name}-scripts`, [{ mountPath: '/scripts' }]),
        WorkloadVolume.emptyDir('tmp', '/tmp', '64Mi'),
      ],
      initContainers: [{ ...job.producer, command: ['/bin/sh', '/scripts/backup.sh'], mounts: [...shared, ...(job.producer.mounts ?? [])] }],
      vaultAgent: agent,
      podAnnotations: READ_AT_START,
      schedule: DUMP_SCHEDULES[name],
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 1,
      backoffLimit: 1,
      activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
    });
  }
}
