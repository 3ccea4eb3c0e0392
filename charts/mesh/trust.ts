/**
 * The mesh's trust chain, issued and rotated by cert-manager and published by trust-manager, never
 * generated into Git (docs/decisions/0122-mesh-trust-chain.md). Everything in the linkerd namespace,
 * with namespaced Issuers: a ClusterIssuer holding the mesh's root would sign a Certificate asked for
 * in any namespace, and a mesh CA issued that way could impersonate every workload.
 *
 *   Issuer linkerd-self-signed ── Certificate linkerd-trust-anchor (root CA, 10 years, same key on renewal)
 *   Issuer linkerd-trust-anchor (CA: that Secret)
 *     └─ Certificate linkerd-identity-issuer (intermediate CA, 48 h, renewed daily)
 *   Bundle linkerd-identity-trust-roots: the anchor's certificate (no key) -> ConfigMap in linkerd
 *   Certificates of the three admission webhooks (self-signed; cainjector fills their caBundle)
 *
 * Linkerd's control plane reads the issuer from the Secret (`identity.issuer.scheme:
 * kubernetes.io/tls`) and the roots from the ConfigMap (`identity.externalCA: true`), which is what
 * the chart expects when both come from outside it. linkerd/linkerd2 edge-26.8.3:
 * charts/linkerd-control-plane/templates/identity.yaml (the Secret and ConfigMap it no longer renders),
 * controller/proxy-injector/webhook.go (the injector reads the roots from the mounted ConfigMap).
 *
 * @see https://linkerd.io/2-edge/tasks/automatically-rotating-control-plane-tls-credentials/
 * @see https://cert-manager.io/docs/trust/trust-manager/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import type { TrustManagerValues } from '../../imports/charts';
// The generated serializers, not the specs as they are: a spec's TypeScript names are not always
// the API's (`isCa` is cert-manager's `isCA`), and an unknown field is pruned by the API server.
import {
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyRotationPolicy,
  CertificateSpecUsages,
  toJson_CertificateSpec,
  type CertificateSpec,
} from '../../imports/cert-manager-certificate-cert-manager.io';
// Issuer's spec names match the API's for the fields used here, and its module is large (ACME
// solvers): type only. test/support/schemas.ts refuses any field the API server would prune.
import type { IssuerSpec } from '../../imports/cert-manager-issuer-cert-manager.io';
import { toJson_BundleSpec, type BundleSpec } from '../../imports/trust-manager-bundle-trust.cert-manager.io';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, VALIDATING_WEBHOOK, resources } from '../lib/kinds';
import { standardLabels } from '../lib/labels';
import { NAMESPACE_NAME_LABEL, apiServerCallers, connect, dnsAccess, kubeApiAccess, type Connection } from '../lib/network';
import { IDENTITY_TRUST_DOMAIN, LINKERD_NAMESPACE, TRUST_MANAGER } from '../lib/service-mesh';
import type { ServiceRegistration } from '../lib/service';
import { WEBHOOK_CERTIFICATES } from './linkerd';

/** trust-manager's trust namespace, the only one it reads Secrets from: where the anchor's Secret is. */
export const TRUST_NAMESPACE = LINKERD_NAMESPACE;

/** Names of the chain's objects; the Secrets and the ConfigMap are what Linkerd's chart reads. */
export const TRUST_CHAIN = {
  selfSignedIssuer: 'linkerd-self-signed',
  /** The root CA: Certificate, Secret (the only copy of its key) and the Issuer that signs with it. */
  anchor: 'linkerd-trust-anchor',
  /** The identity issuer: Certificate and Secret in the linkerd namespace (the chart's fixed name). */
  issuer: 'linkerd-identity-issuer',
  /** The Bundle and the ConfigMap it writes (the chart's fixed name, key `ca-bundle.crt`). */
  roots: 'linkerd-identity-trust-roots',
  rootsKey: 'ca-bundle.crt',
} as const;

/** Lifetimes: the anchor renews with its key kept (see the decision), the issuer every day. */
export const LIFETIMES = {
  anchor: { duration: '87600h', renewBefore: '8760h' },
  issuer: { duration: '48h', renewBefore: '25h' },
  webhook: { duration: '8760h', renewBefore: '720h' },
} as const;

const ECDSA = { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256 };

/** trust-manager renders only its chart: nothing of the model. */
export type TrustManagerProps = Record<string, never>;

/**
 * trust-manager from its chart, in cert-manager's namespace (whose policies cert-manager renders);
 * its trust namespace is linkerd, which linkerd-crds creates a wave earlier.
 */
export class TrustManager extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'trust-manager',
    namespace: TRUST_NAMESPACE,
    // After cert-manager (wave 0): the chart's webhook certificate is a cert-manager Certificate.
    syncWave: 1,
    helm: () => ({
      ...CHARTS.trustManager,
      values: {
        crds: { enabled: true, keep: true },
        // The public CA package (an init container copying Debian's roots) is for Bundles that
        // trust the internet's CAs; the mesh's Bundle trusts its own anchor only.
        defaultPackage: { enabled: false },
        // Bundles write ConfigMaps; no Secret targets, so no cluster-wide Secret write access.
        secretTargets: { enabled: false },
        app: {
          trust: { namespace: TRUST_NAMESPACE },
          webhook: { port: TRUST_MANAGER.ports!.webhook },
          metrics: { port: TRUST_MANAGER.ports!.metrics },
        },
        resources: resources('10m', '32Mi', '200m', '128Mi'),
      } satisfies TrustManagerValues,
      // cainjector fills the webhook's caBundle (annotation cert-manager.io/inject-ca-from):
      // cert-manager/trust-manager v0.24.0 deploy/charts/trust-manager/templates/webhook.yaml.
      ignoreDifferences: [
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'trust-manager', jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'], writtenBy: 'cert-manager cainjector' },
      ],
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, VALIDATING_WEBHOOK],
      customResourceGroups: ['trust.cert-manager.io'],
    }),
    connections: (platform: Platform): Connection[] => [
      dnsAccess(TRUST_MANAGER),
      ...kubeApiAccess(TRUST_MANAGER, platform),
      connect({ network: apiServerCallers(platform) }, TRUST_MANAGER, ['webhook'], 'admission webhook (Bundle validation)'),
    ],
  };

  constructor(scope: Construct, id: string, _props: TrustManagerProps = {}) {
    super(scope, id);
    // Its namespace and NetworkPolicies are cert-manager's (charts/core/cert-manager.ts).
  }
}

/** What the trust chain reads of the model. */
export interface LinkerdTrustProps {
  /**
   * The previous anchor's certificate (PEM), trusted besides the current one while the anchor's
   * key is replaced (`serviceMesh.previousTrustAnchorPEM`). @default - only the current anchor
   */
  readonly previousTrustAnchorPEM?: string;
}

/** The issuers, certificates and trust bundle of the mesh (no key material in Git). */
export class LinkerdTrust extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'linkerd-trust',
    namespace: LINKERD_NAMESPACE,
    // After trust-manager (Bundle CRD) and linkerd-crds (the linkerd namespace), with the control
    // plane, whose pods wait for the issuer Secret and the roots ConfigMap.
    syncWave: 2,
  };

  constructor(scope: Construct, id: string, props: LinkerdTrustProps = {}) {
    super(scope, id);
    const issuer = (name: string, spec: IssuerSpec) =>
      new ApiObject(this, `issuer-${name}`, {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: { name, namespace: LINKERD_NAMESPACE, labels: standardLabels(name, 'issuer') },
        spec,
      });
    const certificate = (name: string, spec: CertificateSpec) =>
      new ApiObject(this, `certificate-${name}`, {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name, namespace: LINKERD_NAMESPACE, labels: standardLabels(name, 'certificate') },
        spec: toJson_CertificateSpec(spec),
      });
    const issuedBy = (name: string) => ({ group: 'cert-manager.io', kind: 'Issuer', name });

    issuer(TRUST_CHAIN.selfSignedIssuer, { selfSigned: {} });
    certificate(TRUST_CHAIN.anchor, {
      isCa: true,
      commonName: `root.${LINKERD_NAMESPACE}.${IDENTITY_TRUST_DOMAIN}`,
      secretName: TRUST_CHAIN.anchor,
      ...LIFETIMES.anchor,
      // Renewal keeps the key, so certificates issued under the old anchor still verify against the
      // renewed one (same subject, same key); replacing the key is the runbook's bundle overlap.
      privateKey: { ...ECDSA, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.NEVER },
      issuerRef: issuedBy(TRUST_CHAIN.selfSignedIssuer),
      revisionHistoryLimit: 2,
    });
    issuer(TRUST_CHAIN.anchor, { ca: { secretName: TRUST_CHAIN.anchor } });
    certificate(TRUST_CHAIN.issuer, {
      isCa: true,
      // The name Linkerd's identity controller signs workload certificates as.
      commonName: `identity.${LINKERD_NAMESPACE}.${IDENTITY_TRUST_DOMAIN}`,
      secretName: TRUST_CHAIN.issuer,
      ...LIFETIMES.issuer,
      privateKey: { ...ECDSA, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
      usages: [CertificateSpecUsages.CERT_SIGN, CertificateSpecUsages.CRL_SIGN, CertificateSpecUsages.SERVER_AUTH, CertificateSpecUsages.CLIENT_AUTH],
      issuerRef: issuedBy(TRUST_CHAIN.anchor),
      revisionHistoryLimit: 2,
    });

    const bundle: BundleSpec = {
      // The anchor's certificate only (never its key). During an anchor key change the model names
      // the previous certificate too, so both roots are trusted while proxies move (README runbook).
      sources: [{ secret: { name: TRUST_CHAIN.anchor, key: 'tls.crt' } }, ...(props.previousTrustAnchorPEM ? [{ inLine: props.previousTrustAnchorPEM }] : [])],
      target: {
        configMap: { key: TRUST_CHAIN.rootsKey },
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: LINKERD_NAMESPACE } },
      },
    };
    new ApiObject(this, 'bundle', {
      apiVersion: 'trust.cert-manager.io/v1alpha1',
      kind: 'Bundle',
      metadata: { name: TRUST_CHAIN.roots, labels: standardLabels(TRUST_CHAIN.roots, 'trust-bundle') },
      spec: toJson_BundleSpec(bundle),
    });

    // Self-signed serving certificates: each is its own CA, and cainjector copies it into the
    // webhook configuration named by the chart's `injectCaFrom` (linkerd/<certificate>).
    for (const webhook of Object.values(WEBHOOK_CERTIFICATES)) {
      const host = `${webhook.name}.${LINKERD_NAMESPACE}.svc`;
      certificate(webhook.name, {
        commonName: host,
        dnsNames: [host],
        secretName: webhook.secretName,
        ...LIFETIMES.webhook,
        privateKey: { ...ECDSA, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
        issuerRef: issuedBy(TRUST_CHAIN.selfSignedIssuer),
        revisionHistoryLimit: 2,
      });
    }
  }
}
