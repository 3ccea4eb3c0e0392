/**
 * Reading PromQL without a Prometheus: the metric names an expression reads (dashboards and rules
 * are held to the families the scrape jobs declare, docs/decisions/0076).
 */
import { parse } from 'yaml';
import { SCRAPED_METRIC_FAMILIES } from '../../charts/observability/targets';
import { MESH_METRIC_FAMILIES } from '../../charts/observability/mesh';

/** Series Prometheus adds to every target itself. */
export const PER_TARGET = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by
 * `(`), aggregation modifiers, keywords, label matchers, strings, ranges or numbers.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // string literals (label values, regexes)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || KEYWORDS.has(name.toLowerCase()) || /^(\d|e\d)/.test(name)) continue;
    names.add(name);
  }
  return [...names].sort();
}


/** A PromQL expression and where it is used (a dashboard panel, or a rule file and rule). */
export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

/** The series the recording rules of rendered rule files (file name -> text) write. */
export function recordedNames(ruleFiles: Record<string, string>): string[] {
  return Object.values(ruleFiles).flatMap((text) => (parse(text) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
}

/**
 * Each metric a query names that neither a rendered job declares (SCRAPED_METRIC_FAMILIES, and the
 * mesh's MESH_METRIC_FAMILIES; a family counts only when its job is rendered) nor a rendered
 * recording rule writes, as `dashboard / panel: metric`.
 */
export function undeclaredMetrics(queries: readonly PanelQuery[], jobs: readonly string[], recorded: readonly string[] = []): string[] {
  const families: Readonly<Record<string, readonly string[]>> = { ...SCRAPED_METRIC_FAMILIES, ...MESH_METRIC_FAMILIES };
  const exposed = new Set([...PER_TARGET, ...recorded, ...jobs.flatMap((job) => families[job] ?? [])]);
  return queries.flatMap((q) => metricNames(q.expr).filter((m) => !exposed.has(m)).map((m) => `${q.dashboard} / ${q.panel}: ${m}`));
}

/** Every Prometheus query of every rendered dashboard, with the variables' `label_values` metrics. */
export function renderedQueries(dashboards: Record<string, string>): PanelQuery[] {
  return Object.entries(dashboards).flatMap(([file, text]) => {
    const json = JSON.parse(text);
    const panels = json.panels.flatMap((p: any) =>
      p.targets.filter((t: any) => t.datasource.type === 'prometheus').map((t: any) => ({ dashboard: file, panel: p.title, expr: t.expr as string })),
    );
    const variables = json.templating.list.map((v: any) => ({ dashboard: file, panel: `variable ${v.name}`, expr: /^label_values\(([\w:]+),/.exec(v.query.query)![1] }));
    return [...panels, ...variables];
  });
}
