/**
 * MetalLB in L2 mode: hands out the LoadBalancer addresses of `cluster.loadBalancerPool` on the
 * LAN. Two Applications: `metallb` (the official chart with its CRDs, sync wave 0) and
 * `metallb-config` (our IPAddressPool and L2Advertisement, wave 1), so the custom resources are
 * applied only once the CRDs and the validating webhook are up (the restored Application health
 * check makes the later wave wait for the earlier one to be Healthy).
 *
 * @see https://metallb.io/configuration/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
// Types only: the render path loads no generated classes it does not need.
import type { IpAddressPoolSpec } from '../../imports/metallb-ipaddresspool-metallb.io';
import type { L2AdvertisementSpec } from '../../imports/metallb-l2advertisement-metallb.io';
import { METALLB } from '../lib/host-network';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { apiServerCallers, connect, dnsAccess, kubeApiAccess, scrapedBy, type Connection, type NetworkPlan } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, VALIDATING_WEBHOOK, resources } from '../lib/kinds';
import type { MetallbValues } from '../../imports/charts';

export const METALLB_NAMESPACE = METALLB.namespace;
/** The one pool: every LoadBalancer address of the platform. */
export const POOL_NAME = 'platform';

/** What the `metallb` service reads of the render: nothing of the model, the plan for its namespace's policies. */
export interface MetallbProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/** MetalLB's controller and speaker from the official chart (with its CRDs), in their privileged namespace. */
export class Metallb extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'metallb',
    namespace: METALLB_NAMESPACE,
    syncWave: 0,
    helm: () => ({
      ...CHARTS.metallb,
      values: {
        crds: { enabled: true },
        // Native L2 announcements, no BGP, so no FRR at all. Since chart 0.16 the BGP backend is the
        // bundled frr-k8s subchart, on by default (Chart.yaml dependency condition `frrk8s.enabled`,
        // values.yaml `frrk8s.enabled: true`); `speaker.frr` only drives the deprecated FRR sidecar
        // mode. With both off the speaker and controller get no METALLB_BGP_TYPE and answer ARP
        // natively (metallb/metallb, tag metallb-chart-0.16.1, charts/metallb/Chart.yaml,
        // values.yaml, templates/speaker.yaml, templates/controller.yaml).
        frrk8s: { enabled: false, external: false },
        controller: { resources: resources('25m', '64Mi', '200m', '128Mi') },
        speaker: {
          frr: { enabled: false },
          resources: resources('25m', '64Mi', '200m', '128Mi'),
        },
      } satisfies MetallbValues,
      // The controller's certificate rotator generates the webhook certificate at run time, stores
      // it in `metallb-webhook-cert` (rendered without data) and writes the CA into the validating
      // webhooks and into the BGPPeer CRD's conversion webhook (the only CRD with one).
      // metallb/metallb, tag metallb-chart-0.16.1: charts/metallb/templates/webhooks.yaml,
      // charts/metallb/charts/crds/templates/crds.yaml.
      ignoreDifferences: [
        {
          group: 'apiextensions.k8s.io',
          kind: 'CustomResourceDefinition',
          name: 'bgppeers.metallb.io',
          jsonPointers: ['/spec/conversion/webhook/clientConfig/caBundle'],
          writtenBy: 'the MetalLB controller (cert rotator)',
        },
        {
          group: 'admissionregistration.k8s.io',
          kind: 'ValidatingWebhookConfiguration',
          name: 'metallb-webhook-configuration',
          jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
          writtenBy: 'the MetalLB controller (cert rotator)',
        },
        { group: '', kind: 'Secret', name: 'metallb-webhook-cert', namespace: METALLB_NAMESPACE, jsonPointers: ['/data'], writtenBy: 'the MetalLB controller (cert rotator)' },
      ],
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, VALIDATING_WEBHOOK],
      customResourceGroups: ['metallb.io'],
    }),
    connections: (platform: Platform): Connection[] => [
      dnsAccess(METALLB),
      ...kubeApiAccess(METALLB, platform),
      connect({ network: apiServerCallers(platform) }, METALLB, ['webhook'], 'admission webhook (IPAddressPool, L2Advertisement)'),
      scrapedBy(METALLB),
    ],
  };

  constructor(scope: Construct, id: string, props: MetallbProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: METALLB_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason:
        'the MetalLB speaker DaemonSet needs hostNetwork and adds NET_RAW to answer ARP (upstream labels metallb-system privileged), and only MetalLB runs here',
      workloads: [METALLB],
      plan: props.plan,
    });
  }
}

/** What `metallb-config` reads of the model (`cluster.loadBalancerPool`). */
export interface MetallbConfigProps {
  /** The LAN range MetalLB hands LoadBalancer addresses out of, e.g. `192.168.10.240/28`. */
  readonly loadBalancerPool: string;
}

/** The one address pool and its L2 announcement: custom resources, applied once MetalLB's CRDs and webhook run. */
export class MetallbConfig extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'metallb-config',
    namespace: METALLB_NAMESPACE,
    syncWave: 1,
  };

  constructor(scope: Construct, id: string, props: MetallbConfigProps) {
    super(scope, id);
    const pool: IpAddressPoolSpec = {
      addresses: [props.loadBalancerPool],
      // Nothing gets an address unless it asks for one (the ingress controller asks for
      // cluster.ingressAddress): a stray LoadBalancer Service stays pending instead of public.
      autoAssign: false,
      avoidBuggyIPs: true,
    };
    // Typed specs on plain ApiObjects: the generated classes would load on every render for two objects.
    new ApiObject(this, 'pool', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: POOL_NAME, namespace: METALLB_NAMESPACE, labels: standardLabels(POOL_NAME, 'address-pool') },
      spec: pool,
    });
    const l2: L2AdvertisementSpec = { ipAddressPools: [POOL_NAME] };
    new ApiObject(this, 'l2', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: POOL_NAME, namespace: METALLB_NAMESPACE, labels: standardLabels(POOL_NAME, 'l2-advertisement') },
      spec: l2,
    });
  }
}
