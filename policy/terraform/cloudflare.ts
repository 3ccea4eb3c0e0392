/** Cloudflare DNS rules (POLICY-RULES.md 2.10): from Cloudflare's docs, no scanner has them. */
import type { PolicyInput, Violation } from '../types';
import { resources, tfRef, type TfResource } from './json';

const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);

export function cloudflareRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const push = (r: TfResource, rule: string, message: string) => violations.push({ rule, ref: tfRef(r), message });
  const records = [...resources(input.stacks, 'cloudflare_dns_record'), ...resources(input.stacks, 'cloudflare_record')];
  const webHosts = new Set(Object.values(input.platform.services).flatMap((s) => (s.host ? [s.host] : [])));

  const proxiedByName = new Map<string, Set<boolean>>();
  for (const record of records) {
    const { type, proxied, ttl, name } = record.body as { type?: string; proxied?: boolean; ttl?: number; name?: string };
    const isProxied = proxied === true;
    if (isProxied && !PROXIABLE.has(String(type))) push(record, 'CF-02', `is a proxied ${type} record; only A, AAAA and CNAME can be proxied`);
    if (isProxied && ttl !== 1) push(record, 'CF-03', `is proxied with ttl ${ttl}; proxied records use ttl = 1 (automatic)`);
    if (!isProxied && !(ttl === 1 || (typeof ttl === 'number' && ttl >= 60 && ttl <= 86400))) {
      push(record, 'CF-03', `has ttl ${ttl}; use 1 (automatic) or 60-86400 seconds`);
    }
    if (name && webHosts.has(name) && PROXIABLE.has(String(type)) && !isProxied) {
      push(record, 'CF-01', `${name} serves web traffic but is not proxied; set proxied = true so the origin address stays hidden`);
    }
    if (name && PROXIABLE.has(String(type)) && type !== 'CNAME') {
      proxiedByName.set(name, (proxiedByName.get(name) ?? new Set()).add(isProxied));
    }
  }
  for (const [name, states] of proxiedByName) {
    if (states.size > 1) {
      const record = records.find((r) => (r.body as { name?: string }).name === name)!;
      push(record, 'CF-04', `${name} has proxied and DNS-only A/AAAA records; Cloudflare proxies all of them, make them agree`);
    }
  }
  return violations;
}
