/**
 * Alerts for the daily backup (charts/backup/velero.ts) and the application-consistent backups
 * (charts/backup/application-backups.ts, GitLab's own backup CronJob), as Prometheus rule groups
 * beside the other services' alerts (rules/platform.ts). They read only the jobs' names, which
 * live below every service folder (charts/lib/backup-jobs.ts, decision 0112).
 *
 * Velero's metrics, per schedule (label `schedule`):
 *  - `velero_backup_last_status`: 1 after a Completed backup, 0 after Failed, PartiallyFailed or
 *    FailedValidation;
 *  - `velero_backup_last_successful_timestamp`: the completion time (Unix seconds) of the newest
 *    Completed backup, recomputed from the Backup objects (so it survives a Velero restart).
 *
 * @see https://github.com/vmware-tanzu/velero/blob/main/pkg/metrics/metrics.go
 */
import { VELERO_SCHEDULE, WATCHED_BACKUP_CRONJOBS, WATCHED_BACKUP_CRONJOBS_SELECTOR } from '../../lib/backup-jobs';
import type { AlertingRule, RuleGroup } from '../../lib/rule-group';

/** A group of alerts only (no recording rules): what each backup group is. */
export type AlertGroup = Omit<RuleGroup, 'rules'> & { readonly rules: readonly AlertingRule[] };

/**
 * A daily backup is missing once the newest successful one is older than a day plus an hour
 * (the backup's own run time), and the alert waits half an hour more before it fires.
 */
export const BACKUP_MAX_AGE_SECONDS = 25 * 3600;

const schedule = `schedule="${VELERO_SCHEDULE}"`;

export const BACKUP_ALERT_RULES: AlertGroup = {
  name: 'velero-backups',
  rules: [
    {
      alert: 'VeleroBackupFailed',
      expr: `velero_backup_last_status{${schedule}} == 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The last {{ $labels.schedule }} backup failed',
        description:
          'The newest backup of schedule {{ $labels.schedule }} ended Failed or PartiallyFailed. Run `velero backup describe --details` on it (velero namespace) and fix the cause; the next scheduled run clears the alert.',
      },
    },
    {
      alert: 'VeleroBackupMissing',
      // `absent` covers a Velero that never completed a backup (or is not scraped at all).
      expr: `time() - velero_backup_last_successful_timestamp{${schedule}} > ${BACKUP_MAX_AGE_SECONDS} or absent(velero_backup_last_successful_timestamp{${schedule}})`,
      for: '30m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No successful {{ $labels.schedule }} backup in the last 25 hours',
        description:
          'Schedule {{ $labels.schedule }} has no Completed backup younger than 25 hours. Check that Velero runs and that its storage location is Available (`velero backup-location get` shows why not, e.g. keys in the Secret velero/velero-credentials that no longer work).',
      },
    },
  ],
};

/**
 * Alerts for the application-consistent backups (charts/backup/application-backups.ts, and GitLab's
 * own backup CronJob, charts/source/gitlab.ts), from
 * kube-state-metrics (kubernetes/kube-state-metrics, docs/metrics/workload/cronjob-metrics.md and
 * job-metrics.md, STABLE families in v2.18.0):
 *  - `kube_job_failed{condition="true"}`: the Job's Failed condition (its retries exhausted or its
 *    deadline passed), joined to its CronJob by `kube_job_owner`; a failed Job is deleted 20 hours
 *    after it ended, so the alert clears by itself and the missed-run alert takes over;
 *  - `kube_cronjob_status_last_successful_time`: when the CronJob's last Job succeeded; absent
 *    until the first success, so a CronJob older than the limit without one counts as missed.
 */
const namespaces = Object.keys(WATCHED_BACKUP_CRONJOBS);
const names = Object.values(WATCHED_BACKUP_CRONJOBS).flat();
const backups = `namespace=~"${namespaces.join('|')}"`;
const cronjobs = WATCHED_BACKUP_CRONJOBS_SELECTOR;

export const APPLICATION_BACKUP_ALERT_RULES: AlertGroup = {
  name: 'application-backups',
  rules: [
    {
      alert: 'ApplicationBackupFailed',
      expr: `max by (namespace, cronjob) (label_replace(kube_job_failed{${backups}, condition="true"} * on (namespace, job_name) group_left (owner_name) kube_job_owner{${backups}, owner_kind="CronJob", owner_name=~"${names.join('|')}"}, "cronjob", "$1", "owner_name", "(.+)")) > 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The last {{ $labels.cronjob }} backup failed',
        description:
          'A Job of CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} failed. Read its logs (`kubectl -n {{ $labels.namespace }} logs job/<job> --all-containers`), fix the cause and start a run by hand (`kubectl -n {{ $labels.namespace }} create job --from=cronjob/{{ $labels.cronjob }} {{ $labels.cronjob }}-manual`).',
      },
    },
    {
      alert: 'ApplicationBackupMissing',
      expr:
        `time() - kube_cronjob_status_last_successful_time{${cronjobs}} > ${BACKUP_MAX_AGE_SECONDS}` +
        ` or (time() - kube_cronjob_created{${cronjobs}} > ${BACKUP_MAX_AGE_SECONDS} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${cronjobs}})`,
      for: '30m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No successful {{ $labels.cronjob }} backup in the last 25 hours',
        description:
          'CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} has no successful run younger than 25 hours. Check that it is not suspended, that its Jobs start (`kubectl -n {{ $labels.namespace }} get jobs,pods`) and that the RADOS Gateway and Vault answer.',
      },
    },
  ],
};
