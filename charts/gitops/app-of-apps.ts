/**
 * The app-of-apps: per environment, a root Application that syncs a folder of child
 * Applications, one per service. The root is applied once by hand (`bootstrap/`), then manages
 * itself from the same folder. Every AppProject is derived from what the services render, so a
 * project allows exactly the namespaces, repositories and cluster-scoped kinds in use.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PLATFORM_ENV, type Platform } from '../../config';
import {
  ARGOCD_NAMESPACE,
  PlatformApplication,
  PlatformProject,
  type GroupKind,
} from '../lib/argocd';
import type { ServiceDefinition } from '../lib/service';

/** A service's pinned Helm chart with its values, as its registration gives it. */
export type ServiceHelmSource = ReturnType<NonNullable<ServiceDefinition['helm']>>;

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

/** One service of an environment, as its Application and its project need it. */
export interface AppOfAppsMember {
  /** The service's name: its folder, and its Application's name in the platform. */
  readonly name: string;
  /** The Application's destination namespace. */
  readonly namespace: string;
  /** Its Application's sync wave. */
  readonly syncWave: number;
  /**
   * Its pinned upstream chart with values.
   * @default - none: the Application syncs only the service's folder
   */
  readonly helm?: ServiceHelmSource;
  /** Namespaces its namespaced objects live in (plus its destination namespace). */
  readonly namespaces: readonly string[];
  /** Cluster-scoped kinds it renders or its chart installs. */
  readonly clusterResources: readonly GroupKind[];
  /** Helm repositories it pulls from. */
  readonly helmRepos: readonly string[];
  /** Whether its folder holds any manifest (a chart-only service has none). */
  readonly hasManifests: boolean;
}

/** The model's slice one environment's GitOps wiring reads, and what the render made of it. */
export interface AppOfAppsProps {
  /** The environment (`platform` or one of the model's `environments`). */
  readonly env: string;
  /** The repository Argo CD reads the render from (`git.repoURL`, `git.targetRevision`). */
  readonly git: { readonly repoURL: string; readonly targetRevision: string };
  /** The environment's services, in the order of the catalogue. */
  readonly services: readonly AppOfAppsMember[];
  /**
   * Where the environment's AppProjects go: the platform's `argocd` folder, since projects are
   * Argo CD's configuration and only the platform may change them.
   */
  readonly projects: Construct;
}

/**
 * One environment's GitOps wiring: its AppProject(s) (into `props.projects`), its root
 * Application (in `apps` and, applied once by hand, in `bootstrap`) and a child Application per
 * service (in `apps`).
 */
export class AppOfApps extends Construct {
  /** `dist/k8s/<env>/apps/`: the root (self-managed) and the child Applications. */
  readonly apps: Chart;
  /** `dist/k8s/<env>/bootstrap/`: what is applied once by hand. */
  readonly bootstrap: Chart;

  constructor(scope: Construct, id: string, props: AppOfAppsProps) {
    super(scope, id);
    const { env, git, services } = props;
    const isPlatform = env === PLATFORM_ENV;
    const projectOf = (members: readonly AppOfAppsMember[], name: string, description: string) => ({
      name,
      description,
      sourceRepos: [git.repoURL, ...members.flatMap((s) => s.helmRepos)],
      // Roots of every environment live in the platform project: they write Applications into
      // the argocd namespace, which no tenant project may touch.
      namespaces: [...(isPlatform ? ROOT_NAMESPACES : []), ...members.flatMap((s) => s.namespaces)],
      clusterResources: members.flatMap((s) => s.clusterResources),
    });

    this.apps = new Chart(this, 'apps');
    this.bootstrap = new Chart(this, 'bootstrap');
    if (isPlatform) {
      const projectProps = projectOf(services, projectName(env), 'The shared platform services and Argo CD itself, including every root Application.');
      new PlatformProject(props.projects, `project-${env}`, projectProps);
      // Every root lives in the platform project, so it must exist before the first root.
      new PlatformProject(this.bootstrap, 'project', projectProps);
    } else {
      for (const member of services) {
        const name = projectName(env, member.name);
        new PlatformProject(props.projects, `project-${name}`, projectOf([member], name, `${member.name} in ${env}: its namespace only; no access to Argo CD's namespace.`));
      }
    }
    const rootProps = {
      name: rootName(env),
      project: projectName(PLATFORM_ENV),
      destinationNamespace: ARGOCD_NAMESPACE,
      directory: { repoURL: git.repoURL, targetRevision: git.targetRevision, path: appsPath(env) },
      syncWave: 0,
    };
    // The same root twice: applied once by hand from bootstrap/, then kept in sync from apps/.
    new PlatformApplication(this.bootstrap, 'root', rootProps);
    new PlatformApplication(this.apps, 'root', rootProps);

    for (const service of services) {
      new PlatformApplication(this.apps, service.name, {
        name: applicationName(env, service.name),
        project: projectName(env, service.name),
        destinationNamespace: service.namespace,
        directory: service.hasManifests ? { repoURL: git.repoURL, targetRevision: git.targetRevision, path: servicePath(env, service.name) } : undefined,
        helm: service.helm,
        syncWave: service.syncWave,
      });
    }
  }
}

/**
 * Builds, for every environment, its AppOfApps from the model and what the services rendered:
 * the one place the GitOps wiring reads the model (each service's chart values included).
 */
export function buildAppOfApps(
  scope: Construct,
  platform: Platform,
  envs: readonly string[],
  rendered: readonly RenderedService[],
  projectsChart: Chart,
): Map<string, AppOfAppsCharts> {
  const result = new Map<string, AppOfAppsCharts>();
  for (const env of envs) {
    const services = rendered
      .filter((r) => r.env === env)
      .map(({ service, namespaces, clusterResources, helmRepos, hasManifests }) => ({
        name: service.name,
        namespace: service.namespace,
        syncWave: service.syncWave,
        helm: service.helm?.(platform),
        namespaces,
        clusterResources,
        helmRepos,
        hasManifests,
      }));
    const { apps, bootstrap } = new AppOfApps(scope, env, { env, git: platform.git, services, projects: projectsChart });
    result.set(env, { apps, bootstrap });
  }
  return result;
}
