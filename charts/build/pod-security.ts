/**
 * The pod level of the delivery workloads' pods (the agent pod templates). Their containers take
 * theirs from charts/lib/security-context.ts, like every rendered container: restricted
 * (`restrictedContainerSecurity`, POLICY-RULES 2.1) except Kaniko's (`KANIKO_CONTAINER_SECURITY`),
 * whose deviations are the ones POLICY-RULES section 3 allows and `policy/exceptions.ts` grants
 * (root, writable root filesystem, the runtime's default capabilities), and nothing more: never
 * privileged, no host mounts, no host namespaces, no added capabilities, seccomp RuntimeDefault.
 */

import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { restrictedPodSecurity } from '../lib/security-context';

/** The pod-level settings of a pod whose every container runs as `uid` (the group owns its volumes). */
export function restrictedPod(uid: number): k8s.PodSecurityContext {
  return restrictedPodSecurity({ uid, fsGroup: uid, fsGroupChangeOnRootMismatch: false });
}
