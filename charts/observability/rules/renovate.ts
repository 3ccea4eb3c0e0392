/**
 * Renovate's alerts: its last run failed; it has not succeeded for longer than its schedule allows
 * (charts/day-two/renovate.ts runs it; README "Dependency updates").
 */
import { RENOVATE, RENOVATE_NAMESPACE, missedRunSeconds } from '../../lib/renovate-job';
import type { AlertingRule, RuleContext, RuleGroup } from '../../lib/rule-group';

function hours(seconds: number): string {
  return `${Math.round((seconds / 3600) * 10) / 10}`;
}

/** Renovate's alerts: its last run failed; it has not succeeded for longer than its schedule allows. */
export function renovateRules({ platform }: Pick<RuleContext, 'platform'>): RuleGroup {
  const ns = `namespace="${RENOVATE_NAMESPACE}"`;
  const cronjob = `${ns}, cronjob="${RENOVATE}"`;
  const missed = missedRunSeconds(platform.renovate.schedule);
  const suspended = `unless on (namespace, cronjob) kube_cronjob_spec_suspend{${cronjob}} == 1`;
  const failed: AlertingRule = {
    alert: 'RenovateRunFailed',
    expr: `max by (namespace, cronjob) (label_replace(kube_job_failed{${ns}, condition="true"} * on (namespace, job_name) group_left (owner_name) kube_job_owner{${ns}, owner_kind="CronJob", owner_name="${RENOVATE}"}, "cronjob", "$1", "owner_name", "(.+)")) > 0`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The last Renovate run failed',
      description:
        'A Job of CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} failed: no merge request was opened or updated. Read its log (`kubectl -n {{ $labels.namespace }} logs job/<job> --all-containers`): an expired GitLab token (README "Dependency updates"), GitLab unreachable or a failing postUpgradeTask are the usual causes.',
    },
  };
  const missing: AlertingRule = {
    alert: 'RenovateNotSucceeding',
    expr:
      `(time() - kube_cronjob_status_last_successful_time{${cronjob}} > ${missed} ${suspended})` +
      ` or (time() - kube_cronjob_created{${cronjob}} > ${missed} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${cronjob}} ${suspended})`,
    for: '30m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `Renovate has not completed a run in ${hours(missed)} hours`,
      description:
        'CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} has no successful run in two scheduled intervals. Check that its Jobs start (`kubectl -n {{ $labels.namespace }} get jobs,pods`), that secret/renovate/gitlab-token is loaded and valid, and that GitLab answers. To pause Renovate on purpose set renovate.suspend in the model.',
    },
  };
  return { name: 'renovate', rules: [failed, missing] };
}

