/**
 * The service mesh's shared facts (issue 18): what every chart that meshes, authorizes or scrapes
 * workloads needs to agree on. Linkerd's own install lives in its service folder; this module is
 * below every service chart (docs/decisions/0094-import-layers.md).
 *
 * Contract between the parts of issue 18: the install owns the namespace list and the reasons;
 * the mesh policy and the observability read `isMeshed` and the names below, never their own copy.
 *
 * @see https://linkerd.io/2-edge/reference/architecture/
 */
import type { Platform } from '../../config';

/** The control plane's namespace. */
export const LINKERD_NAMESPACE = 'linkerd';

/** The identity trust domain: the suffix of every workload identity (the chart's `identityTrustDomain`). */
export const IDENTITY_TRUST_DOMAIN = 'cluster.local';

/** The proxy's ports in every meshed pod (Linkerd's defaults). */
export const PROXY_PORTS = {
  /** Inbound: meshed clients connect here (and iptables redirects inbound traffic here). */
  inbound: 4143,
  /** Outbound: the pod's own connections are redirected here. */
  outbound: 4140,
  /** Admin: metrics (`/metrics`), readiness and liveness of the proxy. */
  admin: 4191,
} as const;

/** The mTLS identity of a ServiceAccount, as Linkerd's identity controller issues it. */
export function meshIdentity(namespace: string, serviceAccount: string): string {
  return `${serviceAccount}.${namespace}.serviceaccount.identity.${LINKERD_NAMESPACE}.${IDENTITY_TRUST_DOMAIN}`;
}

/** Whether the model turns the service mesh on. */
export function serviceMeshEnabled(platform: Platform): boolean {
  return platform.serviceMesh.enabled;
}

/**
 * Namespaces whose pods are never injected, each with the reason (listed in dist/README.md).
 * The install part of issue 18 completes this list; a namespace not in it is meshed.
 */
export const UNMESHED_NAMESPACES: Readonly<Record<string, string>> = {
  'kube-system': 'k3s system pods (CoreDNS, metrics-server) come up before the mesh and serve it',
  [LINKERD_NAMESPACE]: 'the control plane injects its own proxies; it is not injected by the injector',
};

/** Whether the pods of `namespace` carry a Linkerd proxy in this render. */
export function isMeshed(platform: Platform, namespace: string): boolean {
  return serviceMeshEnabled(platform) && !Object.hasOwn(UNMESHED_NAMESPACES, namespace);
}
