/**
 * The Backups dashboard: for every kind of backup the platform takes, when its last success was
 * and how old that is, so an operator sees a silent gap before a restore needs the missing copy.
 *
 * A kind is one row of BACKUP_KINDS: Velero's Schedules, and the application backups (database
 * dumps, Vault raft snapshots, GitLab's own backup), whose CronJobs kube-state-metrics reports;
 * the age panel, the table and the test pick each row up.
 */
import { WATCHED_BACKUP_CRONJOBS_SELECTOR } from '../../lib/backup-jobs';
import type { DashboardSpec, Panel, Query } from './builder';
import { cephUsedStat, type CephFill } from '../ceph-fill';

export interface BackupKind {
  /** What is backed up, as the panel titles say it ("Velero schedules"). */
  readonly title: string;
  /**
   * The time of each item's last successful run, in Unix seconds, one series per item; the
   * legend names the item. The series must be a family SCRAPED_METRIC_FAMILIES declares.
   */
  readonly lastSuccess: Query;
  /** How often a run is due, in hours: the age turns orange after one missed run and red after two. */
  readonly everyHours: number;
}

/** Grace after a due run before it counts as missed: a run takes time, a retry more. */
export const GRACE_HOURS = 2;

export const BACKUP_KINDS: readonly BackupKind[] = [
  {
    title: 'Velero schedules',
    // Velero v1.18 pkg/metrics/metrics.go: backup_last_successful_timestamp, a gauge labelled
    // `schedule`, set when a backup completes; backups outside a Schedule carry schedule="".
    lastSuccess: { expr: 'max by (schedule) (velero_backup_last_successful_timestamp{schedule!=""})', legend: '{{schedule}}' },
    // The daily Schedule the README promises (backups.schedule); dashboards are built without the
    // model, so a model with another cadence adjusts this number.
    everyHours: 24,
  },
  {
    title: 'Application backups',
    // kube-state-metrics cronjob-metrics: the time the CronJob's last Job succeeded; the same
    // CronJobs ApplicationBackupMissing watches (charts/observability/rules/backups.ts), each daily.
    lastSuccess: { expr: `max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${WATCHED_BACKUP_CRONJOBS_SELECTOR}})`, legend: '{{namespace}}/{{cronjob}}' },
    everyHours: 24,
  },
];

/** Age thresholds of a kind, in seconds: one missed run, then two. */
export function ageThresholds(kind: BackupKind): readonly [number, number] {
  return [(kind.everyHours + GRACE_HOURS) * 3600, (2 * kind.everyHours + GRACE_HOURS) * 3600];
}

function agePanel(kind: BackupKind, width: number): Panel {
  return {
    kind: 'stat',
    title: `Age of the last successful backup: ${kind.title}`,
    description: `Time since each item's last successful run; orange after one missed run (${kind.everyHours} h + ${GRACE_HOURS} h), red after two.`,
    width,
    height: 5,
    unit: 's',
    thresholds: ageThresholds(kind),
    queries: [{ expr: `time() - ${kind.lastSuccess.expr}`, legend: kind.lastSuccess.legend }],
  };
}

/** Up to three age panels a row, as wide as the row allows. */
function ageRows(kinds: readonly BackupKind[]): Panel[][] {
  const rows: Panel[][] = [];
  for (let i = 0; i < kinds.length; i += 3) {
    const row = kinds.slice(i, i + 3);
    rows.push(row.map((k) => agePanel(k, 24 / row.length)));
  }
  return rows;
}

/** The Backups dashboard; its Ceph panel at the model's fill levels (../ceph-fill.ts). */
export function backupsDashboard(fill: CephFill): DashboardSpec {
  return {
    uid: 'platform-backups',
    title: 'Backups',
    tags: ['platform', 'backups'],
    description: 'Every kind of backup: the last success of each item and its age; Velero results, durations, its storage location, and Ceph capacity.',
    rows: [
      ...ageRows(BACKUP_KINDS),
      [
        { kind: 'stat', title: 'Failed backups (7d)', width: 8, height: 4, thresholds: [1, 2], queries: [{ expr: 'sum(increase(velero_backup_failure_total[7d])) or vector(0)' }] },
        // Velero v1.18 pkg/metrics/metrics.go backup_location_status_gauge: 1 when the location is
        // available; a location Velero cannot reach takes no backup and no moved volume data.
        { kind: 'stat', title: 'Backup storage locations unavailable', width: 8, height: 4, thresholds: [1, 1], queries: [{ expr: 'count(velero_backup_location_status_gauge == 0) or vector(0)' }] },
        cephUsedStat(fill, 'Ceph used', 8),
      ],
      [
        { kind: 'timeseries', title: 'Backups by result (per day)', queries: [{ expr: 'sum(increase(velero_backup_success_total[1d]))', legend: 'succeeded' }, { expr: 'sum(increase(velero_backup_failure_total[1d]))', legend: 'failed' }, { expr: 'sum(increase(velero_backup_partial_failure_total[1d]))', legend: 'partially failed' }] },
        { kind: 'timeseries', title: 'Backup duration (p95)', unit: 's', queries: [{ expr: 'histogram_quantile(0.95, sum by (le, schedule) (rate(velero_backup_duration_seconds_bucket[1d])))', legend: '{{schedule}}' }] },
      ],
      [
        { kind: 'table', title: 'Last successful backup of every kind (Unix time)', width: 12, queries: BACKUP_KINDS.map((k) => k.lastSuccess) },
        { kind: 'logs', title: 'Velero log', expr: '{namespace="velero"}' },
      ],
    ],
  };
}
