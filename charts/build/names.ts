/**
 * Names the delivery pieces share: Jenkins' JCasC, the build pods and the rendered Jenkinsfiles
 * all refer to them, so they are defined once (what the apps share with them: charts/lib/delivery.ts).
 */
import { BUILDS_NAMESPACE } from '../lib/delivery';
import type { Workload } from '../lib/network';

export const JENKINS_NAMESPACE = 'jenkins';

/** The controller: UI, webhooks and the agents' WebSocket connections on one HTTP port. */
export const JENKINS: Workload = { namespace: JENKINS_NAMESPACE, name: 'jenkins', ports: { http: 8080 } };
/**
 * Build pods with Kaniko (pods labelled `kaniko`, one pod template per app); they open
 * connections and accept none.
 */
export const KANIKO_AGENT: Workload = { namespace: BUILDS_NAMESPACE, name: 'kaniko', receivesNothing: true };

/**
 * The build pod template of one app (also its Jenkins label), and the ServiceAccount its pods
 * run as: the Vault role of that account reads only this app's push robot (docs/decisions/0119).
 */
export function buildAgentName(app: string): string {
  return `${KANIKO_AGENT.name}-${app}`;
}

/**
 * The build pods of these apps as one workload (one label, `kaniko`): each app's pods run as that
 * app's account, so every one of those accounts is an identity the servers they call authorize.
 */
export function kanikoAgent(apps: readonly string[]): Workload {
  return { ...KANIKO_AGENT, serviceAccounts: apps.map(buildAgentName) };
}

/**
 * Where the build pod's registry credential is mounted (Docker's config.json), in the push and
 * scan containers only: never in Kaniko's, where the app's Dockerfile `RUN` steps execute.
 */
export const REGISTRY_CONFIG_DIR = '/run/registry';

/** The name of the GitLab connection (gitlab-plugin) the jobs report commit statuses through. */
export const GITLAB_CONNECTION = 'gitlab';
/** Jenkins credential ids, as the JCasC defines them and the Jenkinsfiles use them. */
export const CREDENTIALS = { gitlabApi: 'gitlab-api-token', git: 'gitlab-git' } as const;

/** The branch of an app's repository whose pushes start its pipeline. */
export const PIPELINE_BRANCH = 'main';

/** Where an app's rendered Jenkinsfile lives in this repository (outside every Application path). */
export function pipelinePath(app: string): string {
  return `dist/${pipelineFile(app)}`;
}

/** The same, relative to dist/ (the renderer's key). */
export function pipelineFile(app: string): string {
  return `pipelines/${app}/Jenkinsfile`;
}
