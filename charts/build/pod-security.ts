/**
 * Container security settings of the delivery workloads, in one place: every container is
 * restricted (POLICY-RULES 2.1) except Kaniko's, whose deviations are the ones POLICY-RULES
 * section 3 allows and `policy/exceptions.ts` grants (root, writable root filesystem, the
 * runtime's default capabilities), and nothing more: never privileged, no host mounts, no host
 * namespaces, no added capabilities, seccomp RuntimeDefault.
 */

import { RESTRICTED_CONTAINER_SECURITY } from '../lib/pod-security';

/** The pod-level settings of a pod whose every container runs as `uid`. */
export function restrictedPod(uid: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A container that cannot escalate, holds no capability and cannot write its root filesystem. */
export function restrictedContainer(uid?: number): Record<string, unknown> {
  return {
    ...RESTRICTED_CONTAINER_SECURITY,
    ...(uid === undefined ? {} : { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid }),
  };
}

/**
 * Kaniko's container: root (it unpacks the image it builds into its own root filesystem), with
 * the runtime's default capabilities minus NET_RAW, and otherwise locked: not privileged, no
 * privilege escalation, seccomp RuntimeDefault (Kaniko's README: it "does not require seccomp
 * and AppArmor to be disabled").
 */
export const KANIKO_CONTAINER_SECURITY = {
  runAsUser: 0,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: false,
  capabilities: { drop: ['NET_RAW'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** Requests and limits as Kubernetes quantities (strings, K8S-RES-01): the one helper of charts/core/kinds.ts. */
export { resources as containerResources } from '../lib/kinds';
