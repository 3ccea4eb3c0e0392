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

/** The k3s API server's port on the control-plane node: the agents' configs join it, the mesh ACL (infra/gateway) opens it. */
export const K3S_API_PORT = 6443;
