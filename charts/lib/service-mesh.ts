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
import type { NetworkPlan, Workload } from './network';
import { VAULT_PORT, VAULT_SERVER } from './vault';

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

/** The label the control plane chart puts on each component's pods. */
export const CONTROL_PLANE_LABEL = 'linkerd.io/control-plane-component';

/**
 * The control plane's components as workloads, with the ports the install connects proxies and
 * the API server to and the admin port Prometheus scrapes (linkerd/linkerd2 edge-26.8.3
 * charts/linkerd-control-plane/templates: identity.yaml, destination.yaml, proxy-injector.yaml).
 */
/** The identity controller: issues each proxy's certificate (gRPC 8080). */
export const LINKERD_IDENTITY: Workload = { namespace: LINKERD_NAMESPACE, name: 'identity', selectorLabel: CONTROL_PLANE_LABEL, ports: { grpc: 8080, admin: 9990 } };
/**
 * The destination pod: destination (8086) and policy (8090) controllers, the ServiceProfile
 * validator (8443) and the policy validator (9443) webhooks.
 */
export const LINKERD_DESTINATION: Workload = {
  namespace: LINKERD_NAMESPACE,
  name: 'destination',
  selectorLabel: CONTROL_PLANE_LABEL,
  ports: { destination: 8086, policy: 8090, spValidator: 8443, policyValidator: 9443, admin: 9996 },
};
/** The proxy injector: the admission webhook (8443) that adds the proxy to new pods. */
export const LINKERD_PROXY_INJECTOR: Workload = { namespace: LINKERD_NAMESPACE, name: 'proxy-injector', selectorLabel: CONTROL_PLANE_LABEL, ports: { webhook: 8443, admin: 9995 } };
export const LINKERD_CONTROL_PLANE: readonly Workload[] = [LINKERD_IDENTITY, LINKERD_DESTINATION, LINKERD_PROXY_INJECTOR];

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
 * A namespace not in it is meshed. The mesh syncs in waves 0-2 (docs/decisions/0123-what-is-meshed.md):
 * a namespace whose pods start before the injector answers would come up without proxies, so the
 * services of waves 2 and earlier are here too, with what meshing them would cost.
 */
export const UNMESHED_NAMESPACES: Readonly<Record<string, string>> = {
  'kube-system': 'k3s system pods (CoreDNS, metrics-server) come up before the mesh and serve it',
  [LINKERD_NAMESPACE]: 'the control plane injects its own proxies; it is not injected by the injector',
  'linkerd-cni': "the CNI plugin installer must run before any meshed pod can get its network; it mounts the node's CNI folders (host paths)",
  argocd: 'Argo CD installs the mesh: repairing a broken mesh through Git must not need the mesh (a restarted meshed pod waits for an identity the control plane hands out)',
  'cert-manager':
    "cert-manager and trust-manager issue and publish the mesh's own trust chain: meshed, their proxies would wait for an identity that the control plane can only hand out once they have issued it (a deadlock at the first start and after a full outage)",
  'metallb-system': "the load balancer comes up in wave 0, before the mesh; its speaker uses the node's network (never injected) and its controller talks only to the API server",
  'ceph-csi': "storage comes up in waves 0-2, before the mesh; the node plugin uses the node's network and the provisioner talks only to the API server and the external Ceph cluster",
  'snapshot-controller': 'it comes up in wave 0, before the mesh, and talks only to the API server',
  'nginx-ingress':
    'the ingress controller syncs in wave 2 with the control plane, so its pods may start before the injector answers and stay without a proxy; meshing it needs it in a later wave (a follow-up), and TLS from the gateway ends there either way',
};

/** Whether the pods of `namespace` carry a Linkerd proxy in this render. */
export function isMeshed(platform: Platform, namespace: string): boolean {
  return serviceMeshEnabled(platform) && !Object.hasOwn(UNMESHED_NAMESPACES, namespace);
}

/** `isMeshed` for code that sees the render's plan rather than the model (a namespace's construct). */
export function isMeshedInPlan(plan: NetworkPlan, namespace: string): boolean {
  return plan.mesh?.isMeshedNamespace(namespace) ?? false;
}

/**
 * The namespace annotation that asks the proxy injector for a proxy in every new pod.
 * @see https://linkerd.io/2-edge/features/proxy-injection/
 */
export const INJECT_ANNOTATION = { 'linkerd.io/inject': 'enabled' } as const;

/**
 * trust-manager (charts/mesh/trust.ts) runs in cert-manager's namespace, whose NetworkPolicies
 * cert-manager's service renders: both read it from here. Its pods are labelled `app: trust-manager`
 * (cert-manager/trust-manager v0.24.0: deploy/charts/trust-manager/templates/deployment.yaml).
 */
export const TRUST_MANAGER: Workload = { namespace: 'cert-manager', name: 'trust-manager', selectorLabel: 'app', ports: { webhook: 6443, metrics: 9402 } };

/** The proxy annotation (namespace or pod) whose ports the pod's traffic reaches without the proxy. */
export const SKIP_OUTBOUND_PORTS_ANNOTATION = 'config.linkerd.io/skip-outbound-ports';

/**
 * Connections that bypass the client's proxy, with the reason: their server sees these clients
 * without a mesh identity (the mesh policy authorizes them by NetworkPolicy alone).
 *
 * Vault: pods that read secrets at start run the agent as the first init container
 * (`vault.hashicorp.com/agent-init-first`, charts/lib/vault-access.ts READ_AT_START), ahead of
 * the proxy, because the API server calls Linkerd's injector before Vault's (mutating webhook
 * configurations are called in name order) and Vault's then puts its agent at the front. With the
 * CNI plugin the pod's traffic is redirected to the proxy from its first container on, so the
 * agent's login would go to a proxy that has not started. Skipping Vault's port for the
 * namespace's pods keeps the agent working whatever the order; the agent's TLS to Vault stays.
 * The injector copies a namespace's `config.linkerd.io/*` annotations onto each pod it injects,
 * where the CNI plugin reads them (linkerd/linkerd2 edge-26.8.3: controller/proxy-injector/webhook.go,
 * AppendNamespaceAnnotations; pkg/inject/inject.go, ProxyIgnoreOutboundPortsAnnotation).
 */
export const PROXY_BYPASS: readonly { readonly to: Workload; readonly port: number; readonly reason: string }[] = [
  { to: VAULT_SERVER, port: VAULT_PORT, reason: "the Vault agent's init container may run before the proxy has started" },
];

/** The namespace annotations that make its pods' connections of PROXY_BYPASS skip the proxy. */
export function proxyBypassAnnotations(plan: NetworkPlan, namespace: string): Record<string, string> {
  if (!isMeshedInPlan(plan, namespace)) return {};
  const ports = PROXY_BYPASS.filter((bypass) =>
    plan.connections.some(
      (c) => 'workload' in c.from && c.from.workload.namespace === namespace && 'workload' in c.to && c.to.workload.namespace === bypass.to.namespace && c.to.workload.name === bypass.to.name && c.ports.some((p) => p.port === bypass.port),
    ),
  ).map((bypass) => bypass.port);
  return ports.length > 0 ? { [SKIP_OUTBOUND_PORTS_ANNOTATION]: [...new Set(ports)].sort((a, b) => a - b).join(',') } : {};
}
