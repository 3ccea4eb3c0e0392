import type { Chart } from 'cdk8s';
import type { Platform } from '../../config';
import type { GroupKind, HelmChartSource } from './argocd';
import type { Connection, NetworkPlan } from './network';
import type { SecretConsumer } from './vault';

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
  helm?(platform: Platform): HelmChartSource & {
    /** Cluster-scoped kinds the chart creates, for the AppProject allow list. */
    readonly clusterResources: readonly GroupKind[];
  };
  /**
   * The network connections its workloads need, as client or server (see charts/lib/network.ts).
   * All services' connections form the render's NetworkPlan. @default - none
   */
  connections?(platform: Platform): readonly Connection[];
  /**
   * The workloads of this service that read secrets from Vault; the Vault service renders a role
   * and a policy for each, and the workload's pods carry `vaultAgentAnnotations()`. @default - none
   */
  secretConsumers?(platform: Platform): readonly SecretConsumer[];
  /** Adds the service's own objects to its chart; `plan` holds every connection of the render. */
  build(chart: Chart, platform: Platform, plan: NetworkPlan): void;
}
