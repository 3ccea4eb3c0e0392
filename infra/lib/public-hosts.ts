/**
 * The platform's public hosts, in one order: the gateway's files and stacks (HAProxy routes, the
 * Headscale policy, DNS records) and the nodes' hosts file all list them, so they live below
 * both infra/gateway and infra/nodes (docs/decisions/0094-import-layers.md).
 */
import { SERVICE_NAMES, appNamespace, type Platform, type ServiceName } from '../../config';

/** A public host of the platform and what serves it: a platform service, or an app in an environment (`<app>-<env>`). */
export interface PublicHost {
  readonly service: ServiceName | string;
  readonly host: string;
}

/**
 * Every public host the model declares: the services' hosts in the model's service order, then
 * each app's host per environment (apps and environments in the model's order).
 */
export function publicHosts(platform: Platform): PublicHost[] {
  const services = SERVICE_NAMES.flatMap((service) => {
    const host = platform.services[service].host;
    return host ? [{ service, host }] : [];
  });
  const apps = Object.entries(platform.apps).flatMap(([app, spec]) =>
    Object.keys(platform.environments).flatMap((env) => {
      const host = spec.environments[env]?.host;
      return host ? [{ service: appNamespace(app, env), host }] : [];
    }),
  );
  return [...services, ...apps];
}
