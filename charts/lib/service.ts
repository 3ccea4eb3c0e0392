import type { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Platform } from '../../config';
import type { GroupKind } from './argocd';
import type { PinnedHelmChartSource } from './chart-values';
import type { Connection, NetworkPlan } from './network';
import type { SecretConsumer } from './vault';

/** A Kubernetes object as rendered. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** What every service sees of the whole render when it builds. */
export interface ServicePlan extends NetworkPlan {
  /**
   * Every workload of the render that reads secrets from Vault (see charts/lib/vault.ts).
   * @default - none (a service built on its own, e.g. in a test)
   */
  readonly secretConsumers?: readonly SecretConsumer[];
}

/** What the services rendered, for the few objects that are derived from all of it. */
export interface RenderSummary {
  readonly services: readonly {
    readonly env: string;
    readonly service: ServiceDefinition;
    /** Its own objects (not those `afterRender` adds). */
    readonly objects: readonly KubeObject[];
    /** Whether its Helm chart creates PersistentVolumeClaims (see `helm().persistentVolumeClaims`). */
    readonly chartHoldsState: boolean;
  }[];
}

/**
 * One service of the platform: a folder of rendered manifests under `dist/k8s/<env>/<name>/`,
 * optionally an upstream Helm chart, and the Argo CD Application that installs both.
 */
export interface ServiceDefinition {
  /** Folder name and Application name; a DNS label. */
  readonly name: string;
  /** The Application's destination namespace. */
  readonly namespace: string;
  /**
   * Order among the environment's Applications: operators and CRDs first, their custom resources
   * after. @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
   */
  readonly syncWave: number;
  /** The pinned upstream chart, with values from the model. @default - none */
  helm?(platform: Platform): PinnedHelmChartSource & {
    /** Cluster-scoped kinds the chart creates, for the AppProject allow list. */
    readonly clusterResources: readonly GroupKind[];
    /**
     * The chart creates PersistentVolumeClaims in the service's namespace (e.g. a StatefulSet's
     * volumeClaimTemplates): state the daily backup must cover, invisible in our render.
     * @default false
     */
    readonly persistentVolumeClaims?: boolean;
    /**
     * API groups whose CustomResourceDefinitions the chart installs: Applications of later waves
     * may render custom resources of them (checked by the bring-up walk, test/bringup.test.ts).
     * @default - none
     */
    readonly customResourceGroups?: readonly string[];
  };
  /**
   * API groups whose CustomResourceDefinitions the service's own workload registers when it starts
   * (system-upgrade-controller creates upgrade.cattle.io's): Applications of later waves may render
   * custom resources of them (test/bringup.test.ts). @default - none
   */
  readonly registersCustomResourceGroups?: readonly string[];
  /**
   * The network connections its workloads need, as client or server (see charts/lib/network.ts).
   * All services' connections form the render's NetworkPlan. @default - none
   */
  connections?(platform: Platform): readonly Connection[];
  /**
   * The workloads of this service that read secrets from Vault; the Vault service renders a role
   * and a policy for each, the render adds their connection to Vault, and the workload's pods
   * carry `vaultAgentPod()`. @default - none
   */
  secretConsumers?(platform: Platform): readonly SecretConsumer[];
  /** Adds the service's own objects to its chart; `plan` holds every connection and consumer of the render. */
  build(chart: Chart, platform: Platform, plan: ServicePlan): void;
  /**
   * Adds objects derived from what every service renders (e.g. the backup schedule covers each
   * namespace that holds state). Called once all services are built. @default - none
   */
  afterRender?(chart: Chart, platform: Platform, render: RenderSummary): void;
}

/**
 * What the render needs to know of a service written as a construct class, besides its props:
 * its folder, namespace, sync wave and the network and Vault plan entries it declares. A class
 * carries it as `static readonly registration` (see the guide in charts/lib/workload.ts).
 */
export interface ServiceRegistration {
  /** Folder name and Application name; a DNS label. */
  readonly name: string;
  /** The Application's destination namespace. */
  readonly namespace: string;
  /** Order among the environment's Applications (see `ServiceDefinition.syncWave`). */
  readonly syncWave: number;
  /**
   * The network connections its workloads need, as client or server (see charts/lib/network.ts).
   * @default - none
   */
  connections?(platform: Platform): readonly Connection[];
  /**
   * The workloads that read secrets from Vault (see `ServiceDefinition.secretConsumers`).
   * @default - none
   */
  secretConsumers?(platform: Platform): readonly SecretConsumer[];
  /**
   * The pinned upstream chart and its values (see `ServiceDefinition.helm`).
   * @default - none: the service renders only its own objects
   */
  helm?: ServiceDefinition['helm'];
  /**
   * API groups whose custom resources the service's own objects register at run time (see
   * `ServiceDefinition.registersCustomResourceGroups`).
   * @default - none
   */
  readonly registersCustomResourceGroups?: readonly string[];
  /**
   * Objects derived from what every service renders (see `ServiceDefinition.afterRender`).
   * @default - none
   */
  afterRender?: ServiceDefinition['afterRender'];
}

/** A service written as a construct class: `new Foo(scope, id, props)` renders it. */
export interface ServiceConstruct<P> {
  new (scope: Construct, id: string, props: P): Construct;
  readonly registration: ServiceRegistration;
}

/**
 * The catalogue's record of a construct-class service: its registration, and how its props come
 * from the model and the render's plan (the one place that reads the model for it). Converted
 * and `ServiceDefinition` services then render side by side.
 */
export function constructService<P>(service: ServiceConstruct<P>, props: (platform: Platform, plan: ServicePlan) => P): ServiceDefinition {
  return constructInstance(service, service.registration, props);
}

/**
 * The catalogue's record of one instance of a construct-class service the model declares many of
 * (an app in each environment): the class has no single `registration`, so the catalogue passes
 * the instance's (e.g. `TenantApp.registrationFor(app, env)`). Otherwise as `constructService`.
 */
export function constructInstance<P>(
  service: new (scope: Construct, id: string, props: P) => Construct,
  registration: ServiceRegistration,
  props: (platform: Platform, plan: ServicePlan) => P,
): ServiceDefinition {
  return {
    name: registration.name,
    namespace: registration.namespace,
    syncWave: registration.syncWave,
    // Looked up at each call, so a test can replace the registration's method.
    connections: registration.connections && ((platform) => registration.connections!(platform)),
    secretConsumers: registration.secretConsumers && ((platform) => registration.secretConsumers!(platform)),
    helm: registration.helm && ((platform) => registration.helm!(platform)),
    registersCustomResourceGroups: registration.registersCustomResourceGroups,
    afterRender: registration.afterRender && ((chart, platform, render) => registration.afterRender!(chart, platform, render)),
    build(chart: Chart, platform: Platform, plan: ServicePlan) {
      new service(chart, registration.name, props(platform, plan));
    },
  };
}
