/**
 * Cross-layer consistency: one model drives every layer, so every host has exactly one Ingress
 * with TLS and an existing issuer, and no layer serves a host the model does not declare. By
 * exposure (decision 0099):
 * - a public host has exactly one Cloudflare record, proxied, an HAProxy route and a mesh ACL
 *   entry that lets the gateway reach the ingress, and no Headscale DNS record (the mesh would
 *   then bypass Cloudflare for it);
 * - a mesh-only host appears in no public layer (no Cloudflare record, no HAProxy route) and has
 *   exactly one Headscale DNS record (`dns.extra_records`) with the ingress controller's address.
 *
 * A layer joins the check once its renderer exists (the render holds its files); `activeLayers`
 * says which do, and the tests pin that list so a layer cannot silently drop out. A host's Ingress
 * is required once the service that owns it is rendered.
 */
import { parse } from 'yaml';
import { PLATFORM_ENV, SERVICE_NAMES, exposureOf, type Exposure } from '../config';
import type { PolicyInput, Violation } from './types';
import { resources } from './terraform/json';

export type Layer = 'ingress' | 'dns' | 'haproxy' | 'mesh-acl' | 'mesh-dns';

const HAPROXY_CFG = 'gateway/haproxy.cfg';
const ACL_FILES = ['gateway/headscale/acl.hujson', 'gateway/headscale/acl.json'];
const HEADSCALE_CONFIG = 'gateway/headscale/config.yaml';

interface IngressSpec {
  tls?: { hosts?: string[]; secretName?: string }[];
  rules?: { host?: string }[];
}

interface DnsRecord {
  readonly name: string;
  readonly proxied: boolean;
}

function dnsRecords(input: PolicyInput): DnsRecord[] {
  const domain = input.platform.domain;
  return [...resources(input.stacks, 'cloudflare_dns_record'), ...resources(input.stacks, 'cloudflare_record')].map((r) => {
    const body = r.body as { name?: string; proxied?: boolean };
    const name = String(body.name ?? '');
    return { name: name === '@' ? domain : name.endsWith(domain) ? name : `${name}.${domain}`, proxied: body.proxied === true };
  });
}

function dnsRecordNames(input: PolicyInput): string[] {
  return dnsRecords(input).map((r) => r.name);
}

/** Headscale's `dns.extra_records` as rendered (`{name, type, value}` entries). */
function meshDnsRecords(input: PolicyInput): { name: string; type: string; value: string }[] {
  const text = input.files.get(HEADSCALE_CONFIG);
  if (text === undefined) return [];
  const records = (parse(text) as { dns?: { extra_records?: unknown } } | null)?.dns?.extra_records;
  if (!Array.isArray(records)) return [];
  return records.map((r: { name?: unknown; type?: unknown; value?: unknown }) => ({ name: String(r?.name), type: String(r?.type), value: String(r?.value) }));
}

export function activeLayers(input: PolicyInput): Layer[] {
  const layers: Layer[] = [];
  if (input.objects.some(({ object }) => object.kind === 'Ingress')) layers.push('ingress');
  if (dnsRecordNames(input).length) layers.push('dns');
  if (input.files.has(HAPROXY_CFG)) layers.push('haproxy');
  if (ACL_FILES.some((f) => input.files.has(f))) layers.push('mesh-acl');
  if (input.files.has(HEADSCALE_CONFIG)) layers.push('mesh-dns');
  return layers;
}

export function consistencyRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const { platform } = input;
  const layers = new Set(activeLayers(input));
  const hostRef = (host: string) => `Host/-/${host}`;
  const report = (host: string, message: string) => violations.push({ rule: 'CONSISTENCY-01', ref: hostRef(host), message });

  const exposure = new Map<string, Exposure>();
  const serviceHosts = new Map(
    SERVICE_NAMES.flatMap((name) => {
      const entry = platform.services[name];
      if (!entry.host) return [];
      exposure.set(entry.host, exposureOf(entry));
      return [[entry.host, name] as const];
    }),
  );
  // App hosts: one per app and environment; the Ingress lives in k8s/<env>/<app>/.
  const appHosts = new Map(
    Object.entries(platform.apps ?? {}).flatMap(([app, spec]) =>
      Object.entries(spec.environments).map(([env, d]) => {
        exposure.set(d.host, exposureOf(d));
        return [d.host, { app, env }] as const;
      }),
    ),
  );
  const modelHosts = [...serviceHosts.keys(), ...appHosts.keys()];
  const publicHosts = modelHosts.filter((host) => exposure.get(host) === 'public');
  const meshHosts = modelHosts.filter((host) => exposure.get(host) === 'mesh');
  const declared = new Set([...modelHosts, platform.mesh.headscaleHost]);
  const renderedServices = new Set([...input.files.keys()].flatMap((p) => (p.startsWith(`k8s/${PLATFORM_ENV}/`) ? [p.split('/')[2]] : [])));

  const ingresses = input.objects.filter(({ object }) => object.kind === 'Ingress').map(({ object }) => object);
  const issuers = new Set(input.objects.filter(({ object }) => object.kind === 'ClusterIssuer').map(({ object }) => object.metadata.name));
  const ingressHosts = new Map<string, number>();
  for (const ingress of ingresses) {
    const spec = ingress.spec as IngressSpec;
    const tls = new Set((spec.tls ?? []).flatMap((t) => (t.secretName ? (t.hosts ?? []) : [])));
    const issuer = (ingress.metadata.annotations as Record<string, string> | undefined)?.['cert-manager.io/cluster-issuer'];
    for (const host of (spec.rules ?? []).flatMap((r) => (r.host ? [r.host] : []))) {
      ingressHosts.set(host, (ingressHosts.get(host) ?? 0) + 1);
      if (!tls.has(host)) report(host, `Ingress ${ingress.metadata.namespace}/${ingress.metadata.name} serves it without TLS`);
      if (!issuer || !issuers.has(issuer)) report(host, `Ingress ${ingress.metadata.namespace}/${ingress.metadata.name} names no rendered ClusterIssuer (cert-manager.io/cluster-issuer: ${issuer ?? 'none'})`);
    }
  }

  if (layers.has('ingress')) {
    for (const [host, service] of serviceHosts) {
      const count = ingressHosts.get(host) ?? 0;
      if (renderedServices.has(service) && count !== 1) report(host, `${count} Ingresses serve it; service ${service} needs exactly one`);
    }
    for (const [host, { app, env }] of appHosts) {
      const count = ingressHosts.get(host) ?? 0;
      const rendered = [...input.files.keys()].some((p) => p.startsWith(`k8s/${env}/${app}/`));
      if (rendered && count !== 1) report(host, `${count} Ingresses serve it; app ${app} in ${env} needs exactly one`);
    }
  }

  const records = dnsRecords(input);
  if (layers.has('dns')) {
    for (const host of [...publicHosts, platform.mesh.headscaleHost]) {
      const named = records.filter((r) => r.name === host);
      if (named.length !== 1) report(host, `${named.length} Cloudflare records name it; it needs exactly one`);
      else if (host !== platform.mesh.headscaleHost && !named[0].proxied) report(host, 'its Cloudflare record is not proxied; a public host is served only through Cloudflare (set proxied = true)');
    }
    for (const host of meshHosts) {
      const count = records.filter((r) => r.name === host).length;
      if (count > 0) report(host, `is mesh-only but ${count} Cloudflare record(s) publish it; remove them, or make its exposure "public"`);
    }
  }

  const haproxy = input.files.get(HAPROXY_CFG) ?? '';
  const inHaproxy = (host: string) => new RegExp(`(^|[\\s,])${host.replace(/\./g, '\\.')}($|[\\s,])`, 'm').test(haproxy);
  if (layers.has('haproxy')) {
    for (const host of publicHosts) {
      if (!inHaproxy(host)) report(host, 'HAProxy has no route for it; route its SNI to the ingress controller');
    }
    for (const host of meshHosts) {
      if (inHaproxy(host)) report(host, 'is mesh-only but HAProxy names it; the gateway must not route it (remove the route, or make its exposure "public")');
    }
  }

  const meshRecords = meshDnsRecords(input);
  if (layers.has('mesh-dns')) {
    for (const host of meshHosts) {
      const named = meshRecords.filter((r) => r.name === host);
      if (named.length !== 1) report(host, `${named.length} Headscale DNS records (dns.extra_records) name it; a mesh-only host needs exactly one`);
      else if (named[0].type !== 'A' || named[0].value !== platform.cluster.ingressAddress) {
        report(host, `its Headscale DNS record is ${named[0].type} ${named[0].value}; it must be A ${platform.cluster.ingressAddress} (the ingress controller, over the subnet route)`);
      }
    }
    for (const host of publicHosts) {
      if (meshRecords.some((r) => r.name === host)) report(host, 'is public but Headscale\'s DNS (dns.extra_records) names it; mesh devices would bypass Cloudflare for it, remove the record');
    }
  }

  const acl = ACL_FILES.map((f) => input.files.get(f)).find(Boolean) ?? '';
  if (layers.has('mesh-acl') && publicHosts.length && !acl.includes(platform.cluster.ingressAddress)) {
    for (const host of publicHosts) report(host, `the mesh ACL does not let the gateway reach the ingress address ${platform.cluster.ingressAddress}`);
  }
  if (layers.has('mesh-acl') && meshHosts.length && !acl.includes(platform.cluster.ingressAddress)) {
    for (const host of meshHosts) report(host, `is mesh-only but the mesh ACL does not let admins reach the ingress address ${platform.cluster.ingressAddress}`);
  }

  // Nothing may serve a host the model does not declare. App hosts (issue: the user's apps) are
  // declared per environment; until the model has apps, every Ingress host must be a service host.
  const domainPattern = new RegExp(`[a-z0-9.-]+\\.${platform.domain.replace(/\./g, '\\.')}`, 'g');
  const seen = new Set<string>([...ingressHosts.keys(), ...records.map((r) => r.name), ...meshRecords.map((r) => r.name), ...(haproxy.match(domainPattern) ?? [])]);
  for (const host of seen) {
    if (!declared.has(host) && host !== platform.domain) report(host, 'is rendered but the model does not declare it; declare it in the model or remove it');
  }
  return violations;
}
