/**
 * IPv4 helpers for the model's cross-field rules (overlapping CIDRs, pools that collide with
 * node addresses). Kept dependency-free: the render path loads only what it uses.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

export function ipv4ToInt(value: string): number {
  return value.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** An inclusive range of IPv4 addresses, as integers. */
export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

/** `10.0.0.0/8` -> its range; undefined when the text is not a CIDR with the host bits clear. */
export function parseCidr(value: string): Ipv4Range | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(value);
  if (!match || !isIpv4(match[1]) || Number(match[2]) > 32) return undefined;
  const size = 2 ** (32 - Number(match[2]));
  const first = ipv4ToInt(match[1]);
  if (first % size !== 0) return undefined;
  return { first, last: first + size - 1 };
}

/**
 * MetalLB accepts a pool as a CIDR or as `first-last`; both become a range here.
 * @see https://metallb.io/configuration/#defining-the-ips-to-assign-to-the-load-balancer-services
 */
export function parseAddressRange(value: string): Ipv4Range | undefined {
  if (value.includes('/')) return parseCidr(value);
  const [from, to, extra] = value.split('-');
  if (extra !== undefined || !from || !to || !isIpv4(from) || !isIpv4(to)) return undefined;
  const range = { first: ipv4ToInt(from), last: ipv4ToInt(to) };
  return range.first <= range.last ? range : undefined;
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: Ipv4Range, address: string): boolean {
  const value = ipv4ToInt(address);
  return value >= range.first && value <= range.last;
}
