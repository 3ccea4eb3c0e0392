/**
 * Cross-layer consistency: one model drives every layer, so every public host has exactly one
 * Ingress with TLS and an existing issuer, one Cloudflare record, an HAProxy route and a mesh ACL
 * entry, and no layer serves a host the model does not declare.
 *
 * A layer joins the check once its renderer exists (the render holds its files); `activeLayers`
 * says which do, and the tests pin that list so a layer cannot silently drop out. A host's Ingress
 * is required once the service that owns it is rendered.
 */
import { PLATFORM_ENV, SERVICE_NAMES } from '../config';
import type { PolicyInput, Violation } from './types';
import { resources } from './terraform/json';

export type Layer = 'ingress' | 'dns' | 'haproxy' | 'mesh-acl';

const HAPROXY_CFG = 'gateway/haproxy.cfg';
const ACL_FILES = ['gateway/headscale/acl.hujson', 'gateway/headscale/acl.json'];

interface IngressSpec {
  tls?: { hosts?: string[]; secretName?: string }[];
  rules?: { host?: string }[];
}

function dnsRecordNames(input: PolicyInput): string[] {
  const domain = input.platform.domain;
  return [...resources(input.stacks, 'cloudflare_dns_record'), ...resources(input.stacks, 'cloudflare_record')].map((r) => {
    const name = String((r.body as { name?: string }).name ?? '');
    return name === '@' ? domain : name.endsWith(domain) ? name : `${name}.${domain}`;
  });
}

export function activeLayers(input: PolicyInput): Layer[] {
  const layers: Layer[] = [];
  if (input.objects.some(({ object }) => object.kind === 'Ingress')) layers.push('ingress');
  if (dnsRecordNames(input).length) layers.push('dns');
  if (input.files.has(HAPROXY_CFG)) layers.push('haproxy');
  if (ACL_FILES.some((f) => input.files.has(f))) layers.push('mesh-acl');
  return layers;
}

export function consistencyRules(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  const { platform } = input;
  const layers = new Set(activeLayers(input));
  const hostRef = (host: string) => `Host/-/${host}`;
  const report = (host: string, message: string) => violations.push({ rule: 'CONSISTENCY-01', ref: hostRef(host), message });

  const serviceHosts = new Map(SERVICE_NAMES.flatMap((name) => (platform.services[name].host ? [[platform.services[name].host!, name] as const] : [])));
  // App hosts: one per app and environment; the Ingress lives in k8s/<env>/<app>/.
  const appHosts = new Map(
    Object.entries(platform.apps ?? {}).flatMap(([app, spec]) => Object.entries(spec.environments).map(([env, d]) => [d.host, { app, env }] as const)),
  );
  const publicHosts = [...serviceHosts.keys(), ...appHosts.keys()];
  const declared = new Set([...publicHosts, platform.mesh.headscaleHost]);
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

  const records = dnsRecordNames(input);
  if (layers.has('dns')) {
    for (const host of declared) {
      const count = records.filter((r) => r === host).length;
      if (count !== 1) report(host, `${count} Cloudflare records name it; it needs exactly one`);
    }
  }

  const haproxy = input.files.get(HAPROXY_CFG) ?? '';
  if (layers.has('haproxy')) {
    for (const host of publicHosts) {
      if (!new RegExp(`(^|[\\s,])${host.replace(/\./g, '\\.')}($|[\\s,])`, 'm').test(haproxy)) report(host, 'HAProxy has no route for it; route its SNI to the ingress controller');
    }
  }

  const acl = ACL_FILES.map((f) => input.files.get(f)).find(Boolean) ?? '';
  if (layers.has('mesh-acl') && publicHosts.length && !acl.includes(platform.cluster.ingressAddress)) {
    for (const host of publicHosts) report(host, `the mesh ACL does not let the gateway reach the ingress address ${platform.cluster.ingressAddress}`);
  }

  // Nothing may serve a host the model does not declare. App hosts (issue: the user's apps) are
  // declared per environment; until the model has apps, every Ingress host must be a service host.
  const domainPattern = new RegExp(`[a-z0-9.-]+\\.${platform.domain.replace(/\./g, '\\.')}`, 'g');
  const seen = new Set<string>([...ingressHosts.keys(), ...records, ...(haproxy.match(domainPattern) ?? [])]);
  for (const host of seen) {
    if (!declared.has(host) && host !== platform.domain) report(host, 'is rendered but the model does not declare it; declare it in the model or remove it');
  }
  return violations;
}
