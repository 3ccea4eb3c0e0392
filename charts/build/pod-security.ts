/**
 * Container security settings of the delivery workloads, in one place: every container is
 * restricted (POLICY-RULES 2.1) except Kaniko's, whose deviations are the ones POLICY-RULES
 * section 3 allows and `policy/exceptions.ts` grants (root, writable root filesystem, the
 * runtime's default capabilities), and nothing more: never privileged, no host mounts, no host
 * namespaces, no added capabilities, seccomp RuntimeDefault.
 */

import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { RESTRICTED_CONTAINER_SECURITY, restrictedPodSecurity } from '../lib/security-context';

/** The pod-level settings of a pod whose every container runs as `uid` (the group owns its volumes). */
export function restrictedPod(uid: number): k8s.PodSecurityContext {
  return restrictedPodSecurity({ uid, fsGroup: uid, fsGroupChangeOnRootMismatch: false });
}

/** A container that cannot escalate, holds no capability and cannot write its root filesystem. */
export function restrictedContainer(uid?: number): k8s.SecurityContext {
  return {
    ...RESTRICTED_CONTAINER_SECURITY,
    capabilities: { drop: [...RESTRICTED_CONTAINER_SECURITY.capabilities.drop] },
    ...(uid === undefined ? {} : { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid }),
  };
}
