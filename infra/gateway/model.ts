/**
 * What the gateway's files and stacks derive from the model, computed in one place so DNS records,
 * HAProxy routes, the Headscale policy and the security group cannot disagree.
 */
import { SERVICE_NAMES, appNamespace, exposureOf, type Exposure, type Platform, type ServiceName } from '../../config';
import { intToIpv4, parseAddressRange } from '../../config/net';

/** A host of the platform, what serves it (a platform service, or an app in an environment: `<app>-<env>`) and who reaches it. */
export interface PlatformHost {
  readonly service: ServiceName | string;
  readonly host: string;
  readonly exposure: Exposure;
}

/** A host the internet reaches (exposure `public`). */
export type PublicHost = PlatformHost;

/**
 * Every host the model declares, public or mesh-only: the services' hosts in the model's service
 * order, then each app's host per environment (apps and environments in the model's order).
 */
export function platformHosts(platform: Platform): PlatformHost[] {
  const services = SERVICE_NAMES.flatMap((service) => {
    const entry = platform.services[service];
    return entry.host ? [{ service, host: entry.host, exposure: exposureOf(entry) }] : [];
  });
  const apps = Object.entries(platform.apps).flatMap(([app, spec]) =>
    Object.keys(platform.environments).flatMap((env) => {
      const entry = spec.environments[env];
      return entry?.host ? [{ service: appNamespace(app, env), host: entry.host, exposure: exposureOf(entry) }] : [];
    }),
  );
  return [...services, ...apps];
}

/** The hosts the internet reaches: each gets a proxied Cloudflare record and an HAProxy route. */
export function publicHosts(platform: Platform): PublicHost[] {
  return platformHosts(platform).filter((h) => h.exposure === 'public');
}

/**
 * The mesh-only hosts: no Cloudflare record, no HAProxy route; Headscale's DNS answers them on the
 * mesh with the ingress controller's address, which the subnet router makes reachable.
 */
export function meshHosts(platform: Platform): PlatformHost[] {
  return platformHosts(platform).filter((h) => h.exposure === 'mesh');
}

/** The Cloudflare zone the records live in. */
export function cloudflareZone(platform: Platform): string {
  return platform.gateway.cloudflareZone ?? platform.domain;
}

/** Ports the gateway serves or uses; the security group, HAProxy and Headscale read them here. */
export const GATEWAY_PORTS = {
  https: 443,
  http: 80,
  /** STUN of Headscale's embedded DERP server (UDP). */
  stun: 3478,
  /** tailscaled's WireGuard port (UDP), for direct connections from mesh peers. */
  wireguard: 41641,
  /** HAProxy's Prometheus exporter and stats page, on the gateway's mesh address only. */
  metrics: 8405,
  /** Headscale's own TLS listener on loopback; HAProxy passes the Headscale SNI through to it. */
  headscale: 8443,
  /** Headscale's metrics on loopback. */
  headscaleMetrics: 9090,
  /** Headscale's gRPC API on loopback (the CLI uses the unix socket). */
  headscaleGrpc: 50443,
} as const;

/**
 * The ingress controller's port reserved for the gateway: HAProxy forwards the public hosts' TLS
 * there with a PROXY v2 header, and only there does the controller trust one, from the gateway's
 * mesh address only (decision 0069). Ports 80 and 443 stay plain for every other client (pods,
 * nodes, mesh devices), which could not send the header.
 */
export const INGRESS_GATEWAY_PORT = 8443;

/**
 * The path of HAProxy's metrics frontend that serves Headscale's metrics (Headscale listens on
 * loopback only): Prometheus scrapes `<mesh address>:<metrics port><path>`.
 */
export const HEADSCALE_METRICS_PATH = '/headscale/metrics';

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
