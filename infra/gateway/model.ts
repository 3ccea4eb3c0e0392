/**
 * What the gateway's files and stacks derive from the model, computed in one place so DNS records,
 * HAProxy routes, the Headscale policy and the security group cannot disagree.
 */
import type { Platform } from '../../config';
import { intToIpv4, parseAddressRange } from '../../config/net';

/** The Cloudflare zone the records live in. */
export function cloudflareZone(platform: Platform): string {
  return platform.gateway.cloudflareZone ?? platform.domain;
}

/** Mesh (Headscale) tags of the platform's devices. */
export const MESH_TAGS = {
  gateway: 'tag:gateway',
  node: 'tag:k3s',
  subnetRouter: 'tag:ingress-router',
} as const;

/**
 * The MetalLB pool as the smallest list of CIDRs that covers it exactly (a pool may be a range
 * such as 192.168.10.240-192.168.10.250); these are the routes the subnet router advertises.
 */
export function poolCidrs(platform: Platform): string[] {
  const range = parseAddressRange(platform.cluster.loadBalancerPool);
  if (!range) throw new Error(`cluster.loadBalancerPool: "${platform.cluster.loadBalancerPool}": is not a CIDR or range`);
  const cidrs: string[] = [];
  let first = range.first;
  while (first <= range.last) {
    let size = 1;
    // Grow the block while it stays aligned and inside the range.
    while (first % (size * 2) === 0 && first + size * 2 - 1 <= range.last) size *= 2;
    cidrs.push(`${intToIpv4(first)}/${32 - Math.log2(size)}`);
    first += size;
  }
  return cidrs;
}

/**
 * The SSM Parameter Store parameter (SecureString, AWS managed key `alias/aws/ssm`) where the
 * gateway keeps the first admin's single-use pre-auth key while no admin device is registered
 * (decision 45). The gateway's role may write exactly this parameter; the admin reads it.
 */
export const FIRST_ADMIN_KEY_PARAMETER = '/platform-gateway/headscale/first-admin-key';

/** How long the first admin's key stays valid after the gateway stored it (Headscale duration). */
export const FIRST_ADMIN_KEY_EXPIRATION = '24h';

/** The DNS suffix of AWS endpoints in a region: China's regions have their own. */
export function awsDnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}
