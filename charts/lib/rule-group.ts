/**
 * Prometheus rule groups as typed data, in Prometheus' own words (a rule file is
 * `{ groups: RuleGroup[] }`). Every service that alerts contributes groups; Prometheus loads the
 * list in `rules/index.ts`.
 *
 * Conventions every alert follows (Alertmanager routes and inhibits on them):
 *  - `labels.severity` is `critical` (someone acts now) or `warning` (someone acts today);
 *  - `annotations.summary` is one line naming what is wrong, `annotations.description` says what
 *    to look at; both may use `{{ $labels.<name> }}`.
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
 */
import type { Platform } from '../../config';

/** `none` is the Watchdog's alone: it is for the heartbeat service, never for people. */
export type Severity = 'critical' | 'warning' | 'none';

/** The always-firing alert Alertmanager forwards to the external heartbeat (dead-man's switch). */
export const WATCHDOG = 'Watchdog';

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires. @default - immediately */
  readonly for?: string;
  readonly labels: { readonly severity: Severity } & Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  /** @default - the global evaluation interval */
  readonly interval?: string;
  readonly rules: readonly (AlertingRule | RecordingRule)[];
}

/** What a rule group may be computed from: the model and the scrape jobs Prometheus has. */
export interface RuleContext {
  readonly platform: Platform;
  /** Every scrape job's name. */
  readonly jobs: readonly string[];
}

/** A group as a service provides it: fixed, or computed from the model (undefined: the model switches the group off, e.g. the mesh's). */
export type RuleGroupSource = RuleGroup | ((context: RuleContext) => RuleGroup | undefined);

export function isAlertingRule(rule: AlertingRule | RecordingRule): rule is AlertingRule {
  return 'alert' in rule;
}

/** Resolves the sources and checks what promtool cannot: unique group and alert names, our label and annotation conventions. */
export function resolveRuleGroups(sources: readonly RuleGroupSource[], context: RuleContext): RuleGroup[] {
  const groups = sources.flatMap((source) => (typeof source === 'function' ? source(context) : source) ?? []);
  const groupNames = new Set<string>();
  const alertNames = new Set<string>();
  for (const group of groups) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(group.name)) throw new Error(`rule group "${group.name}": name it in lowercase kebab-case (it is also its file name)`);
    if (groupNames.has(group.name)) throw new Error(`rule group "${group.name}" is defined twice; give each group its own name`);
    groupNames.add(group.name);
    for (const rule of group.rules) {
      if (!isAlertingRule(rule)) continue;
      if (alertNames.has(rule.alert)) throw new Error(`alert ${rule.alert} (group ${group.name}) is defined twice; alert names must be unique`);
      alertNames.add(rule.alert);
      if (rule.alert === WATCHDOG ? rule.labels.severity !== 'none' : !['critical', 'warning'].includes(rule.labels.severity)) {
        throw new Error(`alert ${rule.alert} (group ${group.name}): severity "${rule.labels.severity}" must be ${rule.alert === WATCHDOG ? 'none' : 'critical or warning'}`);
      }
    }
  }
  return groups;
}
