import type { Chart } from 'cdk8s';
import { ARGOCD_NAMESPACE, LockedDefaultProject } from '../lib/argocd';
import type { ServiceDefinition } from '../lib/service';

/**
 * Argo CD's own configuration as GitOps: the locked `default` project here; the platform's
 * AppProjects are added to the same folder by the app-of-apps, which knows every destination.
 */
export const argocd: ServiceDefinition = {
  name: 'argocd',
  namespace: ARGOCD_NAMESPACE,
  syncWave: -5,
  build(chart: Chart) {
    new LockedDefaultProject(chart, 'default-project');
  },
};
