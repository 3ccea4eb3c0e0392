/**
 * The gateway's own files: the Headscale ACL policy (who reaches what on the mesh) and the HAProxy
 * configuration (what listens where). Both are rendered from the model; these rules catch an edit
 * or a renderer change that opens the mesh or an admin listener to everyone.
 */
import { resources } from './terraform/json';
import type { PolicyInput, Violation } from './types';

const ACL_FILES = ['gateway/headscale/acl.hujson', 'gateway/headscale/acl.json'];
const HAPROXY_CFG = 'gateway/haproxy.cfg';

interface AclRule {
  action?: string;
  src?: string[];
  dst?: string[];
  /** Ports of a grant (`"*"` is every port). */
  ip?: string[];
}
interface AclPolicy {
  groups?: Record<string, string[]>;
  acls?: AclRule[];
  /** The newer form of the same rules (`src`, `dst` hosts, `ip` ports); every grant is an accept. */
  grants?: AclRule[];
}

/**
 * HuJSON (JSON with `//` and `/* *\/` comments and trailing commas) -> JSON. Comments inside
 * strings are kept: the scanner walks the text and skips string literals.
 */
export function parseHujson(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += char;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/**
 * Headscale implements Tailscale's policy language (juanfont/headscale docs/ref/acls.md at
 * v0.29.4; tailscale.com/kb/1337/policy-syntax): a source `*` is every device of the mesh,
 * including any device registered later; a destination is `host:ports`, where host `*` is every
 * device and port `*` every port. Only the administrators (the model's mesh.admins, through the
 * admin group) may reach every device; machines (tags) and "everyone" get named destinations.
 * Nobody gets every port of a destination (decision 0080: admins reach named ports only), except
 * machines of one tag among themselves (the k3s nodes, which run the cluster over the mesh).
 */
function aclRules(input: PolicyInput): Violation[] {
  const path = ACL_FILES.find((f) => input.files.has(f));
  if (!path) return [];
  const ref = `file/-/${path}`;
  let policy: AclPolicy;
  try {
    policy = parseHujson(input.files.get(path)!) as AclPolicy;
  } catch (error) {
    return [{ rule: 'GW-ACL-01', ref, message: `is not valid HuJSON (${(error as Error).message}); Headscale would refuse to start` }];
  }
  if (!Array.isArray(policy.acls)) return [{ rule: 'GW-ACL-01', ref, message: 'has no "acls" list; without one Headscale lets every device reach every other, render the rules' }];
  const admins = new Set(input.platform.mesh.admins.map((user) => `${user}@`));
  // An admin group: a group whose members are all administrators of the model.
  const isAdminGroup = (selector: string) => {
    const members = policy.groups?.[selector];
    return selector.startsWith('group:') && Array.isArray(members) && members.length > 0 && members.every((m) => admins.has(m));
  };
  const violations: Violation[] = [];
  const check = (list: 'acls' | 'grants', rule: AclRule, index: number) => {
    if (list === 'acls' && rule.action !== 'accept') return;
    const at = `${list}[${index}]`;
    const src = rule.src ?? [];
    const dst = rule.dst ?? [];
    if (src.includes('*')) {
      violations.push({ rule: 'GW-ACL-01', ref, message: `${at} accepts src "*" (every device, including any registered later) to ${dst.join(', ')}; name a group or tag` });
    }
    const everywhere = dst.filter((d) => /^\*(:|$)/.test(d));
    const nonAdmins = src.filter((s) => s !== '*' && !isAdminGroup(s));
    // Every port: `host:*` in an ACL, `"ip": ["*"]` in a grant. A source "*", or a non-admin reaching every device, is reported on its own.
    const hostOf = (d: string) => (list === 'acls' ? d.slice(0, d.lastIndexOf(':')) : d);
    const everyPort = (list === 'acls' ? dst.filter((d) => d.endsWith(':*')) : (rule.ip ?? []).includes('*') ? dst : []).filter((d) => !(everywhere.includes(d) && nonAdmins.length));
    const peersOfOneTag = (d: string) => src.length > 0 && src.every((s) => s.startsWith('tag:') && s === hostOf(d));
    const widened = everyPort.filter((d) => !peersOfOneTag(d));
    if (widened.length && !src.includes('*')) {
      violations.push({
        rule: 'GW-ACL-01',
        ref,
        message: `${at} lets ${src.join(', ')} reach ${widened.map(hostOf).join(', ')} on every port; name the ports the flow needs (only devices of one tag may reach each other on every port)`,
      });
    }
    if (everywhere.length && nonAdmins.length) {
      violations.push({
        rule: 'GW-ACL-01',
        ref,
        message: `${at} lets ${nonAdmins.join(', ')} reach every device (${everywhere.join(', ')}); only the administrators' group may, give the others named destinations and ports`,
      });
    }
  };
  policy.acls.forEach((rule, index) => check('acls', rule, index));
  (Array.isArray(policy.grants) ? policy.grants : []).forEach((rule, index) => check('grants', rule, index));
  return violations;
}

/** One `bind` address of HAProxy: `[proto@]host:port[-port]`, a path or a socket pair. */
export function wildcardPorts(address: string): string | undefined {
  const bare = address.replace(/^(ipv4|ipv6|tcp|tcp4|tcp6|udp|udp4|udp6|quic4|quic6)@/, '');
  if (/^(unix|abns|fd|sockpair)@/.test(bare) || bare.startsWith('/')) return undefined;
  const colon = bare.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = bare.slice(0, colon).replace(/^\[|\]$/g, '');
  return ['', '*', '0.0.0.0', '::', '::0'].includes(host) ? bare.slice(colon + 1) : undefined;
}

/** TCP ports the gateway's security group admits from outside (any source range). */
function publicTcpPorts(input: PolicyInput): Set<number> {
  const ports = new Set<number>();
  for (const r of resources(input.stacks, 'aws_vpc_security_group_ingress_rule')) {
    if (String(r.body.ip_protocol) !== 'tcp') continue;
    for (let p = Number(r.body.from_port); p <= Number(r.body.to_port) && p - Number(r.body.from_port) < 65536; p++) ports.add(p);
  }
  return ports;
}

/** Statistics, the runtime API and the Prometheus exporter: for operators, never for the public. */
const ADMIN_DIRECTIVE = /^\s*(stats\s+(enable|uri|admin|auth|realm|show-)|http-request\s+use-service\s+prometheus-exporter)/m;

/**
 * HAProxy binds an address without a host (`:443`, `*:443`) or with 0.0.0.0 / `::` on every
 * interface (haproxy/haproxy doc/configuration.txt, "bind"). The public frontends must: the
 * security group decides who reaches them. Everything else (statistics, the Prometheus exporter,
 * the runtime API socket) binds the mesh or loopback address, so a security group edit alone can
 * never expose it.
 */
function haproxyRules(input: PolicyInput): Violation[] {
  const text = input.files.get(HAPROXY_CFG);
  if (text === undefined) return [];
  const ref = `file/-/${HAPROXY_CFG}`;
  const publicPorts = publicTcpPorts(input);
  const violations: Violation[] = [];
  // Comment lines go first: one at column 0 inside a section must not end the section.
  const sections = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .split(/\n(?=\S)/);
  for (const section of sections) {
    const [header] = section.split('\n');
    const [type, name = ''] = header.trim().split(/\s+/);
    const admin = ADMIN_DIRECTIVE.test(section);
    if (type === 'defaults' && admin) {
      violations.push({ rule: 'GW-HAPROXY-01', ref, message: `defaults ${name} enables statistics or the exporter for every frontend it applies to, the public ones included; enable them in one frontend bound to the mesh address` });
    }
    for (const line of section.split('\n')) {
      const socket = /^\s*stats\s+socket\s+(\S+)/.exec(line);
      const bind = /^\s*bind\s+(\S+)/.exec(line);
      const addresses = (socket ?? bind)?.[1].split(',') ?? [];
      for (const address of addresses) {
        const ports = wildcardPorts(address);
        if (ports === undefined) continue;
        const [from, to = from] = ports.split('-').map(Number);
        const allPublic = Number.isInteger(from) && Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i).every((p) => publicPorts.has(p));
        if (socket) {
          violations.push({ rule: 'GW-HAPROXY-01', ref, message: `${type} stats socket ${address} exposes the runtime API on every interface; use a unix socket or the mesh address` });
        } else if (admin) {
          violations.push({ rule: 'GW-HAPROXY-01', ref, message: `${type} ${name} serves statistics or metrics on every interface (bind ${address}); bind it to the gateway's mesh address` });
        } else if (!allPublic) {
          violations.push({
            rule: 'GW-HAPROXY-01',
            ref,
            message: `${type} ${name} binds ${address} on every interface, but port ${ports} is not one the gateway's security group opens (${[...publicPorts].sort((a, b) => a - b).join(', ') || 'none'}); bind it to the mesh or loopback address`,
          });
        }
      }
    }
  }
  return violations;
}

export function gatewayRules(input: PolicyInput): Violation[] {
  return [...aclRules(input), ...haproxyRules(input)];
}
