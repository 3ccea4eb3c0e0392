/**
 * Ceph's RADOS Gateway (S3) as a network peer: GitLab keeps its objects there. The endpoint is
 * `ceph.rgw.endpoint`; an address is allowed exactly, a name (resolved at run time, unknown here)
 * falls back to the nodes' LAN, where the Ceph cluster lives.
 */
import type { Platform } from '../../config';
import { isIpv4 } from '../../config/net';
import { hosts, type Network } from '../lib/network';

function endpointOf(platform: Platform): URL {
  return new URL(platform.ceph.rgw.endpoint);
}

export function rgwNetwork(platform: Platform): Network {
  const host = endpointOf(platform).hostname;
  return isIpv4(host) ? hosts('ceph rgw', [host]) : { name: 'ceph rgw (LAN)', cidrs: [{ cidr: platform.cluster.lanCidr }] };
}

export function rgwPort(platform: Platform): number {
  const url = endpointOf(platform);
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
