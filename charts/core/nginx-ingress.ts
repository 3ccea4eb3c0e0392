/**
 * The NGINX Ingress Controller from nginx.org (F5 NGINX's maintained controller; the community
 * ingress-nginx was retired in March 2026): ingress class `nginx`, one LoadBalancer Service on
 * the fixed MetalLB address `cluster.ingressAddress`, which the gateway's HAProxy targets over the
 * mesh. The only LoadBalancer Service of the platform.
 *
 * @see https://docs.nginx.com/nginx-ingress-controller/installation/installing-nic/installation-with-helm/
 */
import type { Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import { PlatformNamespace } from '../lib/namespace';
import {
  ANYWHERE,
  INGRESS_CONTROLLER,
  connect,
  dnsAccess,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
} from '../lib/network';
import type { ServiceDefinition } from '../lib/service';
import { POOL_NAME } from './metallb';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, INGRESS_CLASS_KIND, resources } from './kinds';
import { INGRESS_CLASS } from '../lib/ingress';

/** The controller runs as nginx (uid 101) and binds 80 and 443 with NET_BIND_SERVICE only. */
const CONTROLLER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsUser: 101,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export const nginxIngress: ServiceDefinition = {
  name: 'nginx-ingress',
  namespace: INGRESS_CONTROLLER.namespace,
  // After metallb-config: the Service is Healthy only once MetalLB gives it its address.
  syncWave: 2,
  helm: (platform: Platform) => ({
    ...CHARTS.nginxIngress,
    values: {
      controller: {
        kind: 'deployment',
        // Two replicas on different nodes: with externalTrafficPolicy Local, MetalLB announces the
        // address from a node that has a ready controller, so one node can fail.
        replicaCount: Math.min(2, Object.keys(platform.nodes).length),
        ingressClass: { name: INGRESS_CLASS, create: true, setAsDefaultIngress: false },
        // Plain Ingress objects only: no VirtualServer/TransportServer, no snippets.
        enableCustomResources: false,
        enableSnippets: false,
        // No usage reports leave the cluster (the NetworkPolicy would block them anyway).
        telemetryReporting: { enable: false },
        readOnlyRootFilesystem: true,
        podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        securityContext: CONTROLLER_SECURITY_CONTEXT,
        initContainerSecurityContext: { ...CONTROLLER_SECURITY_CONTEXT, capabilities: { drop: ['ALL'] } },
        resources: resources('100m', '128Mi', '1', '512Mi'),
        initContainerResources: resources('50m', '32Mi', '200m', '64Mi'),
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 100,
                podAffinityTerm: {
                  topologyKey: 'kubernetes.io/hostname',
                  labelSelector: { matchLabels: { 'app.kubernetes.io/name': INGRESS_CONTROLLER.name } },
                },
              },
            ],
          },
        },
        config: { entries: { 'server-tokens': 'False', 'ssl-protocols': 'TLSv1.2 TLSv1.3' } },
        service: {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
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
    // The public entry point: the gateway's HAProxy reaches it over the mesh (source-NATed by the
    // subnet router), so the source address cannot be narrowed usefully here.
    connect({ network: ANYWHERE }, INGRESS_CONTROLLER, ['http', 'https'], 'public HTTP(S) from the gateway'),
    dnsAccess(INGRESS_CONTROLLER),
    ...kubeApiAccess(INGRESS_CONTROLLER, platform),
    scrapedBy(INGRESS_CONTROLLER),
  ],
  build(chart: Chart, _platform: Platform, plan: NetworkPlan) {
    new PlatformNamespace(chart, 'namespace', { name: INGRESS_CONTROLLER.namespace, workloads: [INGRESS_CONTROLLER], plan });
  },
};
