/**
 * Every rule group Prometheus loads. Services that alert add their group here (the backup
 * alerts of charts/backup/alert-rules.ts join at merge); every group is checked by
 * `promtool check rules`, and every alert must fire in a `promtool test rules` case
 * (test/charts/observability/rules.test.ts).
 */
import { argocdRules, cephRules, certificateRules, monitoringRules, nodeRules, targetRules, vaultRules, volumeRules, workloadRules } from './platform';
import type { RuleGroupSource } from './rule-group';

export const RULE_GROUPS: readonly RuleGroupSource[] = [
  targetRules,
  nodeRules,
  volumeRules,
  certificateRules,
  cephRules,
  argocdRules,
  vaultRules,
  workloadRules,
  monitoringRules,
];
