/**
 * The policy engine: every rule over every rendered object (Kubernetes YAML, Terraform JSON,
 * gateway files), exceptions applied, violations sorted. `npm run policy` and `npm test` run it.
 */
import { parse } from 'yaml';
import type { KubeObject } from '../charts/lib/service';
import { byCodePoint, type Platform } from '../config';
import { argoRules } from './argo';
import { consistencyRules } from './consistency';
import { applyExceptions } from './exceptions';
import { gatewayRules } from './gateway';
import { meshConsistencyRules, meshRules } from './mesh';
import { accessRules } from './k8s/access';
import { networkRules } from './k8s/network';
import { podRules } from './k8s/pods';
import { schemaRules } from './k8s/schema';
import { secretScan } from './secrets';
import { awsRules } from './terraform/aws';
import { cloudflareRules } from './terraform/cloudflare';
import type { PolicyInput, Rule, TerraformJson, Violation } from './types';

export const RULES: readonly Rule[] = [schemaRules, podRules, accessRules, networkRules, argoRules, awsRules, cloudflareRules, secretScan, gatewayRules, consistencyRules, meshRules, meshConsistencyRules];

/**
 * Pods that a rendered controller creates at run time from a rendered template: the Jenkins
 * kubernetes plugin's pod templates in a JCasC ConfigMap (jenkins.yaml). Each becomes a Pod
 * object named after its template, so every rule (pods, exceptions, NetworkPolicy coverage,
 * service accounts) checks the build pods exactly as Jenkins will create them.
 */
export function podTemplatePods(path: string, object: KubeObject): { path: string; object: KubeObject }[] {
  if (object.kind !== 'ConfigMap') return [];
  const casc = (object.data as Record<string, string> | undefined)?.['jenkins.yaml'];
  if (!casc) return [];
  const clouds = ((parse(casc) as { jenkins?: { clouds?: { kubernetes?: { namespace?: string; templates?: { name: string; namespace?: string; yaml?: string }[] } }[] } })?.jenkins?.clouds ?? []);
  return clouds.flatMap((cloud) =>
    (cloud.kubernetes?.templates ?? []).flatMap((template) => {
      if (!template.yaml) return [];
      const pod = parse(template.yaml) as KubeObject;
      const namespace = template.namespace ?? cloud.kubernetes?.namespace ?? object.metadata.namespace;
      return [{ path: `${path}#${template.name}`, object: { ...pod, kind: 'Pod', metadata: { ...(pod.metadata ?? {}), name: template.name, namespace } } as KubeObject }];
    }),
  );
}

/**
 * `parseYaml` must return a fresh tree per call (rules may keep or annotate objects); tests pass a
 * cache that hands out copies, since parsing the whole render is most of this function's time.
 */
export function policyInput(files: ReadonlyMap<string, string>, platform: Platform, parseYaml: (text: string) => unknown = parse): PolicyInput {
  const objects = [...files]
    .filter(([path]) => path.startsWith('k8s/') && path.endsWith('.yaml'))
    .map(([path, text]) => ({ path, object: parseYaml(text) as KubeObject }))
    .flatMap((rendered) => [rendered, ...podTemplatePods(rendered.path, rendered.object)]);
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
