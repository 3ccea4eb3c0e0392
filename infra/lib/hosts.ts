/**
 * The platform's hosts, in one order, with their exposure: the gateway's files and stacks (HAProxy
 * routes, Headscale's DNS records and policy, DNS records) and the nodes' hosts file all list
 * them, so they live below both infra/gateway and infra/nodes (docs/decisions/0094-import-layers.md,
 * 0099-host-exposure.md).
 */
import { SERVICE_NAMES, appNamespace, exposureOf, type Exposure, type Platform, type ServiceName } from '../../config';

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

