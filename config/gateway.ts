/**
 * The ports and paths where the gateway and the cluster meet: the gateway's files and stacks
 * (infra/) serve or open them, and the cluster's charts (the ingress controller, its network
 * policy, Prometheus' targets) listen on or scrape them. Here, below both, so neither imports the
 * other (docs/decisions/0094-import-layers.md).
 */

/** Ports the gateway serves or uses; the security group, HAProxy and Headscale read them here. */
export const GATEWAY_PORTS = {
  https: 443,
  http: 80,
  /** STUN of Headscale's embedded DERP server (UDP). */
  stun: 3478,
  /** tailscaled's WireGuard port (UDP), for direct connections from mesh peers. */
  wireguard: 41641,
  /** HAProxy's Prometheus exporter and stats page, on the gateway's mesh address only. */
  metrics: 8405,
  /** Headscale's own TLS listener on loopback; HAProxy passes the Headscale SNI through to it. */
  headscale: 8443,
  /** Headscale's metrics on loopback. */
  headscaleMetrics: 9090,
  /** Headscale's gRPC API on loopback (the CLI uses the unix socket). */
  headscaleGrpc: 50443,
} as const;

/**
 * The ingress controller's port reserved for the gateway: HAProxy forwards the public hosts' TLS
 * there with a PROXY v2 header, and only there does the controller trust one, from the gateway's
 * mesh address only (decision 0069). Ports 80 and 443 stay plain for every other client (pods,
 * nodes, mesh devices), which could not send the header.
 */
export const INGRESS_GATEWAY_PORT = 8443;

/**
 * The path of HAProxy's metrics frontend that serves Headscale's metrics (Headscale listens on
 * loopback only): Prometheus scrapes `<mesh address>:<metrics port><path>`.
 */
export const HEADSCALE_METRICS_PATH = '/headscale/metrics';
