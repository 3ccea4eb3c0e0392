/**
 * Which services each environment runs. The `platform` folder holds the shared cluster services;
 * the user's environments (dev, staging, prod) hold their applications.
 */
import { PLATFORM_ENV, type Platform } from '../config';
import type { ServiceDefinition } from './lib/service';
import { argocd } from './platform/argocd';

/** The shared platform services, in no particular order: sync waves order them. */
export const PLATFORM_SERVICES: readonly ServiceDefinition[] = [argocd];

export function servicesOf(env: string, _platform: Platform): readonly ServiceDefinition[] {
  return env === PLATFORM_ENV ? PLATFORM_SERVICES : [];
}
