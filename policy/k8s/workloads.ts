/**
 * Reading pods out of workloads: "pod spec" is `spec` of a Pod, `spec.template.spec` of a
 * Deployment, StatefulSet, DaemonSet, ReplicaSet or Job, `spec.jobTemplate.spec.template.spec`
 * of a CronJob; "all containers" are init, regular and ephemeral containers.
 */
import type { KubeObject } from '../../charts/lib/service';
import type { RenderedObject } from '../types';

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { user?: string; role?: string; type?: string };
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: { path?: string; port?: number | string; host?: string };
  tcpSocket?: { port?: number | string; host?: string };
  grpc?: { port?: number };
  exec?: { command?: string[] };
}

export interface Container {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  ports?: { containerPort: number; name?: string; hostPort?: number; protocol?: string }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
  lifecycle?: Record<string, Probe>;
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext & { fsGroup?: number };
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string }; [kind: string]: unknown }[];
}

export interface Workload {
  readonly rendered: RenderedObject;
  readonly object: KubeObject;
  readonly pod: PodSpec;
  readonly podLabels: Record<string, string>;
  /** Jobs and CronJobs run to completion: they need no probes. */
  readonly runsToCompletion: boolean;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export function workloadOf(rendered: RenderedObject): Workload | undefined {
  const { object } = rendered;
  const spec = object.spec as Record<string, any> | undefined;
  if (!spec) return undefined;
  if (object.kind === 'Pod') {
    // A pod that is never restarted (a build pod) runs to completion, as a Job's pods do.
    const runsToCompletion = spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure';
    return { rendered, object, pod: spec as PodSpec, podLabels: (object.metadata.labels as Record<string, string>) ?? {}, runsToCompletion };
  }
  if (TEMPLATE_KINDS.has(object.kind)) {
    return {
      rendered,
      object,
      pod: (spec.template?.spec ?? {}) as PodSpec,
      podLabels: spec.template?.metadata?.labels ?? {},
      runsToCompletion: object.kind === 'Job',
    };
  }
  if (object.kind === 'CronJob') {
    const template = spec.jobTemplate?.spec?.template;
    return { rendered, object, pod: (template?.spec ?? {}) as PodSpec, podLabels: template?.metadata?.labels ?? {}, runsToCompletion: true };
  }
  return undefined;
}

export function workloads(objects: readonly RenderedObject[]): Workload[] {
  return objects.flatMap((rendered) => {
    const workload = workloadOf(rendered);
    return workload ? [workload] : [];
  });
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
}

/** A container's effective setting: its own, else the pod's. */
export function effective<K extends keyof SecurityContext>(pod: PodSpec, container: Container, key: K): SecurityContext[K] {
  return container.securityContext?.[key] ?? pod.securityContext?.[key];
}

/** Whether a label selector (matchLabels and matchExpressions) selects these labels. */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    if (expression.operator === 'In' && (value === undefined || !values.includes(value))) return false;
    if (expression.operator === 'NotIn' && value !== undefined && values.includes(value)) return false;
    if (expression.operator === 'Exists' && value === undefined) return false;
    if (expression.operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}
