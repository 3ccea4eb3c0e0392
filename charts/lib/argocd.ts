/**
 * Argo CD building blocks: every Application and AppProject of the platform is made here, so the
 * sync behaviour (automated prune and self-heal, retry with backoff, server-side apply, the
 * resources finalizer, sync waves) is decided in one place.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
 */
import { Construct } from 'constructs';
import {
  Application,
  type ApplicationSpecSources,
} from '../../imports/argocd-application-argoproj.io';
import {
  AppProject,
  type AppProjectSpecClusterResourceWhitelist,
  type AppProjectSpecDestinations,
} from '../../imports/argocd-appproject-argoproj.io';
import { byCodePoint } from '../../config/order';
import { standardLabels } from './labels';

/** The namespace Argo CD runs in and watches for Applications and AppProjects. */
export const ARGOCD_NAMESPACE = 'argocd';
/** The in-cluster API server, the only destination this platform deploys to. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';
/** Deletes an Application's resources when the Application is deleted (cascading, foreground). */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** A kind of object, as Argo CD's resource allow lists name it. */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/**
 * A field of a live object that something other than Argo CD legitimately writes at run time (a
 * webhook's `caBundle` injected by its controller, a Secret the runbook fills): Argo CD neither
 * reports it as drift nor, with `RespectIgnoreDifferences=true`, overwrites it when it syncs.
 * Name the object exactly and the fields narrowly: everything else stays under self-heal
 * (docs/decisions/0063-run-time-fields-argo-cd-ignores.md).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/ (application-level ignoreDifferences)
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#respect-ignore-difference-configs
 */
export interface IgnoredDifference {
  /** API group, `''` for the core group. */
  readonly group: string;
  readonly kind: string;
  /** The object's exact name. */
  readonly name: string;
  /** Its namespace. @default - any (cluster-scoped objects have none) */
  readonly namespace?: string;
  /** RFC 6901 pointers to the ignored fields. @default - none */
  readonly jsonPointers?: readonly string[];
  /** jq paths, for fields inside lists (e.g. every webhook's caBundle). @default - none */
  readonly jqPathExpressions?: readonly string[];
  /** Who writes the field at run time, for the reader of the Application. */
  readonly writtenBy: string;
}

/** An upstream Helm chart, pinned, with values generated from the model. */
export interface HelmChartSource {
  /** The chart repository URL (https or oci without the scheme, as Argo CD expects). */
  readonly repoURL: string;
  readonly chart: string;
  /** An exact chart version; ranges are refused so renders stay reproducible. */
  readonly version: string;
  /** Helm release name. @default - the Application name */
  readonly releaseName?: string;
  /** Values as an object; rendered into the Application, reviewed in the diff of `dist/`. */
  readonly values: Record<string, unknown>;
  /** Fields of the chart's objects written at run time (see `IgnoredDifference`). @default - none */
  readonly ignoreDifferences?: readonly IgnoredDifference[];
}

/** Where the rendered plain manifests of an Application live in Git. */
export interface GitDirectorySource {
  readonly repoURL: string;
  readonly targetRevision: string;
  /** A folder of `dist/`, relative to the repository root. */
  readonly path: string;
}

export interface PlatformApplicationProps {
  /** The Application's name (unique in the `argocd` namespace). */
  readonly name: string;
  /** The AppProject it belongs to; never `default`. */
  readonly project: string;
  /** The namespace its namespaced resources go to when they do not name one. */
  readonly destinationNamespace: string;
  /** The folder of rendered manifests. @default - none: the Application is made of the Helm chart only */
  readonly directory?: GitDirectorySource;
  /** An upstream Helm chart installed alongside the directory. @default - none */
  readonly helm?: HelmChartSource;
  /**
   * Order among the sibling Applications of the root: lower waves sync (and become healthy) first,
   * so CRDs and operators come before the custom resources that need them.
   * @default 0
   */
  readonly syncWave?: number;
  /**
   * Fields written at run time that self-heal must leave alone; the Application then also syncs
   * with `RespectIgnoreDifferences=true`. @default - the chart's `ignoreDifferences`, if any
   */
  readonly ignoreDifferences?: readonly IgnoredDifference[];
}

/**
 * An Argo CD Application with the platform's sync policy: automated with prune and self-heal,
 * retries with exponential backoff, server-side apply, and the resources finalizer.
 */
export class PlatformApplication extends Construct {
  readonly name: string;
  readonly resource: Application;

  constructor(scope: Construct, id: string, props: PlatformApplicationProps) {
    super(scope, id);
    if (props.project === 'default') {
      throw new Error(`application ${props.name}: project "default" is locked; put the application in a dedicated AppProject`);
    }
    if (!props.directory && !props.helm) {
      throw new Error(`application ${props.name}: needs a directory of rendered manifests, a Helm chart, or both`);
    }
    if (props.helm && !/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(props.helm.version)) {
      throw new Error(`application ${props.name}: helm chart ${props.helm.chart} version "${props.helm.version}" is not an exact version; pin it, e.g. "1.2.3"`);
    }
    this.name = props.name;
    const ignored = props.ignoreDifferences ?? props.helm?.ignoreDifferences ?? [];
    for (const difference of ignored) {
      if ((difference.jsonPointers?.length ?? 0) + (difference.jqPathExpressions?.length ?? 0) === 0) {
        throw new Error(`application ${props.name}: ignoreDifferences of ${difference.kind} ${difference.name} names no field; list the jsonPointers or jqPathExpressions ${difference.writtenBy} writes`);
      }
    }

    const sources: ApplicationSpecSources[] = [];
    if (props.helm) {
      sources.push({
        repoUrl: props.helm.repoURL,
        chart: props.helm.chart,
        targetRevision: props.helm.version,
        helm: { releaseName: props.helm.releaseName ?? props.name, valuesObject: props.helm.values },
      });
    }
    if (props.directory) {
      sources.push({
        repoUrl: props.directory.repoURL,
        targetRevision: props.directory.targetRevision,
        path: props.directory.path,
        // Every file in the folder is a manifest; subfolders are never read.
        directory: { recurse: false },
      });
    }

    this.resource = new Application(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: ARGOCD_NAMESPACE,
        labels: standardLabels(props.name, 'argocd-application'),
        annotations: { 'argocd.argoproj.io/sync-wave': String(props.syncWave ?? 0) },
        finalizers: [RESOURCES_FINALIZER],
      },
      spec: {
        project: props.project,
        // One source stays in the simple `source` form, which every Argo CD tool understands.
        ...(sources.length === 1 ? { source: sources[0] } : { sources }),
        destination: { server: IN_CLUSTER, namespace: props.destinationNamespace },
        ...(ignored.length > 0
          ? {
              ignoreDifferences: ignored.map((d) => ({
                group: d.group,
                kind: d.kind,
                name: d.name,
                ...(d.namespace ? { namespace: d.namespace } : {}),
                ...(d.jsonPointers?.length ? { jsonPointers: [...d.jsonPointers] } : {}),
                ...(d.jqPathExpressions?.length ? { jqPathExpressions: [...d.jqPathExpressions] } : {}),
              })),
            }
          : {}),
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          // RespectIgnoreDifferences: a sync keeps the live value of an ignored field instead of
          // writing the rendered one back (without it, ignoreDifferences only hides the drift).
          syncOptions: [
            'ServerSideApply=true',
            'PrunePropagationPolicy=foreground',
            'PruneLast=true',
            ...(ignored.length > 0 ? ['RespectIgnoreDifferences=true'] : []),
          ],
          retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
        },
      },
    });
  }
}

export interface PlatformProjectProps {
  readonly name: string;
  readonly description: string;
  /** Exact repository URLs the project may pull from (Git and Helm). */
  readonly sourceRepos: readonly string[];
  /** Exact namespaces on the in-cluster API server the project may deploy to. */
  readonly namespaces: readonly string[];
  /** Cluster-scoped kinds the project may manage; nothing else cluster-wide. */
  readonly clusterResources: readonly GroupKind[];
}

/** An AppProject with explicit sources, destinations and cluster-scoped kinds: no wildcards. */
export class PlatformProject extends Construct {
  readonly name: string;
  readonly resource: AppProject;

  constructor(scope: Construct, id: string, props: PlatformProjectProps) {
    super(scope, id);
    if (props.name === 'default') {
      throw new Error('project "default" is rendered locked by LockedDefaultProject; choose another project name');
    }
    for (const value of [...props.sourceRepos, ...props.namespaces]) {
      if (value.includes('*')) {
        throw new Error(`project ${props.name}: "${value}" is a wildcard; list exact repositories and namespaces`);
      }
    }
    this.name = props.name;
    const sorted = <T>(items: readonly T[], key: (item: T) => string) =>
      [...items].sort((a, b) => byCodePoint(key(a), key(b))).filter((item, i, all) => i === 0 || key(all[i - 1]) !== key(item));

    const destinations: AppProjectSpecDestinations[] = sorted(props.namespaces, (n) => n).map((namespace) => ({
      server: IN_CLUSTER,
      namespace,
    }));
    const clusterResourceWhitelist: AppProjectSpecClusterResourceWhitelist[] = sorted(
      props.clusterResources,
      (gk) => `${gk.group}/${gk.kind}`,
    ).map((gk) => ({ group: gk.group, kind: gk.kind }));

    this.resource = new AppProject(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: ARGOCD_NAMESPACE,
        labels: standardLabels(props.name, 'argocd-project'),
        // Projects come before the Applications that reference them.
        annotations: { 'argocd.argoproj.io/sync-wave': '-10' },
      },
      spec: {
        description: props.description,
        sourceRepos: sorted(props.sourceRepos, (r) => r),
        destinations,
        clusterResourceWhitelist,
      },
    });
  }
}

/**
 * The `default` AppProject, locked: it can deploy nothing from nowhere, so an Application that
 * forgets its project fails instead of running with default permissions.
 */
export class LockedDefaultProject extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AppProject(this, 'Resource', {
      metadata: {
        name: 'default',
        namespace: ARGOCD_NAMESPACE,
        labels: standardLabels('default', 'argocd-project'),
      },
      spec: {
        description: 'Locked: every Application belongs to a dedicated project.',
        sourceRepos: [],
        sourceNamespaces: [],
        destinations: [],
        namespaceResourceBlacklist: [{ group: '*', kind: '*' }],
      },
    });
  }
}
