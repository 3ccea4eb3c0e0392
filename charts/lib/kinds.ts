/** Cluster-scoped kinds the core charts install, for their AppProject allow list. */
import type { GroupKind } from './argocd';

export const CRD: GroupKind = { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' };
export const CLUSTER_ROLE: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' };
export const CLUSTER_ROLE_BINDING: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' };
export const VALIDATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' };
export const MUTATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' };
export const INGRESS_CLASS_KIND: GroupKind = { group: 'networking.k8s.io', kind: 'IngressClass' };
export const CSI_DRIVER: GroupKind = { group: 'storage.k8s.io', kind: 'CSIDriver' };

/** Requests and limits as strings (POLICY-RULES K8S-RES-01), for chart values. */
export function resources(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string) {
  return { requests: { cpu: cpuRequest, memory: memoryRequest }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}
