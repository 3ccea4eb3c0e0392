/**
 * The backup alerts, checked and unit-tested by Prometheus' own promtool: syntax and templates
 * (`promtool check rules`), and behaviour on synthetic Velero metrics (`promtool test rules`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { APPLICATION_BACKUP_ALERT_RULES, BACKUP_ALERT_RULES, BACKUP_MAX_AGE_SECONDS } from '../../../../charts/observability/rules/backups';
import { BACKUPS_NAMESPACE, GITLAB_BACKUP_CRONJOB, POSTGRESQL_DUMP, VAULT_SNAPSHOT, VELERO_SCHEDULE as SCHEDULE_NAME } from '../../../../charts/lib/backup-jobs';
import type { RuleGroup } from '../../../../charts/lib/rule-group';
import { hasCommand, requireValidator } from '../../../support/validators';

const promtool = () => requireValidator('promtool', hasCommand('promtool'), 'apt-get install prometheus');

function writeRules(groups: readonly RuleGroup[]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'backup-rules-'));
  const file = join(dir, 'backup.rules.yaml');
  writeFileSync(file, stringify({ groups }));
  return { dir, file };
}

const rule = (name: string) => BACKUP_ALERT_RULES.rules.find((r) => r.alert === name)!;
/** The annotations Prometheus renders for the daily schedule. */
const rendered = (name: string) => Object.fromEntries(Object.entries(rule(name).annotations).map(([k, v]) => [k, v.replaceAll('{{ $labels.schedule }}', SCHEDULE_NAME)]));
const labels = { schedule: SCHEDULE_NAME, severity: 'critical' };
const success = `velero_backup_last_successful_timestamp{schedule="${SCHEDULE_NAME}"}`;
const status = `velero_backup_last_status{schedule="${SCHEDULE_NAME}"}`;

describe('the backup alerts', () => {
  it('watch the daily schedule for a failed and for a missing backup', () => {
    expect(BACKUP_ALERT_RULES.name).toBe('velero-backups');
    expect(BACKUP_ALERT_RULES.rules.map((r) => [r.alert, r.for, r.labels])).toEqual([
      ['VeleroBackupFailed', '5m', { severity: 'critical' }],
      ['VeleroBackupMissing', '30m', { severity: 'critical' }],
    ]);
    expect(rule('VeleroBackupFailed').expr).toBe(`${status} == 0`);
    expect(rule('VeleroBackupMissing').expr).toBe(`time() - ${success} > 90000 or absent(${success})`);
    expect(BACKUP_MAX_AGE_SECONDS).toBe(25 * 3600);
  });

  it('pass promtool check rules', (ctx) => {
    if (!promtool()) ctx.skip();
    const { file } = writeRules([BACKUP_ALERT_RULES]);
    const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS: 2 rules found');
    expect(result.status).toBe(0);
  });

  it('would fail promtool on a broken rule (the check is not a no-op)', (ctx) => {
    if (!promtool()) ctx.skip();
    const { file } = writeRules([{ name: 'broken', rules: [{ ...rule('VeleroBackupFailed'), expr: 'velero_backup_last_status{ == 0' }] }]);
    const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
  });

  it('fire when they should and only then (promtool test rules)', (ctx) => {
    if (!promtool()) ctx.skip();
    const { dir, file } = writeRules([BACKUP_ALERT_RULES]);
    const tests = {
      rule_files: [file],
      evaluation_interval: '1m',
      tests: [
        {
          // The last backup completed at 01:00; nothing since. 25 h later it is missing, 30 min later the alert fires.
          interval: '1m',
          input_series: [{ series: success, values: '3600x2000' }],
          alert_rule_test: [
            { eval_time: '25h50m', alertname: 'VeleroBackupMissing', exp_alerts: [] },
            { eval_time: '26h40m', alertname: 'VeleroBackupMissing', exp_alerts: [{ exp_labels: labels, exp_annotations: rendered('VeleroBackupMissing') }] },
          ],
        },
        {
          // A backup completes every day (01:00, then 25:00): no alert, whatever the hour.
          interval: '1m',
          input_series: [{ series: success, values: '3600x1440 90000x1440' }],
          alert_rule_test: [
            { eval_time: '23h', alertname: 'VeleroBackupMissing', exp_alerts: [] },
            { eval_time: '47h', alertname: 'VeleroBackupMissing', exp_alerts: [] },
          ],
        },
        {
          // Velero never completed a backup (or is not scraped): the metric is absent.
          interval: '1m',
          input_series: [{ series: status, values: '1x100' }],
          alert_rule_test: [
            { eval_time: '20m', alertname: 'VeleroBackupMissing', exp_alerts: [] },
            { eval_time: '40m', alertname: 'VeleroBackupMissing', exp_alerts: [{ exp_labels: labels, exp_annotations: rendered('VeleroBackupMissing') }] },
          ],
        },
        {
          // The backup at minute 10 failed; five minutes later the alert fires, until a backup succeeds.
          interval: '1m',
          input_series: [
            { series: status, values: '1x10 0x20 1x20' },
            { series: success, values: '3600x50' },
          ],
          alert_rule_test: [
            { eval_time: '12m', alertname: 'VeleroBackupFailed', exp_alerts: [] },
            { eval_time: '20m', alertname: 'VeleroBackupFailed', exp_alerts: [{ exp_labels: labels, exp_annotations: rendered('VeleroBackupFailed') }] },
            { eval_time: '40m', alertname: 'VeleroBackupFailed', exp_alerts: [] },
          ],
        },
      ],
    };
    const testFile = join(dir, 'backup.test.yaml');
    writeFileSync(testFile, stringify(tests));
    const result = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});

describe('the application backup alerts (PostgreSQL dumps, Vault snapshots)', () => {
  const appRule = (name: string) => APPLICATION_BACKUP_ALERT_RULES.rules.find((r) => r.alert === name)!;
  const expand = (name: string, labels: Record<string, string>) =>
    Object.fromEntries(Object.entries(appRule(name).annotations).map(([k, v]) => [k, v.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, l: string) => labels[l])]));
  const ksm = { job: 'kube-state-metrics', namespace: BACKUPS_NAMESPACE };
  const sel = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const jobOf = (cronjob: string, job: string, ns = BACKUPS_NAMESPACE) => ({
    failed: sel('kube_job_failed', { ...ksm, namespace: ns, job_name: job, condition: 'true' }),
    owner: sel('kube_job_owner', { ...ksm, namespace: ns, job_name: job, owner_kind: 'CronJob', owner_name: cronjob, owner_is_controller: 'true' }),
  });
  const created = (cronjob: string) => sel('kube_cronjob_created', { ...ksm, cronjob });
  const success = (cronjob: string) => sel('kube_cronjob_status_last_successful_time', { ...ksm, cronjob });

  it('pass promtool check rules', (ctx) => {
    if (!promtool()) ctx.skip();
    const { file } = writeRules([APPLICATION_BACKUP_ALERT_RULES]);
    const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS: 2 rules found');
    expect(result.status).toBe(0);
  });

  it('fire for a failed or a missed run of each CronJob, and only then (promtool test rules)', (ctx) => {
    if (!promtool()) ctx.skip();
    const { dir, file } = writeRules([APPLICATION_BACKUP_ALERT_RULES]);
    const dump = jobOf(POSTGRESQL_DUMP, `${POSTGRESQL_DUMP}-29100000`);
    const failedLabels = { namespace: BACKUPS_NAMESPACE, cronjob: POSTGRESQL_DUMP, severity: 'critical' };
    const missedLabels = (cronjob: string) => ({ ...ksm, cronjob, severity: 'critical' });
    const tests = {
      rule_files: [file],
      evaluation_interval: '1m',
      tests: [
        {
          // The dump Job failed at minute 10 (its retries exhausted): the alert fires 5 min later; once
          // the Job is deleted (20 h TTL, here minute 40) it clears.
          interval: '1m',
          input_series: [
            { series: dump.failed, values: '0x10 1x30' },
            { series: dump.owner, values: '1x40' },
          ],
          alert_rule_test: [
            { eval_time: '12m', alertname: 'ApplicationBackupFailed', exp_alerts: [] },
            { eval_time: '20m', alertname: 'ApplicationBackupFailed', exp_alerts: [{ exp_labels: failedLabels, exp_annotations: expand('ApplicationBackupFailed', failedLabels) }] },
            { eval_time: '50m', alertname: 'ApplicationBackupFailed', exp_alerts: [] },
          ],
        },
        {
          // GitLab's own backup CronJob (the chart's) is watched too: its failed Job fires, and
          // its missed run once the last success is older than 25 h.
          interval: '1m',
          input_series: [
            { series: jobOf(GITLAB_BACKUP_CRONJOB.name, `${GITLAB_BACKUP_CRONJOB.name}-29100000`, GITLAB_BACKUP_CRONJOB.namespace).failed, values: '1x30' },
            { series: jobOf(GITLAB_BACKUP_CRONJOB.name, `${GITLAB_BACKUP_CRONJOB.name}-29100000`, GITLAB_BACKUP_CRONJOB.namespace).owner, values: '1x30' },
          ],
          alert_rule_test: [
            {
              eval_time: '20m',
              alertname: 'ApplicationBackupFailed',
              exp_alerts: [
                {
                  exp_labels: { namespace: GITLAB_BACKUP_CRONJOB.namespace, cronjob: GITLAB_BACKUP_CRONJOB.name, severity: 'critical' },
                  exp_annotations: expand('ApplicationBackupFailed', { namespace: GITLAB_BACKUP_CRONJOB.namespace, cronjob: GITLAB_BACKUP_CRONJOB.name }),
                },
              ],
            },
          ],
        },
        {
          // A failed Job in another namespace, and a backup Job owned by no CronJob: neither is ours.
          interval: '1m',
          input_series: [
            { series: jobOf('nightly', 'nightly-1', 'gitlab').failed, values: '1x30' },
            { series: jobOf('nightly', 'nightly-1', 'gitlab').owner, values: '1x30' },
            { series: sel('kube_job_failed', { ...ksm, job_name: 'by-hand', condition: 'true' }), values: '1x30' },
          ],
          alert_rule_test: [{ eval_time: '20m', alertname: 'ApplicationBackupFailed', exp_alerts: [] }],
        },
        {
          // Vault's snapshot succeeded at 01:00 and never again: missed 25 h later, firing 30 min after.
          interval: '1m',
          input_series: [
            { series: created(VAULT_SNAPSHOT), values: '0x2000' },
            { series: success(VAULT_SNAPSHOT), values: '3600x2000' },
          ],
          alert_rule_test: [
            { eval_time: '25h50m', alertname: 'ApplicationBackupMissing', exp_alerts: [] },
            { eval_time: '26h40m', alertname: 'ApplicationBackupMissing', exp_alerts: [{ exp_labels: missedLabels(VAULT_SNAPSHOT), exp_annotations: expand('ApplicationBackupMissing', missedLabels(VAULT_SNAPSHOT)) }] },
          ],
        },
        {
          // A daily success (01:00, then 25:00): never missed. A CronJob created at time 0 that has not
          // run yet is not missed during its first day, and is once the day has passed without a success.
          interval: '1m',
          input_series: [
            { series: created(VAULT_SNAPSHOT), values: '0x2880' },
            { series: success(VAULT_SNAPSHOT), values: '3600x1440 90000x1440' },
            { series: created(POSTGRESQL_DUMP), values: '0x2880' },
          ],
          alert_rule_test: [
            { eval_time: '23h', alertname: 'ApplicationBackupMissing', exp_alerts: [] },
            {
              eval_time: '47h',
              alertname: 'ApplicationBackupMissing',
              exp_alerts: [{ exp_labels: missedLabels(POSTGRESQL_DUMP), exp_annotations: expand('ApplicationBackupMissing', missedLabels(POSTGRESQL_DUMP)) }],
            },
          ],
        },
      ],
    };
    const testFile = join(dir, 'application-backups.test.yaml');
    writeFileSync(testFile, stringify(tests));
    const result = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
  });
});
