/**
 * Every rule group Prometheus loads. Services that alert add their group here; every group is checked by
 * `promtool check rules`, and every alert must fire in a `promtool test rules` case
 * (test/charts/observability/rules.test.ts).
 */
import { argocdRules, cephRules, certificateRules, monitoringRules, nodeRules, targetRules, vaultRules, volumeRules, workloadRules } from './platform';
import { APPLICATION_BACKUP_ALERT_RULES, BACKUP_ALERT_RULES } from './backups';
import { renovateRules } from './renovate';
import { meshAlertRules, meshTrafficRules } from './mesh';
import type { RuleGroupSource } from '../../lib/rule-group';

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
  // The daily backup (issue 6): failed or missing.
  BACKUP_ALERT_RULES,
  // PostgreSQL dumps and Vault snapshots (issue 17): failed or missed.
  APPLICATION_BACKUP_ALERT_RULES,
  // Renovate (issue 20): a failed run, no success for two scheduled intervals.
  renovateRules,
  // The service mesh (issue 18): trust chain, control plane, per-workload traffic; none when it is off.
  meshTrafficRules,
  meshAlertRules,
];
