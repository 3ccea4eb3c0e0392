/**
 * Ceph capacity as a model rule (docs/decisions/0066-ceph-capacity-model.md, 0067-snapshot-reserve.md
 * and 0103-backups-in-the-capacity-model.md): every volume the platform claims on `ceph-rbd`, the
 * snapshots the daily backup holds while its data mover runs, and what the backups keep in the
 * RADOS Gateway of the same cluster (the application-consistent archives, and Velero's repository
 * unless `backups.offsite` takes it out of the cluster), must fit below the nearfull ratio.
 *
 * The claims are listed here once, from the model, with the config path that sizes each; the
 * charts take their sizes from the same fields (or from the constants below), and
 * test/config/capacity.test.ts checks that the render's claims (rendered volumeClaimTemplates and
 * the chart values that size the charts' claims) are exactly these.
 */
import type { Platform } from './schema';

/**
 * Days of change the backup repository holds beyond the retention: an expired backup's data stays
 * in kopia's repository until full maintenance removes what no snapshot references, and kopia's
 * maintenance safety keeps it through more than one full cycle; Velero runs full maintenance every
 * 24 hours (Velero v1.18 site/content/docs/v1.18/backup-repository-configuration.md,
 * `fullMaintenanceInterval`). Two days cover that.
 */
export const REPOSITORY_GC_DAYS = 2;

/** JENKINS_HOME (jobs, build records, credentials store; plugins live in an emptyDir). */
export const JENKINS_HOME_GIB = 4;
/** Alertmanager's notification log and silences: kilobytes to a few megabytes. */
export const ALERTMANAGER_GIB = 1;

/** One PersistentVolumeClaim on `ceph-rbd`. */
export interface VolumeClaim {
  /** The Application that creates it. */
  readonly service: string;
  readonly namespace: string;
  /** What it holds, for the reader of an error. */
  readonly what: string;
  readonly sizeGiB: number;
  /** Where the size is set: a path of the model, or a constant of this file. */
  readonly sizedBy: string;
  /** Rendered by our constructs (a volumeClaimTemplate) or created by an upstream chart from its values. */
  readonly origin: 'rendered' | 'chart';
}

/** Every claim the platform makes on the Ceph pool, one replica of each (single-replica workloads). */
export function volumeClaims(model: Platform): VolumeClaim[] {
  const { observability: o } = model;
  return [
    { service: 'vault', namespace: 'vault', what: 'Vault integrated storage (Raft)', sizeGiB: model.vault.storageGiB, sizedBy: 'vault.storageGiB', origin: 'chart' },
    { service: 'postgresql', namespace: 'databases', what: 'PostgreSQL data', sizeGiB: model.postgresql.storageGiB, sizedBy: 'postgresql.storageGiB', origin: 'rendered' },
    { service: 'redis', namespace: 'databases', what: 'Redis append-only file', sizeGiB: model.redis.storageGiB, sizedBy: 'redis.storageGiB', origin: 'rendered' },
    { service: 'gitlab', namespace: 'gitlab', what: 'Gitaly repositories', sizeGiB: model.gitlab.gitalyStorageGiB, sizedBy: 'gitlab.gitalyStorageGiB', origin: 'chart' },
    { service: 'harbor', namespace: 'harbor', what: 'Harbor registry images', sizeGiB: model.harbor.registryStorageGiB, sizedBy: 'harbor.registryStorageGiB', origin: 'chart' },
    { service: 'harbor', namespace: 'harbor', what: 'Harbor Trivy cache', sizeGiB: model.harbor.trivyStorageGiB, sizedBy: 'harbor.trivyStorageGiB', origin: 'chart' },
    { service: 'jenkins', namespace: 'jenkins', what: 'Jenkins home', sizeGiB: JENKINS_HOME_GIB, sizedBy: 'JENKINS_HOME_GIB (config/capacity.ts)', origin: 'rendered' },
    { service: 'prometheus', namespace: 'monitoring', what: 'Prometheus TSDB', sizeGiB: o.prometheus.storageGiB, sizedBy: 'observability.prometheus.storageGiB', origin: 'rendered' },
    { service: 'loki', namespace: 'monitoring', what: 'Loki chunks and index', sizeGiB: o.loki.storageGiB, sizedBy: 'observability.loki.storageGiB', origin: 'rendered' },
    { service: 'alertmanager', namespace: 'monitoring', what: 'Alertmanager notification log', sizeGiB: ALERTMANAGER_GIB, sizedBy: 'ALERTMANAGER_GIB (config/capacity.ts)', origin: 'rendered' },
  ];
}

/** What the pool can hold and what the platform asks of it, in GiB. */
export interface CapacityBudget {
  readonly rawGiB: number;
  readonly replication: number;
  readonly nearfullRatio: number;
  /** Raw capacity / replication: what one copy of the data may take. */
  readonly usableGiB: number;
  /** Usable capacity below the nearfull ratio: the most the platform may claim. */
  readonly budgetGiB: number;
  readonly claims: readonly VolumeClaim[];
  readonly claimsGiB: number;
  /**
   * Room for the snapshots of one daily backup while the data mover copies them (each is deleted
   * once its data is in the bucket): claims × one day's change.
   */
  readonly snapshotReserveGiB: number;
  /**
   * Velero's repository (kopia, deduplicated) in the RADOS Gateway, whose pools share the
   * cluster's raw capacity: every claim once, plus each day's change for the retention and the
   * days kopia keeps expired data (REPOSITORY_GC_DAYS). 0 with `backups.offsite`: it is in AWS.
   */
  readonly backupRepositoryGiB: number;
  /**
   * The application-consistent archives in the RADOS Gateway (`backups.dumpBucket` and GitLab's
   * backup bucket): retentionDays + 1 of each kind at `backups.archiveGiB` (the newest is
   * uploaded before the oldest goes).
   */
  readonly archivesGiB: number;
  readonly totalGiB: number;
}

export function capacityBudget(model: Platform): CapacityBudget {
  const { capacityGiB: rawGiB, replication, nearfullRatio } = model.ceph;
  const claims = volumeClaims(model);
  const claimsGiB = claims.reduce((sum, c) => sum + c.sizeGiB, 0);
  const dailyChange = model.backups.snapshotDailyChangePercent / 100;
  // Every claim is in a namespace the daily backup covers (test/config/capacity.test.ts).
  const snapshotReserveGiB = claimsGiB * dailyChange;
  const backupRepositoryGiB = model.backups.offsite ? 0 : claimsGiB * (1 + dailyChange * (model.backups.retentionDays + REPOSITORY_GC_DAYS));
  const { postgresql, vault, gitlab } = model.backups.archiveGiB;
  const archivesGiB = (postgresql + vault + gitlab) * (model.backups.retentionDays + 1);
  const usableGiB = rawGiB / replication;
  return {
    rawGiB,
    replication,
    nearfullRatio,
    usableGiB,
    budgetGiB: usableGiB * nearfullRatio,
    claims,
    claimsGiB,
    snapshotReserveGiB,
    backupRepositoryGiB,
    archivesGiB,
    totalGiB: claimsGiB + snapshotReserveGiB + backupRepositoryGiB + archivesGiB,
  };
}

const gib = (value: number) => `${Math.round(value * 10) / 10} GiB`;

function archiveList(model: Platform): string {
  const { postgresql, vault, gitlab } = model.backups.archiveGiB;
  return `PostgreSQL ${postgresql} GiB, Vault ${vault} GiB, GitLab ${gitlab} GiB`;
}

/**
 * Why the model's volumes do not fit its Ceph pool, or undefined when they do. Names each claim
 * with its size and where it is set, the total and the budget, and the raw capacity that would do.
 */
export function capacityProblem(model: Platform): string | undefined {
  const b = capacityBudget(model);
  if (b.totalGiB <= b.budgetGiB) return undefined;
  const needed = Math.ceil((b.totalGiB / b.nearfullRatio) * b.replication);
  const claims = b.claims.map((c) => `${c.what} ${c.sizeGiB} GiB (${c.sizedBy})`).join(', ');
  return (
    `${b.rawGiB} GiB raw at ${b.replication}x replication holds ${gib(b.usableGiB)}, ${gib(b.budgetGiB)} of it below the nearfull ratio ${b.nearfullRatio}; ` +
    `the volumes claim ${gib(b.claimsGiB)} (${claims}), the snapshots of a daily backup need ${gib(b.snapshotReserveGiB)} ` +
    `(${model.backups.snapshotDailyChangePercent}% change a day), ` +
    (model.backups.offsite
      ? ''
      : `Velero's repository in the RADOS Gateway ${gib(b.backupRepositoryGiB)} (the volumes once plus ${model.backups.retentionDays} + ${REPOSITORY_GC_DAYS} days of change), `) +
    `the archives in the RADOS Gateway ${gib(b.archivesGiB)} (${model.backups.retentionDays} + 1 days of ${archiveList(model)}, backups.archiveGiB): ` +
    `${gib(b.totalGiB)} in all, over the budget; ` +
    `raise ceph.capacityGiB to at least ${needed}, or shrink the volumes or backups.retentionDays` +
    (model.backups.offsite ? '' : ', or set backups.offsite to keep Velero\'s repository in AWS')
  );
}
