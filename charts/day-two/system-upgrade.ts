/**
 * k3s upgrades as GitOps: bumping `K3S_VERSION` in config/versions.ts (Renovate does it) changes
 * the `version` of two system-upgrade-controller Plans, and the controller upgrades the nodes:
 *  - `system-upgrade-controller` (wave 4): the controller, rendered here from the upstream
 *    manifest of the pinned release (it has no chart of its own; decision 0097). It registers the
 *    Plan CRD itself when it starts;
 *  - `system-upgrade-plans` (wave 5): the `k3s-server` Plan (the control plane, cordoned) and the
 *    `k3s-agent` Plan, whose `prepare` step waits until the server Plan is done, then upgrades the
 *    agents one at a time, each cordoned and drained. Both start only in `maintenance`.
 *
 * rancher/system-upgrade-controller v0.20.1: manifests/system-upgrade-controller.yaml,
 * manifests/clusterrole.yaml, manifests/clusterrolebinding.yaml, pkg/upgrade/job/job.go (the Job
 * pods run privileged with hostNetwork, hostPID and hostIPC, labelled with the Plan's own labels),
 * pkg/upgrade/controller.go (registerCRD), examples/k3s-upgrade.yaml.
 *
 * @see https://docs.k3s.io/upgrades/automated
 */
import { Construct } from 'constructs';
import type { MaintenanceWindow } from '../../config';
import { IMAGES, K3S_VERSION } from '../../config/versions';
import { Plan, PlanSpecDrainTimeout, type PlanSpec, type PlanSpecDrain } from '../../imports/system-upgrade-plan-upgrade.cattle.io';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { policyExceptions } from '../../common/policy-exceptions';
import { kubeApiAccess, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { WorkloadDeployment, WorkloadVolume } from '../lib/workload';

export const SYSTEM_UPGRADE_NAMESPACE = 'system-upgrade';
/** The API group of the Plan CRD the controller registers at start. */
export const PLAN_GROUP = 'upgrade.cattle.io';
/** The service account of the controller and of every upgrade Job (the Plans name it). */
const ACCOUNT = 'system-upgrade';
const CONTROLLER_NAME = 'system-upgrade-controller';
/** The label the controller reads its own name from (the Deployment's downward API, as upstream). */
const CONTROLLER_LABEL = 'upgrade.cattle.io/controller';
/** The upstream image the Plans run; the controller tags it with the Plan's version (`+` becomes `-`). */
export const K3S_UPGRADE_IMAGE = 'rancher/k3s-upgrade';
export const SERVER_PLAN = 'k3s-server';
export const AGENT_PLAN = 'k3s-agent';

/** The controller: calls the API server only (it serves no metrics and no webhook). */
export const SYSTEM_UPGRADE_CONTROLLER: Workload = { namespace: SYSTEM_UPGRADE_NAMESPACE, name: CONTROLLER_NAME, receivesNothing: true };
/**
 * The upgrade Jobs' pods, labelled with their Plan's labels (pkg/upgrade/job/job.go). They run on
 * the host network, where NetworkPolicies do not apply, so no policy selects them.
 */
export const K3S_UPGRADE_JOB: Workload = { namespace: SYSTEM_UPGRADE_NAMESPACE, name: 'k3s-upgrade', hostNetwork: true };

/**
 * How an agent is drained before its k3s is replaced: DaemonSet pods stay (they would come back
 * at once), emptyDir data goes with its pod, evictions respect PodDisruptionBudgets (never
 * `disableEviction`, never `force`: a bare pod blocks the drain rather than being lost), and a
 * drain that cannot finish in 15 minutes fails the Job, which the controller retries, instead of
 * upgrading a node that still runs workloads.
 */
export const AGENT_DRAIN: PlanSpecDrain = {
  ignoreDaemonSets: true,
  deleteEmptydirData: true,
  disableEviction: false,
  force: false,
  // A string: an integer is read as nanoseconds in an int32 (pkg/upgrade/job/job.go), at most 2 s.
  timeout: PlanSpecDrainTimeout.fromString('15m'),
  skipWaitForDeleteTimeout: 60,
};

/** The Plans' `window`: the model's maintenance window, in the days kured and the controller both read. */
export function planWindow(window: MaintenanceWindow): NonNullable<PlanSpec['window']> {
  return { days: [...window.days] as NonNullable<PlanSpec['window']>['days'], startTime: window.start, endTime: window.end, timeZone: window.timeZone };
}

/** The two Plans, both at `version`: the server first, then the agents one at a time. */
export function k3sPlans(window: MaintenanceWindow, version: string = K3S_VERSION): { name: string; spec: PlanSpec }[] {
  const common = {
    version,
    concurrency: 1,
    cordon: true,
    serviceAccountName: ACCOUNT,
    window: planWindow(window),
    upgrade: { image: K3S_UPGRADE_IMAGE },
  } satisfies Partial<PlanSpec>;
  return [
    {
      name: SERVER_PLAN,
      spec: {
        ...common,
        // k3s labels its servers `node-role.kubernetes.io/control-plane=true`. The one server is
        // cordoned, not drained: what runs there is pinned there by the model and could not move.
        nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'In', values: ['true'] }] },
        // Also where the server is tainted for critical add-ons only (a k3s server option).
        tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
      },
    },
    {
      name: AGENT_PLAN,
      spec: {
        ...common,
        nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] },
        // k3s-upgrade's `prepare <plan>` waits until that Plan has upgraded every node it selects.
        prepare: { image: K3S_UPGRADE_IMAGE, args: ['prepare', SERVER_PLAN] },
        drain: AGENT_DRAIN,
      },
    },
  ];
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const rbacMetadata = (name: string, namespace?: string): k8s.ObjectMeta => ({ name, namespace, labels: standardLabels(CONTROLLER_NAME, 'rbac') });

/** What the controller reads of the model and the render. */
export interface SystemUpgradeControllerProps {
  /** Every connection of the render, for the namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

/**
 * The controller with its namespace, settings and rights. Its Deployment is a `WorkloadDeployment`
 * in upstream's shape: the selector on `upgrade.cattle.io/controller` (`selectorLabel`), which the
 * controller reads its own name from and which a live Deployment cannot change, and the
 * `system-upgrade` account the Plans' Jobs share (`serviceAccount`)
 * (docs/decisions/0116-day-two-services-as-constructs.md).
 */
export class SystemUpgradeController extends Construct {
  static readonly registration: ServiceRegistration = {
    name: CONTROLLER_NAME,
    namespace: SYSTEM_UPGRADE_NAMESPACE,
    // Nothing needs it to come up; after the core and Prometheus, before the Plans.
    syncWave: 4,
    registersCustomResourceGroups: [PLAN_GROUP],
    connections: (platform): Connection[] => kubeApiAccess(SYSTEM_UPGRADE_CONTROLLER, platform),
  };

  constructor(scope: Construct, id: string, props: SystemUpgradeControllerProps) {
    super(scope, id);
    const ns = SYSTEM_UPGRADE_NAMESPACE;
    new PlatformNamespace(this, 'namespace', {
      name: ns,
      podSecurity: 'privileged',
      exceptionReason:
        'the k3s upgrade Jobs replace the k3s binary on the host: privileged, host network, PID and IPC namespaces and the host root mounted (upstream labels system-upgrade privileged), while the controller itself runs restricted',
      // Not the upgrade Jobs: they run on the host network, which NetworkPolicies do not apply to.
      workloads: [SYSTEM_UPGRADE_CONTROLLER],
      plan: props.plan,
    });
    const account = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: ACCOUNT, namespace: ns, labels: standardLabels(ACCOUNT, 'service-account') },
      automountServiceAccountToken: true,
    });
    // The controller's settings, as upstream's ConfigMap, with the kubectl image pinned here.
    const controllerEnv = new k8s.KubeConfigMap(this, 'controller-env', {
      metadata: { name: 'default-controller-env', namespace: ns, labels: standardLabels(CONTROLLER_NAME, 'config') },
      data: {
        SYSTEM_UPGRADE_CONTROLLER_DEBUG: 'false',
        SYSTEM_UPGRADE_CONTROLLER_THREADS: '2',
        SYSTEM_UPGRADE_CONTROLLER_LEADER_ELECT: 'true',
        // A drain may take its 15 minutes (AGENT_DRAIN) and the upgrade a few more.
        SYSTEM_UPGRADE_JOB_ACTIVE_DEADLINE_SECONDS: '1800',
        SYSTEM_UPGRADE_JOB_BACKOFF_LIMIT: '99',
        SYSTEM_UPGRADE_JOB_IMAGE_PULL_POLICY: 'IfNotPresent',
        SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE: IMAGES.systemUpgradeKubectl,
        SYSTEM_UPGRADE_JOB_PRIVILEGED: 'true',
        SYSTEM_UPGRADE_JOB_TTL_SECONDS_AFTER_FINISH: '900',
        SYSTEM_UPGRADE_PLAN_POLLING_INTERVAL: '15m',
      },
    });
    // The controller's rights, as upstream grants them: Jobs, its Plans, nodes (labels, cordon),
    // its lease, events, and creating the Plan CRD at start.
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: rbacMetadata(CONTROLLER_NAME),
      rules: [
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
        { apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'create', 'patch', 'update'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [CONTROLLER_NAME], verbs: ['get', 'update'] },
        { apiGroups: [PLAN_GROUP], resources: ['plans', 'plans/status'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
      ],
    });
    // What the Jobs' kubectl needs to cordon and drain a node.
    new k8s.KubeClusterRole(this, 'drainer-role', {
      metadata: rbacMetadata(`${CONTROLLER_NAME}-drainer`),
      rules: [
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'delete'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
        { apiGroups: ['apps'], resources: ['statefulsets', 'daemonsets', 'replicasets'], verbs: ['get', 'list'] },
      ],
    });
    // In its own namespace only: the Jobs it creates, and the Secrets a Plan may mount.
    new k8s.KubeRole(this, 'role', {
      metadata: rbacMetadata(CONTROLLER_NAME, ns),
      rules: [
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'delete', 'deletecollection', 'patch', 'update', 'get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    const subjects: k8s.Subject[] = [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: ns }];
    for (const [id, name] of [
      ['cluster-role-binding', CONTROLLER_NAME],
      ['drainer-binding', `${CONTROLLER_NAME}-drainer`],
    ] as const) {
      new k8s.KubeClusterRoleBinding(this, id, { metadata: rbacMetadata(name), roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name }, subjects });
    }
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: rbacMetadata(CONTROLLER_NAME, ns),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: CONTROLLER_NAME },
      subjects,
    });
    // Upstream's shape on the family: the selector on CONTROLLER_LABEL (the controller reads its
    // own name from that pod label through the downward API), the `system-upgrade` account the
    // Plans' Jobs share, one pod at a time (Recreate), on the control plane.
    new WorkloadDeployment(this, 'deployment', {
      workload: SYSTEM_UPGRADE_CONTROLLER,
      component: 'controller',
      selectorLabel: CONTROLLER_LABEL,
      service: false,
      image: IMAGES.systemUpgradeController,
      identity: { uid: 65534 },
      serviceAccount: account,
      automountToken: true,
      strategy: 'Recreate',
      annotations: policyExceptions({ 'K8S-PRB-01': 'the controller opens no port (no health or metrics endpoint at v0.20.1), so there is nothing to probe' }),
      // On the control plane, as upstream: it stays up while the agents are drained.
      nodeSelector: { 'node-role.kubernetes.io/control-plane': 'true' },
      tolerations: [
        { key: 'CriticalAddonsOnly', operator: 'Exists' },
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      ],
      envFrom: [{ configMapRef: { name: controllerEnv.name } }],
      env: [
        { name: 'SYSTEM_UPGRADE_CONTROLLER_NAME', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${CONTROLLER_LABEL}']` } } },
        { name: 'SYSTEM_UPGRADE_CONTROLLER_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'SYSTEM_UPGRADE_CONTROLLER_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      ],
      // Upstream mounts the host's CA bundles (for a Plan's channel URL); the Plans here name a
      // version, not a channel, so the controller calls nothing outside the cluster.
      volumes: [WorkloadVolume.emptyDir('tmp', '/tmp', '16Mi')],
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    });
  }
}

/** What the Plans read of the model. */
export interface SystemUpgradePlansProps {
  /** When upgrades may start (`maintenance` of the model), the window kured reboots in too. */
  readonly window: MaintenanceWindow;
  /**
   * The k3s release both Plans install.
   * @default K3S_VERSION (config/versions.ts, bumped by Renovate)
   */
  readonly version?: string;
}

/** The two Plans: the control plane first, then the agents one at a time. */
export class SystemUpgradePlans extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'system-upgrade-plans',
    namespace: SYSTEM_UPGRADE_NAMESPACE,
    // After the controller has registered the Plan CRD.
    syncWave: 5,
  };

  constructor(scope: Construct, id: string, props: SystemUpgradePlansProps) {
    super(scope, id);
    for (const { name, spec } of k3sPlans(props.window, props.version)) {
      new Plan(this, name, {
        // The Plan's labels go onto its Jobs' pods (job.go), so they carry the upgrade Job's name.
        metadata: { name, namespace: SYSTEM_UPGRADE_NAMESPACE, labels: standardLabels(K3S_UPGRADE_JOB.name, name) },
        spec,
      });
    }
  }
}
