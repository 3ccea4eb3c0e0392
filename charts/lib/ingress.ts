/**
 * A host (public or mesh-only) served by the NGINX Ingress Controller, with TLS from cert-manager: the issuer
 * annotation makes cert-manager's ingress-shim request the certificate into `secretName`.
 *
 * @see https://cert-manager.io/docs/usage/ingress/
 * @see https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/basic-configuration/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { PLATFORM_ENV, type Exposure, type Platform } from '../../config';
import { standardLabels } from './labels';

/** The IngressClass the NGINX Ingress Controller serves. */
export const INGRESS_CLASS = 'nginx';
export const PROD_ISSUER = 'letsencrypt-prod';
export const STAGING_ISSUER = 'letsencrypt-staging';

/**
 * The ClusterIssuer of a host's certificate. Both issuers solve DNS-01 through Cloudflare
 * (charts/core/cert-manager.ts), which needs neither a public record nor a route to the host, so a
 * mesh-only host gets its certificate the same way (cert-manager docs, ACME DNS01:
 * https://cert-manager.io/docs/configuration/acme/dns01/).
 *
 * - `public`: a proxied Cloudflare record (infra/stacks/dns.ts), and the zone's Full (strict) mode
 *   refuses a certificate that does not chain to a public root, which Let's Encrypt's staging
 *   certificates do not (error 526): always the production issuer, and an environment that asks
 *   for staging is refused. docs/decisions/0061-production-certificates-behind-cloudflare.md.
 * - `mesh`: no Cloudflare in the path, so nothing refuses a staging certificate but the visitor's
 *   browser; the environment's issuer applies as chosen (decision 0099). The platform's own hosts
 *   always get production certificates: admins must be able to trust them.
 *
 * @see https://developers.cloudflare.com/ssl/origin-configuration/ssl-modes/full-strict/
 * @see https://letsencrypt.org/docs/staging-environment/
 */
export function issuerFor(platform: Platform, env: string, exposure: Exposure = 'public'): string {
  if (env === PLATFORM_ENV) return PROD_ISSUER;
  const environment = platform.environments[env];
  if (!environment) throw new Error(`environments.${env}: no such environment`);
  if (exposure === 'public' && environment.certificateIssuer !== PROD_ISSUER) {
    throw new Error(
      `environments.${env}.certificateIssuer: "${environment.certificateIssuer}": its public hosts are proxied Cloudflare records and Full (strict) refuses Let's Encrypt staging certificates (error 526); use "${PROD_ISSUER}", or make the environment's hosts exposure "mesh"`,
    );
  }
  return environment.certificateIssuer;
}

export interface TlsIngressProps {
  readonly name: string;
  readonly namespace: string;
  /** The host (from the model). */
  readonly host: string;
  /** The backend Service and its port number. */
  readonly serviceName: string;
  readonly servicePort: number;
  /** The ClusterIssuer (see `issuerFor`). */
  readonly issuer: string;
  /**
   * How the controller talks to the backend: HTTPS re-encrypts to a backend that serves only TLS
   * (`nginx.org/ssl-services`).
   * @default 'HTTP'
   * @see https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/advanced-configuration-with-annotations/
   */
  readonly backendProtocol?: 'HTTP' | 'HTTPS';
  /**
   * Controller settings for this host (`nginx.org/*` annotations of the NGINX Ingress Controller),
   * e.g. the request body size a registry or a Git server needs.
   * @default - none
   * @see https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/advanced-configuration-with-annotations/
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

export class TlsIngress extends Construct {
  /** The Secret cert-manager writes the certificate into. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: TlsIngressProps) {
    super(scope, id);
    this.secretName = `${props.name}-tls`;
    new ApiObject(this, 'Resource', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: standardLabels(props.name, 'ingress'),
        annotations: {
          ...props.annotations,
          'cert-manager.io/cluster-issuer': props.issuer,
          ...(props.backendProtocol === 'HTTPS' ? { 'nginx.org/ssl-services': props.serviceName } : {}),
        },
      },
      spec: {
        ingressClassName: INGRESS_CLASS,
        tls: [{ hosts: [props.host], secretName: this.secretName }],
        rules: [
          {
            host: props.host,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: props.serviceName, port: { number: props.servicePort } } } },
              ],
            },
          },
        ],
      },
    });
  }
}
