/**
 * cert-manager with Let's Encrypt: the official chart with its CRDs (`cert-manager`, wave 0) and
 * the two ClusterIssuers (`cert-manager-config`, wave 1). Certificates are requested through
 * DNS-01 on Cloudflare with a scoped API token that is created by hand as a Secret (never in Git);
 * see docs/decisions/0004-cert-manager-dns01-cloudflare.md and the README's runbook.
 *
 * @see https://cert-manager.io/docs/configuration/acme/dns01/cloudflare/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
// Types only: the generated ClusterIssuer class is 400 kB of code that every render would load.
import type { ClusterIssuerSpec } from '../../imports/cert-manager-clusterissuer-cert-manager.io';
import { PROD_ISSUER, STAGING_ISSUER } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import {
  INTERNET,
  apiServerCallers,
  connect,
  dnsAccess,
  hosts,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { TRUST_MANAGER } from '../lib/service-mesh';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, MUTATING_WEBHOOK, VALIDATING_WEBHOOK, resources } from '../lib/kinds';
import type { CertManagerValues } from '../../imports/charts';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The Secret (created by hand, see the README) holding the Cloudflare API token. */
export const CLOUDFLARE_TOKEN_SECRET = { name: 'cloudflare-api-token', key: 'api-token' } as const;

export const ACME_SERVERS = {
  [STAGING_ISSUER]: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  [PROD_ISSUER]: 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

export const CONTROLLER: Workload = { namespace: CERT_MANAGER_NAMESPACE, name: 'cert-manager', ports: { metrics: 9402 } };
export const CAINJECTOR: Workload = { namespace: CERT_MANAGER_NAMESPACE, name: 'cainjector', ports: { metrics: 9402 } };
export const WEBHOOK: Workload = { namespace: CERT_MANAGER_NAMESPACE, name: 'webhook', ports: { https: 10250, metrics: 9402 } };

/** `address:port` entries of `certManager.recursiveNameservers`, split. */
function nameservers(platform: Platform): { address: string; port: number }[] {
  return platform.certManager.recursiveNameservers.map((entry) => {
    const [address, port] = entry.split(':');
    return { address, port: Number(port) };
  });
}

/** What the `cert-manager` service reads of the render: nothing of the model, the plan for its namespace's policies. */
export interface CertManagerProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
  /**
   * trust-manager runs in this namespace too (the service mesh's trust bundle, charts/mesh/trust.ts):
   * the namespace's policies cover it. @default false
   */
  readonly trustManager?: boolean;
}

/** cert-manager's controller, cainjector and webhook from the official chart (with its CRDs), in their namespace. */
export class CertManager extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'cert-manager',
    namespace: CERT_MANAGER_NAMESPACE,
    syncWave: 0,
    helm: (platform: Platform) => ({
      ...CHARTS.certManager,
      values: {
        crds: { enabled: true, keep: true },
        // Leader election in its own namespace, not kube-system: the Application then writes into
        // cert-manager's namespace only.
        global: { leaderElection: { namespace: CERT_MANAGER_NAMESPACE } },
        // Propagation checks ask only these resolvers: the NetworkPolicy allows port 53 to them alone.
        dns01RecursiveNameservers: platform.certManager.recursiveNameservers.join(','),
        dns01RecursiveNameserversOnly: true,
        // The certificate Secret goes away with its Certificate.
        enableCertificateOwnerRef: true,
        prometheus: { enabled: true, servicemonitor: { enabled: false } },
        // A post-install hook Job that only waits for the webhook; Argo CD's health checks do that.
        startupapicheck: { enabled: false },
        resources: resources('50m', '128Mi', '500m', '256Mi'),
        cainjector: { resources: resources('25m', '128Mi', '500m', '256Mi') },
        webhook: { resources: resources('25m', '64Mi', '200m', '128Mi') },
      } satisfies CertManagerValues,
      // cainjector copies the webhook's CA (annotation cert-manager.io/inject-ca-from-secret) into
      // both webhook configurations, which the chart renders without caBundle; the CRDs have no
      // conversion webhook. cert-manager/cert-manager v1.21.1:
      // deploy/charts/cert-manager/templates/webhook-validating-webhook.yaml, webhook-mutating-webhook.yaml.
      ignoreDifferences: (['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const).map((kind) => ({
        group: 'admissionregistration.k8s.io',
        kind,
        // The release is the Application's name, so the chart's webhook.fullname is `cert-manager-webhook`.
        name: 'cert-manager-webhook',
        jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
        writtenBy: 'cert-manager cainjector',
      })),
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, VALIDATING_WEBHOOK, MUTATING_WEBHOOK],
      customResourceGroups: ['cert-manager.io', 'acme.cert-manager.io'],
    }),
    connections: (platform: Platform): Connection[] => {
      const resolvers = nameservers(platform);
      return [
        ...[CONTROLLER, CAINJECTOR, WEBHOOK].flatMap((workload) => [dnsAccess(workload), ...kubeApiAccess(workload, platform), scrapedBy(workload)]),
        connect({ network: apiServerCallers(platform) }, WEBHOOK, ['https'], 'admission webhook (cert-manager resources)'),
        {
          from: { workload: CONTROLLER },
          to: { network: INTERNET },
          ports: [{ port: 443 }],
          purpose: "ACME (Let's Encrypt) and the Cloudflare API for DNS-01",
        },
        {
          from: { workload: CONTROLLER },
          to: { network: hosts('dns01 recursive nameservers', resolvers.map((r) => r.address)) },
          ports: [...new Set(resolvers.map((r) => r.port))].sort((a, b) => a - b).flatMap((port) => [{ port, protocol: 'UDP' as const }, { port, protocol: 'TCP' as const }]),
          purpose: 'DNS-01 propagation checks',
        },
      ];
    },
  };

  constructor(scope: Construct, id: string, props: CertManagerProps) {
    super(scope, id);
    const workloads = [CONTROLLER, CAINJECTOR, WEBHOOK, ...(props.trustManager ? [TRUST_MANAGER] : [])];
    new PlatformNamespace(this, 'namespace', { name: CERT_MANAGER_NAMESPACE, workloads, plan: props.plan });
  }
}

/** What `cert-manager-config` reads of the model (`acmeEmail`, `domain`). */
export interface CertManagerConfigProps {
  /** The ACME account's contact address: Let's Encrypt writes to it about expiring certificates. */
  readonly acmeEmail: string;
  /** The DNS zone (on Cloudflare) the issuers solve DNS-01 challenges in, e.g. `example.com`. */
  readonly domain: string;
}

/** Let's Encrypt's staging and production ClusterIssuers, DNS-01 on Cloudflare. */
export class CertManagerConfig extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'cert-manager-config',
    namespace: CERT_MANAGER_NAMESPACE,
    syncWave: 1,
  };

  constructor(scope: Construct, id: string, props: CertManagerConfigProps) {
    super(scope, id);
    for (const name of [STAGING_ISSUER, PROD_ISSUER] as const) {
      const spec: ClusterIssuerSpec = {
        acme: {
          server: ACME_SERVERS[name],
          email: props.acmeEmail,
          // The ACME account key, one per issuer; cert-manager creates it in its own namespace.
          privateKeySecretRef: { name: `${name}-account-key` },
          solvers: [
            {
              selector: { dnsZones: [props.domain] },
              dns01: {
                cloudflare: {
                  // A scoped API token (Zone:DNS:Edit, Zone:Zone:Read), never the global key.
                  apiTokenSecretRef: { name: CLOUDFLARE_TOKEN_SECRET.name, key: CLOUDFLARE_TOKEN_SECRET.key },
                },
              },
            },
          ],
        },
      };
      new ApiObject(this, name, {
        apiVersion: 'cert-manager.io/v1',
        kind: 'ClusterIssuer',
        metadata: { name, labels: standardLabels(name, 'cluster-issuer') },
        spec,
      });
    }
  }
}
