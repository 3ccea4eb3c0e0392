/**
 * The one source of the security settings every pod of the platform runs with: Pod Security
 * `restricted` (POLICY-RULES 2.1) at pod and container level, in the typed form of the pods we
 * render (`k8s.PodSecurityContext`, `k8s.SecurityContext`) and in the form upstream Helm charts
 * take as values (the same keys: both follow the Kubernetes API). Two documented variants run as
 * root: Kaniko's build containers (POLICY-RULES section 3, policy/exceptions.ts) and Velero's node
 * agent (its namespace is Pod Security `baseline` with the exception's reason, charts/backup/velero.ts).
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
import type * as k8s from 'cdk8s-plus-28/lib/imports/k8s';

/** The seccomp profile `restricted` requires (the container runtime's default filter). */
export const RUNTIME_DEFAULT_SECCOMP = { type: 'RuntimeDefault' } as const satisfies k8s.SeccompProfile;

/**
 * Container level: no privilege escalation, no capability, a read-only root filesystem (writable
 * paths are volumes). The non-root identity and seccomp are set once for the whole pod.
 */
export const RESTRICTED_CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
} as const satisfies k8s.SecurityContext;

/**
 * The container settings as a Helm chart's `securityContext` value, for charts that have no
 * pod-level value of their own: the pod half (non-root, seccomp) repeated on the container.
 */
export const RESTRICTED_CONTAINER_VALUES = {
  ...RESTRICTED_CONTAINER_SECURITY,
  runAsNonRoot: true,
  seccompProfile: RUNTIME_DEFAULT_SECCOMP,
} as const satisfies k8s.SecurityContext;

/** The user one container runs as, when it is not the pod's (`restrictedContainerSecurity`). */
export interface ContainerIdentity {
  /** Its user id (`runAsUser`), not 0. */
  readonly uid: number;
  /** Its primary group (`runAsGroup`). @default - the same number as `uid` */
  readonly gid?: number;
}

/**
 * The container level of `restricted` in the typed form of a rendered pod: every container the
 * platform renders itself (the workload family's and Jenkins' agent pod templates) takes it from
 * here. With an identity the container runs as that user and states non-root itself, so its
 * context is restricted whatever the pod level says: a pod whose containers run as different
 * users (one of them root, Kaniko's) sets no user, nor `runAsNonRoot`, for all of them.
 */
export function restrictedContainerSecurity(identity?: ContainerIdentity): k8s.SecurityContext {
  return {
    ...RESTRICTED_CONTAINER_SECURITY,
    capabilities: { drop: [...RESTRICTED_CONTAINER_SECURITY.capabilities.drop] },
    ...(identity ? { runAsNonRoot: true, runAsUser: identity.uid, runAsGroup: identity.gid ?? identity.uid } : {}),
  };
}

/** The non-root identity a pod runs as: the user its image is built for. */
export interface PodIdentity {
  /** The user id of every container (`runAsUser`). */
  readonly uid: number;
  /**
   * The primary group (`runAsGroup`).
   * @default - the same number as `uid`
   */
  readonly gid?: number;
  /**
   * The group that owns the pod's volumes; set with `fsGroupChangePolicy: OnRootMismatch` so a
   * large volume is not walked at every start.
   * @default - no fsGroup (the volumes keep their ownership)
   */
  readonly fsGroup?: number;
  /**
   * Whether to write `fsGroupChangePolicy: OnRootMismatch` with the fsGroup (some charts and
   * pods of the platform set the group alone).
   * @default true
   */
  readonly fsGroupChangeOnRootMismatch?: boolean;
  /**
   * Further groups of every container (e.g. a host directory's group).
   * @default - none
   */
  readonly supplementalGroups?: readonly number[];
}

/**
 * Pod level of `restricted` with an explicit identity: non-root, the given user and group, and
 * seccomp RuntimeDefault. Key order does not matter: the manifest writer sorts keys.
 */
export function restrictedPodSecurity(identity: PodIdentity): k8s.PodSecurityContext {
  const fsGroup = identity.fsGroup;
  return {
    runAsNonRoot: true,
    runAsUser: identity.uid,
    runAsGroup: identity.gid ?? identity.uid,
    ...(fsGroup !== undefined ? { fsGroup, ...(identity.fsGroupChangeOnRootMismatch === false ? {} : { fsGroupChangePolicy: 'OnRootMismatch' }) } : {}),
    ...(identity.supplementalGroups ? { supplementalGroups: [...identity.supplementalGroups] } : {}),
    seccompProfile: RUNTIME_DEFAULT_SECCOMP,
  };
}

/**
 * A settings object as Helm chart values take it: the generated values types (imports/) index
 * their free-form objects by string, which the Kubernetes interfaces do not declare.
 */
export type ChartValuesOf<T> = T & { readonly [key: string]: unknown };

/** `restrictedPodSecurity` in the chart-values form (a chart's `podSecurityContext` value). */
export function restrictedPodValues(identity: PodIdentity): ChartValuesOf<k8s.PodSecurityContext> {
  // Same object; only the type widens to the values' index signature.
  return restrictedPodSecurity(identity) as ChartValuesOf<k8s.PodSecurityContext>;
}

/**
 * Pod level for an image whose user the chart or the image decides (no explicit uid): only the
 * non-root requirement and seccomp.
 */
export const RESTRICTED_POD_ANY_USER = { runAsNonRoot: true, seccompProfile: RUNTIME_DEFAULT_SECCOMP } as const satisfies k8s.PodSecurityContext;

/**
 * Kaniko's container, the one exception: root (it unpacks the image it builds into its own root
 * filesystem), the runtime's default capabilities minus NET_RAW, a writable root filesystem, and
 * otherwise locked: not privileged, no privilege escalation, seccomp RuntimeDefault (Kaniko's
 * README: it "does not require seccomp and AppArmor to be disabled"). POLICY-RULES section 3
 * allows exactly these deviations and policy/exceptions.ts grants them to the build pods only.
 */
export const KANIKO_CONTAINER_SECURITY = {
  runAsUser: 0,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: false,
  capabilities: { drop: ['NET_RAW'] },
  seccompProfile: RUNTIME_DEFAULT_SECCOMP,
} as const satisfies k8s.SecurityContext;

/**
 * Velero's node agent pod, the second exception: root, as upstream runs it (Velero v1.18
 * pkg/install/daemonset.go sets RunAsUser 0: it reads and writes the volumes of any pod), with
 * seccomp RuntimeDefault. No host path (`nodeAgent.disableHostPath`), no host namespace. Its
 * namespace is Pod Security `baseline` and names why (charts/backup/velero.ts).
 */
export const VELERO_NODE_AGENT_POD_SECURITY = { runAsUser: 0, seccompProfile: RUNTIME_DEFAULT_SECCOMP } as const satisfies k8s.PodSecurityContext;

/**
 * Velero's node agent container: the restricted container settings (no capability, no privilege
 * escalation, a read-only root), and explicitly unprivileged: the data mover runs in its own pods,
 * so the agent needs no privilege of its own.
 */
export const VELERO_NODE_AGENT_CONTAINER_SECURITY = { ...RESTRICTED_CONTAINER_SECURITY, privileged: false } as const satisfies k8s.SecurityContext;
