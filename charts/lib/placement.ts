/**
 * Placement: every node carries a label naming it (rendered into its k3s config as `node-label`),
 * and a service placed on a node by the model (`services.<name>.node`) selects that label. A
 * label of our own, not `kubernetes.io/hostname`, so renaming a host does not silently move
 * workloads and the label is visibly part of the rendered node config.
 *
 * Volumes follow their pods: the `ceph-rbd` StorageClass binds on first consumer.
 */
import type { Platform, ServiceName } from '../../config';
import { NODE_LABEL } from '../../config/topology';

/** The node the model places a service on (`services.<name>.node`), checked to exist. */
export function placedNode(platform: Platform, service: ServiceName): string {
  const node = platform.services[service].node;
  if (!(node in platform.nodes)) {
    throw new Error(`services.${service}.node: "${node}": no such node; place the service on one of: ${Object.keys(platform.nodes).join(', ')}`);
  }
  return node;
}

/** The nodeSelector that keeps a service's pods on the node the model assigns. */
export function nodeSelectorFor(platform: Platform, service: ServiceName): Record<string, string> {
  return { [NODE_LABEL]: placedNode(platform, service) };
}

/**
 * The one StorageClass every volume claims (the cluster's default): charts/core/ceph-csi.ts
 * creates it, every stateful service names it.
 */
export const STORAGE_CLASS = 'ceph-rbd';
