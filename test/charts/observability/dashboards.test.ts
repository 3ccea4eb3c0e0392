/**
 * Every dashboard panel (and alert rule) must read series that exist: each metric name a PromQL query names is
 * declared (SCRAPED_METRIC_FAMILIES, with upstream sources) for a scrape job the render really
 * configures. The expressions are read from the rendered Grafana ConfigMap, the job names from
 * the rendered prometheus.yml, so neither side can drift from what is deployed.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCRAPED_METRIC_FAMILIES } from '../../../charts/observability/targets';
import { serviceDashboards } from '../../../charts/observability/dashboards/services';
import { cephFill } from '../../../charts/observability/ceph-fill';
import { ageThresholds, BACKUP_KINDS, type BackupKind } from '../../../charts/observability/dashboards/backups';
import { defaultRender } from '../../support/render';
import { hasPromtool, promtoolCheckRules } from '../../support/promtool';
import { metricNames, recordedNames, renderedQueries, undeclaredMetrics } from '../../support/promql';

const files = defaultRender();
const grafanaData = (parse(files.get('k8s/platform/grafana/configmap-grafana-dashboards.yaml')!) as any).data as Record<string, string>;
const prometheusYml = parse((parse(files.get('k8s/platform/prometheus/configmap-prometheus-config.yaml')!) as any).data['prometheus.yml']);
const renderedJobs: string[] = prometheusYml.scrape_configs.map((j: { job_name: string }) => j.job_name);
// Series the rendered recording rules write (the mesh dashboard reads those).
const recorded = recordedNames((parse(files.get('k8s/platform/prometheus/configmap-prometheus-rules.yaml')!) as any).data);



describe('metricNames', () => {
  it('GIVEN an expression with functions, modifiers, matchers and ranges WHEN read THEN only the metric names remain', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, handler) (rate(registry_http_request_duration_seconds_bucket{code=~"5..",job="x"}[5m])))')).toEqual(['registry_http_request_duration_seconds_bucket']);
    expect(metricNames('count(up{job="a"} == 0) or vector(0)')).toEqual(['up']);
    expect(metricNames('sum(a_total) / on (pod) group_left(node) max by (pod) (b_info) unless c offset 1h')).toEqual(['a_total', 'b_info', 'c']);
    expect(metricNames('(time() - max(velero_backup_last_successful_timestamp)) / 3600 > 1e3')).toEqual(['velero_backup_last_successful_timestamp']);
  });
});

describe('dashboards', () => {
  const queries = renderedQueries(grafanaData);

  it('GIVEN the seed render WHEN Grafana provisions it THEN there is a dashboard for GitLab, Harbor, Jenkins, Vault, PostgreSQL, Redis and Ceph', () => {
    const titles = Object.values(grafanaData).map((text) => JSON.parse(text).title);
    for (const title of ['GitLab', 'Harbor', 'Jenkins', 'Vault', 'PostgreSQL', 'Redis', 'Ceph']) expect(titles).toContain(title);
    expect(serviceDashboards(cephFill(0.85))).toHaveLength(7);
  });

  it('GIVEN every panel of every dashboard WHEN its queries are read THEN each metric is one a rendered scrape job exposes', () => {
    expect(queries.length).toBeGreaterThan(100);
    expect(undeclaredMetrics(queries, renderedJobs, recorded)).toEqual([]);
  });

  it('GIVEN every rendered alert rule WHEN its expression is read THEN each metric is one a rendered scrape job exposes', () => {
    const rulesData = (parse(files.get('k8s/platform/prometheus/configmap-prometheus-rules.yaml')!) as any).data as Record<string, string>;
    const rules = Object.entries(rulesData).flatMap(([file, text]) =>
      (parse(text) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }).groups.flatMap((g) =>
        g.rules.map((r) => ({ dashboard: file, panel: r.alert ?? r.record ?? '?', expr: r.expr })),
      ),
    );
    expect(rules.length).toBeGreaterThan(20);
    expect(undeclaredMetrics(rules, renderedJobs, recorded)).toEqual([]);
  });

  it('fails when a panel names a misspelt metric or one whose job is not rendered', () => {
    const planted = [
      { dashboard: 'platform-redis.json', panel: 'planted', expr: 'sum(rate(redis_comands_processed_total[5m]))' },
      { dashboard: 'platform-vault.json', panel: 'planted', expr: 'vault_core_unsealed' },
    ];
    expect(undeclaredMetrics(planted, renderedJobs.filter((j) => j !== 'vault'))).toEqual([
      'platform-redis.json / planted: redis_comands_processed_total',
      'platform-vault.json / planted: vault_core_unsealed',
    ]);
  });

  it('GIVEN the declared families WHEN compared with the rendered prometheus.yml THEN each belongs to a job the render scrapes', () => {
    expect(Object.keys(SCRAPED_METRIC_FAMILIES).filter((job) => !renderedJobs.includes(job))).toEqual([]);
  });

  it('GIVEN every service dashboard WHEN laid out THEN each shows availability first and more than availability', () => {
    for (const spec of serviceDashboards(cephFill(0.85))) {
      expect(spec.rows[0].every((p) => p.kind === 'stat'), spec.uid).toBe(true);
      expect(spec.rows.flat().length, spec.uid).toBeGreaterThanOrEqual(8);
    }
  });

  it.runIf(hasPromtool())('GIVEN every Prometheus query of the dashboards WHEN promtool parses them as rules THEN all are valid PromQL', () => {
    const rules = { groups: [{ name: 'dashboards', rules: queries.filter((q) => !q.panel.startsWith('variable ')).map((q, i) => ({ record: `dashboard:query:${i}`, expr: q.expr })) }] };
    const result = promtoolCheckRules({ 'dashboards.yaml': JSON.stringify(rules) });
    expect(result.output).toContain('SUCCESS');
    expect(result.status, result.output).toBe(0);
  });
});

/** The backup kinds whose age the rendered Backups dashboard does not show as it should. */
function kindsWithoutAge(backups: { panels: any[] }, kinds: readonly BackupKind[]): string[] {
  return kinds.flatMap((kind) => {
    const panel = backups.panels.find((p) => p.type === 'stat' && p.targets.some((t: any) => t.expr === `time() - ${kind.lastSuccess.expr}`));
    if (!panel) return [`${kind.title}: no age panel`];
    const steps = panel.fieldConfig.defaults.thresholds.steps.map((s: any) => s.value).slice(1);
    const [missedOnce] = ageThresholds(kind);
    return [
      ...(panel.fieldConfig.defaults.unit === 's' ? [] : [`${kind.title}: unit ${panel.fieldConfig.defaults.unit}, not seconds`]),
      ...(steps[0] > kind.everyHours * 3600 && steps[0] === missedOnce ? [] : [`${kind.title}: turns orange at ${steps[0]} s, before a run is missed`]),
    ];
  });
}

describe('backups dashboard', () => {
  const backups = JSON.parse(grafanaData['platform-backups.json']);

  it('GIVEN every backup kind WHEN the Backups dashboard is rendered THEN each shows the age of its last success in seconds, orange only after a missed run', () => {
    expect(BACKUP_KINDS.length).toBeGreaterThan(0);
    expect(kindsWithoutAge(backups, BACKUP_KINDS)).toEqual([]);
  });

  it('GIVEN the daily Velero Schedule WHEN its age is queried THEN the query reads the last-success timestamp per schedule', () => {
    const velero = BACKUP_KINDS.find((k) => k.lastSuccess.expr.includes('velero_backup_last_successful_timestamp'));
    expect(velero?.lastSuccess.expr).toMatch(/by \(schedule\)/);
    expect(velero?.lastSuccess.legend).toBe('{{schedule}}');
  });

  it('fails when a backup kind has no age panel or one that turns orange before a run is missed', () => {
    const planted: BackupKind[] = [
      { title: 'planted dumps', lastSuccess: { expr: 'max by (job) (planted_last_success_timestamp)' }, everyHours: 24 },
      { ...BACKUP_KINDS[0], everyHours: 48 },
    ];
    expect(kindsWithoutAge(backups, planted)).toEqual([
      'planted dumps: no age panel',
      `${BACKUP_KINDS[0].title}: turns orange at ${ageThresholds(BACKUP_KINDS[0])[0]} s, before a run is missed`,
    ]);
  });
});
