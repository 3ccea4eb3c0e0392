/**
 * The facts the delivery pipeline and the user's apps share: where the build pods run, the deploy
 * agent the apps' namespaces admit, the app's container and its image in Harbor, and where the
 * pipeline's smoke tests reach an app. Both charts/build/ and charts/apps/ read them, so they live
 * below both (docs/decisions/0094: service charts never import each other).
 */
import { appNamespace, type Platform } from '../../config';
import type { Workload } from './network';

/** Where Jenkins starts its build pods: Pod Security baseline, a declared exception. */
export const BUILDS_NAMESPACE = 'builds';

/** Deploy pods (pod template and label `deploy-agent`): set the tag in Git, wait for the rollout, smoke tests. */
export const DEPLOY_AGENT: Workload = { namespace: BUILDS_NAMESPACE, name: 'deploy-agent', receivesNothing: true };

/** The app's container; the pipeline waits for this container's image. */
export const APP_CONTAINER = 'app';

/** The port of the app's Service (the container listens on `apps.<app>.port`). */
export const APP_SERVICE_PORT = 80;

/** The address the pipeline's smoke tests call: the environment's Service, inside the cluster. */
export function appInClusterUrl(app: string, env: string): string {
  return `http://${app}.${appNamespace(app, env)}.svc.cluster.local`;
}

/** An app's image repository in Harbor, without a tag: what the pipeline pushes and the app runs. */
export function imageRepository(registryHost: string, image: string): string {
  return `${registryHost}/${image}`;
}

/** The image repository of an app in Harbor, without a tag, from the model. */
export function appImageRepository(platform: Platform, app: string): string {
  const spec = platform.apps[app];
  if (!spec) throw new Error(`apps.${app}: no such app; the model declares: ${Object.keys(platform.apps).join(', ') || '(none)'}`);
  const registry = platform.services.harbor.host;
  if (!registry) throw new Error(`services.harbor.host: (missing): apps pull their images from Harbor; give it a public host, e.g. "registry.${platform.domain}"`);
  return imageRepository(registry, spec.image);
}
