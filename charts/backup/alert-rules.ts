/**
 * Alerts for the daily backup, as a Prometheus rule group. The observability service loads it
 * into Prometheus' rule files (with its other groups); it is data, not an object of ours, so it is
 * rendered wherever Prometheus' configuration is.
 *
 * Velero's metrics, per schedule (label `schedule`):
 *  - `velero_backup_last_status`: 1 after a Completed backup, 0 after Failed, PartiallyFailed or
 *    FailedValidation;
 *  - `velero_backup_last_successful_timestamp`: the completion time (Unix seconds) of the newest
 *    Completed backup, recomputed from the Backup objects (so it survives a Velero restart).
 *
 * @see https://github.com/vmware-tanzu/velero/blob/main/pkg/metrics/metrics.go
 */
import { SCHEDULE_NAME } from './velero';

/** One alerting rule, as Prometheus' rule files take it. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires, e.g. "30m". */
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group of a Prometheus rule file (`groups: [...]`). */
export interface PrometheusRuleGroup {
  readonly name: string;
  readonly rules: readonly AlertingRule[];
}

/**
 * A daily backup is missing once the newest successful one is older than a day plus an hour
 * (the backup's own run time), and the alert waits half an hour more before it fires.
 */
export const BACKUP_MAX_AGE_SECONDS = 25 * 3600;

const schedule = `schedule="${SCHEDULE_NAME}"`;

export const BACKUP_ALERT_RULES: PrometheusRuleGroup = {
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
          'Schedule {{ $labels.schedule }} has no Completed backup younger than 25 hours. Check that Velero runs, that its storage location is Available (`velero backup-location get`) and that it can read its keys from Vault.',
      },
    },
  ],
};

/** A rule file with the given groups, as promtool and Prometheus read it. */
export function ruleFile(groups: readonly PrometheusRuleGroup[]): { groups: readonly PrometheusRuleGroup[] } {
  return { groups };
}
