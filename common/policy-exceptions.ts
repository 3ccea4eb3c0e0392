/**
 * Policy exceptions are declared where an object is built, and travel with it into dist/:
 * the annotation names each rule id waived and why. `npm run policy -- --exceptions` lists them,
 * and the policy engine (policy/) allows only the exceptions its allow list names for that object.
 *
 *   metadata:
 *     annotations:
 *       policy.platform-synthesizer.io/exceptions: "K8S-SEC-01: node-exporter reads host metrics with hostNetwork and hostPID; K8S-SEC-08: ..."
 *
 * Rule ids are those of ../shared/POLICY-RULES.md (K8S-SEC-01, TF-SG-03, ...).
 */
import { byCodePoint } from '../config/order';

export const POLICY_EXCEPTIONS_ANNOTATION = 'policy.platform-synthesizer.io/exceptions';

const RULE_ID = /^[A-Z0-9]+(-[A-Z0-9]+)+$/;

/** `{ 'K8S-SEC-01': 'why' }` -> the annotation; rule ids sorted, so the output is stable. */
export function policyExceptions(reasons: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(reasons).sort(([a], [b]) => byCodePoint(a, b));
  if (entries.length === 0) throw new Error('policyExceptions: name at least one rule id and its reason');
  for (const [rule, reason] of entries) {
    if (!RULE_ID.test(rule)) throw new Error(`policyExceptions: "${rule}" is not a rule id such as "K8S-SEC-01"`);
    if (reason.trim().length < 10 || reason.includes(';')) {
      throw new Error(`policyExceptions: ${rule}: give a reason of at least 10 characters without ";"`);
    }
  }
  return { [POLICY_EXCEPTIONS_ANNOTATION]: entries.map(([rule, reason]) => `${rule}: ${reason.trim()}`).join('; ') };
}

/** Reads the annotation back: rule id -> reason. */
export function parsePolicyExceptions(annotations: Readonly<Record<string, string>> | undefined): Map<string, string> {
  const value = annotations?.[POLICY_EXCEPTIONS_ANNOTATION];
  const result = new Map<string, string>();
  if (!value) return result;
  for (const part of value.split(';')) {
    const index = part.indexOf(':');
    if (index < 0) continue;
    result.set(part.slice(0, index).trim(), part.slice(index + 1).trim());
  }
  return result;
}
