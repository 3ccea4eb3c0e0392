/**
 * The app-of-apps: per environment, a root Application that syncs a folder of child
 * Applications, one per service. The root is applied once by hand (`bootstrap/`), then manages
 * itself from the same folder. Every AppProject is derived from what the services render, so a
 * project allows exactly the namespaces, repositories and cluster-scoped kinds in use.
 */
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { PLATFORM_ENV, type Platform } from '../../config';
import {
  ARGOCD_NAMESPACE,
  PlatformApplication,
  PlatformProject,
  type GroupKind,
} from '../lib/argocd';
import type { ServiceDefinition } from '../lib/service';

/** A service rendered for one environment, with what its objects need from its project. */
export interface RenderedService {
  readonly env: string;
  readonly service: ServiceDefinition;
  /** Namespaces its namespaced objects live in (plus its destination namespace). */
  readonly namespaces: readonly string[];
  /** Cluster-scoped kinds it renders or its chart installs. */
  readonly clusterResources: readonly GroupKind[];
  /** Helm repositories it pulls from. */
  readonly helmRepos: readonly string[];
  /** Whether its folder holds any manifest (a chart-only service has none). */
  readonly hasManifests: boolean;
}

/** The rendered folders of one environment's GitOps wiring. */
export interface AppOfAppsCharts {
  /** `dist/k8s/<env>/apps/`: the root (self-managed) and the child Applications. */
  readonly apps: Chart;
  /** `dist/k8s/<env>/bootstrap/`: what is applied once by hand. */
  readonly bootstrap: Chart;
}

/** The folder Argo CD reads for a service, relative to the repository root. */
export function servicePath(env: string, service: string): string {
  return `dist/k8s/${env}/${service}`;
}

export function appsPath(env: string): string {
  return `dist/k8s/${env}/apps`;
}

/**
 * The AppProject of a service: `platform` for every platform service (and every root); each app
 * gets its own project per environment, named like its Application and namespace (`<app>-<env>`),
 * so an app's Application may deploy only into that app's namespace in that environment, and
 * Argo CD's RBAC can grant a team dev without prod (docs/decisions/0002).
 */
export function projectName(env: string, service?: string): string {
  return env === PLATFORM_ENV || service === undefined ? env : applicationName(env, service);
}

export function rootName(env: string): string {
  return `${env}-root`;
}

/** The Application name of a service: platform services keep their name, apps get the env. */
export function applicationName(env: string, service: string): string {
  return env === PLATFORM_ENV ? service : `${service}-${env}`;
}

/** Roots only write Applications, into Argo CD's namespace. */
const ROOT_NAMESPACES = [ARGOCD_NAMESPACE];

/**
 * Builds, for every environment, its AppProject (into the platform's `argocd` folder chart, since
 * projects are Argo CD's configuration and only the platform may change them), its root
 * Application and its child Applications.
 */
export function buildAppOfApps(
  scope: Construct,
  platform: Platform,
  envs: readonly string[],
  rendered: readonly RenderedService[],
  projectsChart: Chart,
): Map<string, AppOfAppsCharts> {
  const result = new Map<string, AppOfAppsCharts>();
  const gitRepo = platform.git.repoURL;

  for (const env of envs) {
    const services = rendered.filter((r) => r.env === env);
    const isPlatform = env === PLATFORM_ENV;
    const projectOf = (members: readonly RenderedService[], name: string, description: string) => ({
      name,
      description,
      sourceRepos: [gitRepo, ...members.flatMap((s) => s.helmRepos)],
      // Roots of every environment live in the platform project: they write Applications into
      // the argocd namespace, which no tenant project may touch.
      namespaces: [...(isPlatform ? ROOT_NAMESPACES : []), ...members.flatMap((s) => s.namespaces)],
      clusterResources: members.flatMap((s) => s.clusterResources),
    });

    const apps = new Chart(scope, `${env}-apps`);
    const bootstrap = new Chart(scope, `${env}-bootstrap`);
    if (isPlatform) {
      const projectProps = projectOf(services, projectName(env), 'The shared platform services and Argo CD itself, including every root Application.');
      new PlatformProject(projectsChart, `project-${env}`, projectProps);
      // Every root lives in the platform project, so it must exist before the first root.
      new PlatformProject(bootstrap, 'project', projectProps);
    } else {
      for (const member of services) {
        const name = projectName(env, member.service.name);
        new PlatformProject(projectsChart, `project-${name}`, projectOf([member], name, `${member.service.name} in ${env}: its namespace only; no access to Argo CD's namespace.`));
      }
    }
    const rootProps = {
      name: rootName(env),
      project: projectName(PLATFORM_ENV),
      destinationNamespace: ARGOCD_NAMESPACE,
      directory: { repoURL: gitRepo, targetRevision: platform.git.targetRevision, path: appsPath(env) },
      syncWave: 0,
    };
    // The same root twice: applied once by hand from bootstrap/, then kept in sync from apps/.
    new PlatformApplication(bootstrap, 'root', rootProps);
    new PlatformApplication(apps, 'root', rootProps);

    for (const { service, hasManifests } of services) {
      const helm = service.helm?.(platform);
      new PlatformApplication(apps, service.name, {
        name: applicationName(env, service.name),
        project: projectName(env, service.name),
        destinationNamespace: service.namespace,
        directory: hasManifests
          ? { repoURL: gitRepo, targetRevision: platform.git.targetRevision, path: servicePath(env, service.name) }
          : undefined,
        helm,
        syncWave: service.syncWave,
      });
    }
    result.set(env, { apps, bootstrap });
  }
  return result;
}
