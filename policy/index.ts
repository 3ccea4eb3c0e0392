/**
 * The policy engine: every rule over every rendered object (Kubernetes YAML, Terraform JSON,
 * gateway files), exceptions applied, violations sorted. `npm run policy` and `npm test` run it.
 */
import { parse } from 'yaml';
import type { KubeObject } from '../charts/render';
import { byCodePoint, type Platform } from '../config';
import { argoRules } from './argo';
import { consistencyRules } from './consistency';
import { applyExceptions } from './exceptions';
import { accessRules } from './k8s/access';
import { networkRules } from './k8s/network';
import { podRules } from './k8s/pods';
import { secretScan } from './secrets';
import { awsRules } from './terraform/aws';
import { cloudflareRules } from './terraform/cloudflare';
import type { PolicyInput, Rule, TerraformJson, Violation } from './types';

export const RULES: readonly Rule[] = [podRules, accessRules, networkRules, argoRules, awsRules, cloudflareRules, secretScan, consistencyRules];

export function policyInput(files: ReadonlyMap<string, string>, platform: Platform): PolicyInput {
  const objects = [...files]
    .filter(([path]) => path.startsWith('k8s/') && path.endsWith('.yaml'))
    .map(([path, text]) => ({ path, object: parse(text) as KubeObject }));
  const stacks = [...files]
    .filter(([path]) => /^terraform\/[^/]+\/cdk\.tf\.json$/.test(path))
    .map(([path, text]) => ({ name: path.split('/')[1], path, json: JSON.parse(text) as TerraformJson }));
  return { platform, files, objects, stacks };
}

export function checkPolicy(input: PolicyInput): Violation[] {
  const raw = RULES.flatMap((rule) => rule(input));
  const unique = new Map(applyExceptions(input.objects, input.stacks, raw).map((v) => [`${v.rule}\t${v.ref}\t${v.message}`, v]));
  return [...unique.values()].sort((a, b) => byCodePoint(a.ref, b.ref) || byCodePoint(a.rule, b.rule) || byCodePoint(a.message, b.message));
}

export function formatViolation(v: Violation): string {
  return `${v.rule}  ${v.ref}  ${v.message}`;
}
