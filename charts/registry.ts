/**
 * Which services each environment runs. The `platform` folder holds the shared cluster services;
 * the user's environments (dev, staging, prod) hold their applications.
 */
import { PLATFORM_ENV, type Platform } from '../config';
import { cephCsi, cephCsiConfig, snapshotController } from './core/ceph-csi';
import { certManager, certManagerConfig } from './core/cert-manager';
import { metallb, metallbConfig } from './core/metallb';
import { nginxIngress } from './core/nginx-ingress';
import { velero, veleroConfig } from './backup/velero';
import type { ServiceDefinition } from './lib/service';
import { argocd } from './platform/argocd';
import { vault } from './security/vault';

/**
 * The shared platform services, in no particular order: sync waves order them
 * (argocd -5; operators with CRDs 0-1; their custom resources and the ingress controller 2;
 * Vault 3; Velero 4 and its custom resources 5).
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
  vault,
  velero,
  veleroConfig,
];

export function servicesOf(env: string, _platform: Platform): readonly ServiceDefinition[] {
  return env === PLATFORM_ENV ? PLATFORM_SERVICES : [];
}
