/**
 * The container securityContext of Pod Security `restricted` (POLICY-RULES 2.1), in one place for
 * the pods we render and the chart values we set: no privilege escalation, no capability, a
 * read-only root filesystem (writable paths are volumes). The pod-level half (non-root identity,
 * seccomp RuntimeDefault) depends on each image's user and is set with the pod.
 */
export const RESTRICTED_CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
} as const;
