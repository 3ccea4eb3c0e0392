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
import { BACKUP_ALERT_RULES, BACKUP_MAX_AGE_SECONDS, ruleFile, type PrometheusRuleGroup } from '../../../charts/backup/alert-rules';
import { SCHEDULE_NAME } from '../../../charts/backup/velero';
import { hasCommand, requireValidator } from '../../support/validators';

const promtool = () => requireValidator('promtool', hasCommand('promtool'), 'apt-get install prometheus');

function writeRules(groups: readonly PrometheusRuleGroup[]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'backup-rules-'));
  const file = join(dir, 'backup.rules.yaml');
  writeFileSync(file, stringify(ruleFile(groups)));
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
