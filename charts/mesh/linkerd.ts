/**
 * Linkerd, open-source edge releases from its official charts (docs/decisions/0121-linkerd-edge.md),
 * installed by Argo CD in sync waves:
 *
 *   wave 0  linkerd-crds           the CRDs, and the linkerd namespace with its NetworkPolicies
 *   wave 1  trust-manager          its trust namespace is linkerd (charts/mesh/trust.ts)
 *   wave 1  linkerd-cni            the CNI plugin DaemonSet (no NET_ADMIN init container in pods)
 *   wave 2  linkerd-trust          the trust chain from cert-manager (charts/mesh/trust.ts)
 *   wave 2  linkerd-control-plane  identity, destination (+ policy), proxy injector
 *   wave 3+ meshed workloads       their namespaces carry `linkerd.io/inject: enabled`
 *
 * Every meshed pod (and every control plane pod) reaches identity, destination and the policy
 * controller: `meshControlPlaneConnections` derives those connections from the render's plan, so
 * the NetworkPolicies of both ends follow (docs/decisions/0123-what-is-meshed.md).
 *
 * Upstream, at linkerd/linkerd2 edge-26.8.3: charts/linkerd-control-plane/values.yaml and
 * templates/{identity,destination,proxy-injector}.yaml (ports, labels, Secret names),
 * charts/partials/templates/_proxy.tpl (the proxy container), charts/linkerd2-cni/templates/cni-plugin.yaml.
 *
 * @see https://linkerd.io/2-edge/tasks/install-helm/
 */
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import type { LinkerdControlPlaneValues, LinkerdCrdsValues, Linkerd2CniValues } from '../../imports/charts';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, MUTATING_WEBHOOK, VALIDATING_WEBHOOK } from '../lib/kinds';
import { PlatformNamespace } from '../lib/namespace';
import { apiServerCallers, connect, dnsAccess, kubeApiAccess, workloadKey, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import {
  IDENTITY_TRUST_DOMAIN,
  LINKERD_CONTROL_PLANE,
  LINKERD_DESTINATION,
  LINKERD_IDENTITY,
  LINKERD_NAMESPACE,
  LINKERD_PROXY_INJECTOR,
  PROXY_PORTS,
  isMeshed,
} from '../lib/service-mesh';
import type { ServiceRegistration } from '../lib/service';

/**
 * The admission webhooks' serving certificates: the Secret names the chart mounts with
 * `externalSecret: true`, and the Service each is reached at (linkerd/linkerd2 edge-26.8.3:
 * templates/proxy-injector.yaml, destination.yaml, proxy-injector-rbac.yaml, destination-rbac.yaml).
 * The trust chain (charts/mesh/trust.ts) issues them.
 */
export const WEBHOOK_CERTIFICATES = {
  proxyInjector: { name: 'linkerd-proxy-injector', secretName: 'linkerd-proxy-injector-k8s-tls' },
  profileValidator: { name: 'linkerd-sp-validator', secretName: 'linkerd-sp-validator-k8s-tls' },
  policyValidator: { name: 'linkerd-policy-validator', secretName: 'linkerd-policy-validator-k8s-tls' },
} as const;


export const CNI_NAMESPACE = 'linkerd-cni';
/** The CNI plugin installer (`k8s-app: linkerd-cni`); it serves nothing. */
export const CNI: Workload = { namespace: CNI_NAMESPACE, name: 'linkerd-cni', selectorLabel: 'k8s-app', receivesNothing: true };

/**
 * Where k3s keeps its CNI configuration and plugins, not /etc/cni/net.d and /opt/cni/bin (the
 * chart's defaults): k3s-io/k3s pkg/agent/config/config.go sets CNIConfDir to
 * <data-dir>/agent/etc/cni/net.d and CNIBinDir to the folder holding its host-local plugin, which
 * recent releases keep in <data-dir>/data/cni (read on a stored k3s version, not at the pinned tag).
 */
export const K3S_CNI = { netDir: '/var/lib/rancher/k3s/agent/etc/cni/net.d', binDir: '/var/lib/rancher/k3s/data/cni' } as const;

/**
 * The connections every proxy needs: its certificate from identity, service discovery from
 * destination, its inbound and outbound policy from the policy controller. A proxy that cannot
 * reach identity never becomes ready, and with native sidecars its pod's containers never start.
 */
function proxyControlConnections(client: Workload): Connection[] {
  return [
    connect({ workload: client }, LINKERD_IDENTITY, ['grpc'], 'Linkerd proxy: its workload certificate'),
    connect({ workload: client }, LINKERD_DESTINATION, ['destination', 'policy'], 'Linkerd proxy: service discovery and policy'),
  ];
}

/**
 * The control plane connections of every meshed workload of the render: each workload that a
 * declared connection names, in a meshed namespace, not on the host network (the injector skips
 * those: linkerd/linkerd2 edge-26.8.3 pkg/inject/report.go `Injectable`), plus the control plane's
 * own proxies. Nothing when the model does not mesh.
 */
export function meshControlPlaneConnections(platform: Platform, connections: readonly Connection[]): Connection[] {
  if (!platform.serviceMesh.enabled) return [];
  const clients = new Map<string, Workload>();
  for (const workload of LINKERD_CONTROL_PLANE) clients.set(workloadKey(workload), workload);
  for (const connection of connections) {
    for (const peer of [connection.from, connection.to]) {
      if ('workload' in peer && !peer.workload.hostNetwork && isMeshed(platform, peer.workload.namespace)) clients.set(workloadKey(peer.workload), peer.workload);
    }
  }
  return [...clients.values()].sort((a, b) => workloadKey(a).localeCompare(workloadKey(b))).flatMap(proxyControlConnections);
}

/** What the CRDs' service renders besides the chart: the linkerd namespace, for its policies. */
export interface LinkerdCrdsProps {
  /** Every connection of the render, for the linkerd namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

/**
 * Linkerd's CRDs (policy, ServiceProfile, ExternalWorkload) and the control plane's namespace, in
 * wave 0: they need nothing, and the namespace must exist before trust-manager (wave 1), whose
 * chart writes its Role into its trust namespace, this one.
 */
export class LinkerdCrds extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'linkerd-crds',
    namespace: LINKERD_NAMESPACE,
    syncWave: 0,
    helm: () => ({
      ...CHARTS.linkerdCrds,
      // Gateway API CRDs stay out: the policy controller watches routes only where their CRDs
      // exist (linkerd/linkerd2 edge-26.8.3: policy-controller/runtime/src/args.rs, api_resource_exists).
      values: { installGatewayAPI: false } satisfies LinkerdCrdsValues,
      clusterResources: [CRD],
      customResourceGroups: ['policy.linkerd.io', 'linkerd.io', 'workload.linkerd.io'],
    }),
  };

  constructor(scope: Construct, id: string, props: LinkerdCrdsProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: LINKERD_NAMESPACE,
      // With the CNI plugin no pod here needs NET_ADMIN: the control plane's containers, its
      // network validator and its proxies meet `restricted` (see controlPlaneValues).
      workloads: LINKERD_CONTROL_PLANE,
      plan: props.plan,
      // What the chart's namespace template sets when the CLI installs it (Helm does not render it):
      // linkerd/linkerd2 edge-26.8.3 charts/linkerd-control-plane/templates/namespace.yaml.
      labels: {
        'linkerd.io/is-control-plane': 'true',
        'config.linkerd.io/admission-webhooks': 'disabled',
        'linkerd.io/control-plane-ns': LINKERD_NAMESPACE,
      },
      annotations: { 'linkerd.io/inject': 'disabled' },
    });
  }
}

/** What the CNI plugin's service renders besides the chart: its namespace. */
export interface LinkerdCniProps {
  readonly plan: NetworkPlan;
}

/** The Linkerd CNI plugin: writes each meshed pod's iptables rules, so pods need no NET_ADMIN. */
export class LinkerdCni extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'linkerd-cni',
    namespace: CNI_NAMESPACE,
    // Before the control plane: its pods, like every meshed pod, wait for the plugin on their node.
    syncWave: 1,
    helm: () => ({
      ...CHARTS.linkerdCni,
      values: {
        destCNINetDir: K3S_CNI.netDir,
        destCNIBinDir: K3S_CNI.binDir,
        // The ports the plugin redirects to match the proxy's.
        inboundProxyPort: PROXY_PORTS.inbound,
        outboundProxyPort: PROXY_PORTS.outbound,
        proxyAdminPort: PROXY_PORTS.admin,
        // Deletes pods whose network validator failed because the plugin was not ready on the node yet.
        repairController: { enabled: true },
      } satisfies Linkerd2CniValues,
      clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
    }),
    connections: (platform: Platform): Connection[] => [dnsAccess(CNI), ...kubeApiAccess(CNI, platform)],
  };

  constructor(scope: Construct, id: string, props: LinkerdCniProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: CNI_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason:
        "the CNI plugin installer writes Linkerd's plugin and its configuration into the node's CNI folders (host paths) as root, so meshed pods need no NET_ADMIN",
      workloads: [CNI],
      plan: props.plan,
      labels: { 'config.linkerd.io/admission-webhooks': 'disabled', 'linkerd.io/cni-resource': 'true' },
    });
  }
}

/** The values of the control plane chart. */
export function controlPlaneValues(): LinkerdControlPlaneValues {
  const webhook = (certificate: { name: string }) => ({ externalSecret: true, injectCaFrom: `${LINKERD_NAMESPACE}/${certificate.name}` });
  return {
    identityTrustDomain: IDENTITY_TRUST_DOMAIN,
    // The trust roots come from trust-manager's ConfigMap, never from a value in Git.
    identityTrustAnchorsPEM: '',
    identity: {
      externalCA: true,
      issuer: { scheme: 'kubernetes.io/tls' },
    },
    cniEnabled: true,
    // It calls versioncheck.linkerd.io daily: no internet egress from the control plane.
    disableHeartBeat: true,
    proxy: {
      // The proxy as a sidecar init container (restartPolicy Always): it starts before the other
      // init containers and stops after the main ones, so Jobs complete (charts/partials/templates/_proxy.tpl).
      nativeSidecar: true,
      // `restricted` wants every capability dropped; the chart drops none unless asked (its own
      // pods set it: templates/destination.yaml, proxy-injector.yaml), and the injector reads these
      // values from the linkerd-config ConfigMap (templates/config.yaml).
      capabilities: { drop: ['ALL'] },
    },
    proxyInjector: webhook(WEBHOOK_CERTIFICATES.proxyInjector),
    profileValidator: webhook(WEBHOOK_CERTIFICATES.profileValidator),
    policyValidator: webhook(WEBHOOK_CERTIFICATES.policyValidator),
  };
}

/** The control plane reads nothing of the model: its certificates come from the trust chain. */
export type LinkerdControlPlaneProps = Record<string, never>;

/** identity, destination (with the policy controller) and the proxy injector, from the chart. */
export class LinkerdControlPlane extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'linkerd-control-plane',
    namespace: LINKERD_NAMESPACE,
    syncWave: 2,
    helm: () => ({
      ...CHARTS.linkerdControlPlane,
      values: controlPlaneValues(),
      // cainjector writes each webhook's caBundle (annotation cert-manager.io/inject-ca-from):
      // templates/proxy-injector-rbac.yaml and destination-rbac.yaml render none with injectCaFrom.
      ignoreDifferences: [
        { kind: 'MutatingWebhookConfiguration' as const, name: 'linkerd-proxy-injector-webhook-config' },
        { kind: 'ValidatingWebhookConfiguration' as const, name: 'linkerd-sp-validator-webhook-config' },
        { kind: 'ValidatingWebhookConfiguration' as const, name: 'linkerd-policy-validator-webhook-config' },
      ].map(({ kind, name }) => ({
        group: 'admissionregistration.k8s.io',
        kind,
        name,
        jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
        writtenBy: 'cert-manager cainjector',
      })),
      clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING, MUTATING_WEBHOOK, VALIDATING_WEBHOOK],
    }),
    connections: (platform: Platform): Connection[] => [
      ...LINKERD_CONTROL_PLANE.flatMap((workload) => [dnsAccess(workload), ...kubeApiAccess(workload, platform)]),
      connect({ network: apiServerCallers(platform) }, LINKERD_PROXY_INJECTOR, ['webhook'], 'admission webhook (injects the Linkerd proxy)'),
      connect({ network: apiServerCallers(platform) }, LINKERD_DESTINATION, ['spValidator', 'policyValidator'], 'admission webhooks (ServiceProfile and policy validation)'),
    ],
  };

  constructor(scope: Construct, id: string, _props: LinkerdControlPlaneProps = {}) {
    super(scope, id);
    // Only the chart: its namespace and policies come with the CRDs (wave 1), its issuer Secret,
    // trust roots ConfigMap and webhook certificates with the trust chain (charts/mesh/trust.ts).
  }
}
