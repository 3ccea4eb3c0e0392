/**
 * The NGINX Ingress Controller from nginx.org (F5 NGINX's maintained controller; the community
 * ingress-nginx was retired in March 2026): ingress class `nginx`, one LoadBalancer Service on
 * the fixed MetalLB address `cluster.ingressAddress`, which the gateway's HAProxy targets over the
 * mesh. The only LoadBalancer Service of the platform.
 *
 * Traffic policy and client addresses (decision 0069): a controller pod on every node (DaemonSet)
 * behind `externalTrafficPolicy: Local`, so the subnet router always has a local endpoint and no
 * hop rewrites the source address. Ports 80 and 443 are plain for every client; the gateway alone
 * uses the gateway port, which requires HAProxy's PROXY v2 header and restores the visitor's
 * address from Cloudflare's `CF-Connecting-IP`.
 *
 * Read at nginx/kubernetes-ingress main 0eb3072 (chart 2.7.0, controller 5.6.0; the mirror has no
 * 2.7.2 tag): charts/nginx-ingress/values.yaml + values.schema.json (`kind`, `strategy`,
 * `customPorts`, `service.customPorts`), templates/controller-daemonset.yaml, and
 * internal/configs/configmaps.go (`real-ip-header`, `set-real-ip-from`, `stream-snippets`: the
 * ConfigMap's snippets are not gated by `enableSnippets`, which only governs Ingress annotations).
 *
 * @see https://docs.nginx.com/nginx-ingress-controller/installation/installing-nic/installation-with-helm/
 * @see https://docs.nginx.com/nginx-ingress-controller/configuration/global-configuration/configmap-resource/
 */
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import { PlatformNamespace } from '../lib/namespace';
import {
  ANYWHERE,
  INGRESS_CONTROLLER,
  connect,
  dnsAccess,
  hosts,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
} from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { INGRESS_GATEWAY_PORT } from '../../config/gateway';
import { CLOUDFLARE_IPV4_RANGES } from '../../config/cloudflare';
import { POOL_NAME } from './metallb';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, INGRESS_CLASS_KIND, resources } from '../lib/kinds';
import { INGRESS_CLASS } from '../lib/ingress';
import type * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { RESTRICTED_CONTAINER_VALUES, RESTRICTED_POD_ANY_USER } from '../lib/security-context';

/**
 * The controller runs as nginx (uid 101) and binds 80 and 443 with NET_BIND_SERVICE only: the
 * restricted container values (charts/lib/security-context.ts) plus that one capability, which
 * Pod Security `restricted` allows to be added.
 */
const CONTROLLER_SECURITY_CONTEXT = {
  ...RESTRICTED_CONTAINER_VALUES,
  runAsUser: 101,
  capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
} as const satisfies k8s.SecurityContext;

/** The container and Service port name of the gateway port (an IANA service name: 15 characters at most). */
export const GATEWAY_PORT_NAME = 'https-gateway';

/**
 * The controller's HTTP servers (rendered by the controller per Ingress) listen on 80 and 443
 * without the PROXY protocol, since the controller can only switch it on for all of them at once.
 * The gateway port is an NGINX stream server in front of them (ngx_stream_realip_module,
 * ngx_stream_access_module): it requires the PROXY v2 header, believes it only from the gateway's
 * mesh address, admits only Cloudflare's addresses (HAProxy forwards public hosts only from
 * Cloudflare) and the gateway itself (HAProxy's health checks send PROXY LOCAL), and hands the
 * still-encrypted bytes to 443 on loopback. The HTTP servers believe `CF-Connecting-IP` from
 * loopback only, that is from this stream server: every other client keeps its own address.
 * @see https://nginx.org/en/docs/stream/ngx_stream_realip_module.html
 * @see https://nginx.org/en/docs/http/ngx_http_realip_module.html
 * @see https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip
 */
export function gatewayStreamServer(platform: Platform): string {
  return [
    `server {`,
    `    listen ${INGRESS_GATEWAY_PORT} proxy_protocol;`,
    `    set_real_ip_from ${platform.gateway.meshAddress};`,
    ...CLOUDFLARE_IPV4_RANGES.map((range) => `    allow ${range};`),
    `    allow ${platform.gateway.meshAddress};`,
    `    deny all;`,
    // As long as HAProxy keeps a tunnel open (its `timeout tunnel`).
    `    proxy_timeout 1h;`,
    `    proxy_pass 127.0.0.1:${INGRESS_CONTROLLER.ports!.https};`,
    `}`,
  ].join('\n');
}

/** What the `nginx-ingress` service reads of the render: nothing of the model, the plan for its namespace's policies. */
export interface NginxIngressProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/** The NGINX Ingress Controller from its official chart, in its own namespace. */
export class NginxIngress extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'nginx-ingress',
    namespace: INGRESS_CONTROLLER.namespace,
    // After metallb-config: the Service is Healthy only once MetalLB gives it its address.
    syncWave: 2,
    helm: (platform: Platform) => ({
      ...CHARTS.nginxIngress,
      values: {
        controller: {
          // One pod per node: with `externalTrafficPolicy: Local` the subnet router (mesh.subnetRouter)
          // must have a local endpoint, or kube-proxy drops the gateway's traffic (decision 0069).
          kind: 'daemonset',
          // A node's new pod is ready before its old one stops, so the router keeps an endpoint.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          ingressClass: { name: INGRESS_CLASS, create: true, setAsDefaultIngress: false },
          // Plain Ingress objects only: no VirtualServer/TransportServer, no snippets.
          enableCustomResources: false,
          enableSnippets: false,
          // No usage reports leave the cluster (the NetworkPolicy would block them anyway).
          telemetryReporting: { enable: false },
          readOnlyRootFilesystem: true,
          podSecurityContext: RESTRICTED_POD_ANY_USER,
          securityContext: CONTROLLER_SECURITY_CONTEXT,
          initContainerSecurityContext: { ...CONTROLLER_SECURITY_CONTEXT, capabilities: { drop: ['ALL'] } },
          resources: resources('100m', '128Mi', '1', '512Mi'),
          initContainerResources: resources('50m', '32Mi', '200m', '64Mi'),
          customPorts: [{ name: GATEWAY_PORT_NAME, containerPort: INGRESS_GATEWAY_PORT, protocol: 'TCP' }],
          config: {
            entries: {
              'server-tokens': 'False',
              'ssl-protocols': 'TLSv1.2 TLSv1.3',
              'stream-snippets': gatewayStreamServer(platform),
              'real-ip-header': 'CF-Connecting-IP',
              'set-real-ip-from': '127.0.0.1',
            },
          },
          service: {
            type: 'LoadBalancer',
            // Local: kube-proxy neither forwards to another node nor rewrites the source address, so
            // the controller sees the gateway's mesh address (the router does not masquerade either:
            // `--snat-subnet-routes=false`, README). Every node runs a controller (DaemonSet above).
            externalTrafficPolicy: 'Local',
            customPorts: [{ name: GATEWAY_PORT_NAME, port: INGRESS_GATEWAY_PORT, targetPort: INGRESS_GATEWAY_PORT, protocol: 'TCP' }],
            annotations: {
              'metallb.io/address-pool': POOL_NAME,
              'metallb.io/loadBalancerIPs': platform.cluster.ingressAddress,
            },
          },
        },
        prometheus: { create: true, port: INGRESS_CONTROLLER.ports!.metrics, scheme: 'http', service: { create: true } },
      },
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, INGRESS_CLASS_KIND],
    }),
    connections: (platform: Platform): Connection[] => [
      // Plain HTTP(S) for every client: pods and nodes resolving public names to the ingress, mesh
      // devices, and the gateway's ACME HTTP-01 challenges on 80.
      connect({ network: ANYWHERE }, INGRESS_CONTROLLER, ['http', 'https'], 'HTTP(S) from pods, nodes, the mesh and the gateway'),
      // The PROXY-protocol port, from the gateway only: nothing rewrites its source on the way (decision 0069).
      connect({ network: hosts('gateway (mesh)', [platform.gateway.meshAddress]) }, INGRESS_CONTROLLER, ['gateway'], 'public HTTPS from the gateway, PROXY protocol'),
      dnsAccess(INGRESS_CONTROLLER),
      ...kubeApiAccess(INGRESS_CONTROLLER, platform),
      scrapedBy(INGRESS_CONTROLLER),
    ],
  };

  constructor(scope: Construct, id: string, props: NginxIngressProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: INGRESS_CONTROLLER.namespace, workloads: [INGRESS_CONTROLLER], plan: props.plan });
  }
}
