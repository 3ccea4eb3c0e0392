/**
 * Which services each environment runs. The `platform` folder holds the shared cluster services;
 * the user's environments (dev, staging, prod) hold their applications.
 */
import { PLATFORM_ENV, type Platform } from '../config';
import { appNamespaceServices, appServices, checkAppNames } from './apps/app';
import { builds, jenkins } from './build/jenkins';
import { cephCsi, cephCsiConfig, snapshotController } from './core/ceph-csi';
import { certManager, certManagerConfig } from './core/cert-manager';
import { metallb, metallbConfig } from './core/metallb';
import { nginxIngress } from './core/nginx-ingress';
import type { ServiceDefinition } from './lib/service';
import { argocd } from './platform/argocd';

/**
 * The shared platform services, in no particular order: sync waves order them
 * (argocd -5; operators with CRDs 0-1; their custom resources and the ingress controller after).
 */
export const PLATFORM_SERVICES: readonly ServiceDefinition[] = [
  argocd,
  certManager,
  certManagerConfig,
  metallb,
  metallbConfig,
  nginxIngress,
  snapshotController,
  cephCsi,
  cephCsiConfig,
  jenkins,
  builds,
];

/**
 * The services of one environment: the platform's (plus the apps' namespaces, which the platform
 * owns), or the user's apps in that environment.
 */
export function servicesOf(env: string, platform: Platform): readonly ServiceDefinition[] {
  if (env !== PLATFORM_ENV) return appServices(env, platform);
  if (Object.keys(platform.apps).length === 0) return PLATFORM_SERVICES;
  checkAppNames(platform, PLATFORM_SERVICES);
  return [...PLATFORM_SERVICES, ...appNamespaceServices(platform)];
}
