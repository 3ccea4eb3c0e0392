/**
 * A small evaluator of Headscale (Tailscale) ACL policies, for tests: "can device A open
 * B:port?". It implements the parts of the policy language the platform renders (groups, tags,
 * hosts, users, CIDRs, `*`, port lists and ranges, `proto`) and throws on anything else, so a
 * selector it does not understand fails the test instead of being read as "no match".
 * Headscale 0.29 semantics: `*` is every mesh address (100.64.0.0/10), not subnet routes.
 * @see https://tailscale.com/kb/1337/policy-syntax
 */
import { isIpv4, parseCidr, rangeContains } from '../../config/net';

export interface MeshDevice {
  readonly name: string;
  readonly ip: string;
  /** The owning Headscale user (personal devices); tagged devices have none. */
  readonly user?: string;
  readonly tags?: readonly string[];
}

interface Rule {
  action: string;
  src: string[];
  dst: string[];
  proto?: string;
}

export interface Policy {
  groups?: Record<string, string[]>;
  tagOwners?: Record<string, string[]>;
  hosts?: Record<string, string>;
  autoApprovers?: { routes?: Record<string, string[]> };
  acls?: Rule[];
  ssh?: { action: string; src: string[]; dst: string[]; users: string[] }[];
}

/** HuJSON -> JSON: drops `//` line comments and trailing commas (the policy has no `//` in strings). */
export function parseHujson(text: string): Policy {
  const withoutComments = text
    .split('\n')
    .map((line) => (/^\s*\/\//.test(line) ? '' : line))
    .join('\n');
  return JSON.parse(withoutComments.replace(/,(\s*[}\]])/g, '$1')) as Policy;
}

const MESH = parseCidr('100.64.0.0/10')!;

function cidrOf(value: string): { first: number; last: number } | undefined {
  return isIpv4(value) ? parseCidr(`${value}/32`) : parseCidr(value);
}

export class AclEvaluator {
  constructor(
    private readonly policy: Policy,
    private readonly devices: readonly MeshDevice[],
  ) {
    if (policy.acls === undefined) throw new Error('the policy has no "acls": Headscale would allow everything');
  }

  /** Whether `from` may open a connection to `ip:port` over `proto`. */
  canReach(from: MeshDevice, ip: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): boolean {
    return (this.policy.acls ?? []).some(
      (rule) =>
        rule.action === 'accept' &&
        (rule.proto === undefined || rule.proto === proto) &&
        rule.src.some((selector) => this.sourceMatches(selector, from)) &&
        rule.dst.some((destination) => this.destinationMatches(destination, ip, port)),
    );
  }

  private usersOf(selector: string): string[] | undefined {
    if (selector.startsWith('group:')) {
      const members = this.policy.groups?.[selector];
      if (!members) throw new Error(`unknown group ${selector}`);
      return members;
    }
    if (selector.endsWith('@')) return [selector];
    return undefined;
  }

  private checkTag(tag: string): void {
    if (!this.policy.tagOwners?.[tag]) throw new Error(`${tag} is not in tagOwners; Headscale rejects the policy`);
  }

  private sourceMatches(selector: string, device: MeshDevice): boolean {
    if (selector === '*') return true;
    const users = this.usersOf(selector);
    if (users) return device.user !== undefined && users.includes(`${device.user}@`);
    if (selector.startsWith('tag:')) {
      this.checkTag(selector);
      return device.tags?.includes(selector) ?? false;
    }
    return this.addressSelectorContains(selector, device.ip);
  }

  private destinationMatches(destination: string, ip: string, port: number): boolean {
    const colon = destination.lastIndexOf(':');
    const selector = destination.slice(0, colon);
    const ports = destination.slice(colon + 1);
    if (!this.portsContain(ports, port)) return false;
    if (selector === '*') return isIpv4(ip) && rangeContains(MESH, ip);
    const users = this.usersOf(selector);
    if (users) return this.devices.some((d) => d.ip === ip && d.user !== undefined && users.includes(`${d.user}@`));
    if (selector.startsWith('tag:')) {
      this.checkTag(selector);
      return this.devices.some((d) => d.ip === ip && (d.tags?.includes(selector) ?? false));
    }
    return this.addressSelectorContains(selector, ip);
  }

  private addressSelectorContains(selector: string, ip: string): boolean {
    const alias = this.policy.hosts?.[selector];
    const range = cidrOf(alias ?? selector);
    if (!range) throw new Error(`unknown selector "${selector}"`);
    return rangeContains(range, ip);
  }

  private portsContain(ports: string, port: number): boolean {
    if (ports === '*') return true;
    return ports.split(',').some((part) => {
      const [from, to] = part.split('-').map(Number);
      if (Number.isNaN(from) || (to !== undefined && Number.isNaN(to))) throw new Error(`bad port list "${ports}"`);
      return port >= from && port <= (to ?? from);
    });
  }
}
