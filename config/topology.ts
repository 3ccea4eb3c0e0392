/**
 * The label every node is registered with (its k3s config's `node-label`, infra/nodes) and that
 * placement selects on (charts/lib/placement.ts). Here, below both, so the node configs and the
 * charts cannot disagree on it and neither imports the other (docs/decisions/0094-import-layers.md).
 */

/** The node label that placement selects on. */
export const NODE_LABEL = 'platform-synthesizer.io/node';

/** The labels a node is registered with. */
export function nodeLabels(nodeName: string): Record<string, string> {
  return { [NODE_LABEL]: nodeName };
}

/**
 * kube-controller-manager's default `--node-cidr-mask-size-ipv4`, which k3s keeps: one /24 of the
 * pod network per node. The model requires a `cluster.podCidr` that holds at least one; the
 * policies derive each node's bridge and flannel addresses from it (charts/lib/network.ts).
 */
export const NODE_POD_SUBNET_PREFIX = 24;

/** The k3s API server's port on the control-plane node: the agents' configs join it, the mesh ACL (infra/gateway) opens it. */
export const K3S_API_PORT = 6443;
