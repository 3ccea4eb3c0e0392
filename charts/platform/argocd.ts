import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import { ARGOCD_NAMESPACE, LockedDefaultProject } from '../lib/argocd';
import { TlsIngress } from '../lib/ingress';
import { PlatformNamespace } from '../lib/namespace';
import {
  INGRESS_CONTROLLER,
  INTERNET,
  connect,
  dnsAccess,
  exposedThroughIngress,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import { placedNode } from '../lib/placement';
import type { ServiceRegistration } from '../lib/service';
import { NODE_LABEL } from '../../config/topology';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, resources } from '../lib/kinds';
import { toYaml } from '../../common/yaml';
import {
  GITLAB_GROUPS_CLAIM,
  OIDC_CLIENT_ID_KEY,
  OIDC_CLIENT_SECRET_KEY,
  OIDC_SCOPES,
  gitlabIssuer,
  ssoGroups,
  type SsoGroups,
} from '../lib/sso';

/**
 * Argo CD manages itself: the pinned argo-cd chart is the Helm source of this service's
 * Application, and this folder holds Argo CD's own GitOps objects (the locked `default` project,
 * the AppProjects the app-of-apps adds, the namespace and its NetworkPolicies, the Ingress).
 *
 * argocd-cm: reconcile every 180 s with no jitter (Argo CD 3.x defaults to 120 s plus up to 60 s
 * jitter; the platform promises exactly 3 minutes), the Application health check restored so a
 * child Application in a later sync wave waits for the earlier ones to be Healthy, and the admin
 * login switched by the model (`argocd.adminEnabled`). The server speaks plain HTTP behind the
 * NGINX Ingress Controller, which terminates TLS (docs/decisions/0005-cluster-core-operators.md).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/health/#argocd-app
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/argocd-cm-yaml/
 */

/** The Helm release name; with the chart's default `nameOverride: argocd` it names every object `argocd-*`. */
export const ARGOCD_RELEASE = 'argocd';

const workload = (name: string, ports: Record<string, number>, extra: Partial<Workload> = {}): Workload => ({
  namespace: ARGOCD_NAMESPACE,
  name,
  ports,
  ...extra,
});

export const SERVER = workload('argocd-server', { http: 8080, metrics: 8083 });
export const REPO_SERVER = workload('argocd-repo-server', { grpc: 8081, metrics: 8084 });
export const CONTROLLER = workload('argocd-application-controller', { metrics: 8082 });
export const APPLICATIONSET = workload('argocd-applicationset-controller', { metrics: 8080 });
export const REDIS = workload('argocd-redis', { redis: 6379 }, { sendsNothing: true });
/** The chart's hook Job that creates Redis' password Secret. */
export const REDIS_SECRET_INIT = workload('argocd-redis-secret-init', {}, { receivesNothing: true });
export const ARGOCD_WORKLOADS = [SERVER, REPO_SERVER, CONTROLLER, APPLICATIONSET, REDIS, REDIS_SECRET_INIT];

/** The argocd-server Service port the Ingress targets (plain HTTP, `server.insecure`). */
export const SERVER_SERVICE = { name: 'argocd-server', port: 80 } as const;

/**
 * Restores the health assessment of Applications (removed from Argo CD's defaults in 1.8), so an
 * app-of-apps waits for each sync wave of child Applications to be Healthy before the next.
 */
export const APPLICATION_HEALTH_LUA = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
`;

/**
 * The Secret that holds GitLab's OAuth application for Argo CD (keys `client_id`,
 * `client_secret`), copied by hand from Vault's `secret/sso/argocd` (README, Single sign-on).
 * Argo CD resolves `$<secret>:<key>` in argocd-cm only from Secrets labelled
 * `app.kubernetes.io/part-of: argocd` (argo-cd v3.5.1 util/settings/settings.go
 * `ReplaceMapSecrets`; docs/operator-manual/user-management/index.md, "Sensitive Data and SSO
 * Client Secrets").
 */
export const ARGOCD_SSO_SECRET = 'argocd-sso';

/**
 * argocd-cm `oidc.config`: Argo CD's server talks OIDC to GitLab itself (no Dex). The scopes are
 * set because Argo CD's default adds `groups`, a scope GitLab does not know; the groups arrive
 * in the ID token's `groups_direct` claim anyway. The browser returns to `<url>/auth/callback`,
 * `url` being `https://<global.domain>` (the chart's preset).
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/user-management/#existing-oidc-provider
 */
export function argocdOidcConfig(issuer: string): string {
  return toYaml({
    name: 'GitLab',
    issuer,
    clientID: `$${ARGOCD_SSO_SECRET}:${OIDC_CLIENT_ID_KEY}`,
    clientSecret: `$${ARGOCD_SSO_SECRET}:${OIDC_CLIENT_SECRET_KEY}`,
    requestedScopes: [...OIDC_SCOPES],
  });
}

/**
 * argocd-rbac-cm: the admin group administers, the viewer group reads, everyone else who signs in
 * sees nothing (`policy.default` empty). Groups are matched on the `groups_direct` claim.
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/rbac/
 */
export function argocdRbac(groups: SsoGroups): Record<string, string> {
  return {
    'policy.default': '',
    'policy.csv': `g, ${groups.admin}, role:admin\ng, ${groups.viewer}, role:readonly\n`,
    scopes: `[${GITLAB_GROUPS_CLAIM}]`,
    'policy.matchMode': 'glob',
  };
}

/** What the argo-cd chart's values are made of: the model's slice Argo CD's own pods read. */
export interface ArgoCdChartProps {
  /** The public host of the UI and API (`services.argocd.host`), Argo CD's `global.domain`. */
  readonly host: string;
  /** The node every Argo CD pod runs on (`services.argocd.node`). */
  readonly node: string;
  /** Whether the local `admin` login stays enabled (`argocd.adminEnabled`, break-glass only). */
  readonly adminEnabled: boolean;
  /** GitLab's issuer URL (`gitlabIssuer`), the OIDC provider of the UI and the CLI. */
  readonly oidcIssuer: string;
  /** The GitLab groups mapped to Argo CD's roles (`sso`). */
  readonly ssoGroups: SsoGroups;
}

/** The pinned argo-cd chart and its values (the chart ships no values schema to type them with). */
export function argocdChart(props: ArgoCdChartProps) {
  return {
    ...CHARTS.argocd,
    releaseName: ARGOCD_RELEASE,
    values: {
      global: {
        domain: props.host,
        nodeSelector: { [NODE_LABEL]: props.node },
        // The platform's own NetworkPolicies (rendered in this folder) govern the namespace.
        networkPolicy: { create: false },
      },
      crds: { install: true, keep: true },
      configs: {
        cm: {
          'admin.enabled': String(props.adminEnabled),
          'timeout.reconciliation': '180s',
          'timeout.reconciliation.jitter': '0s',
          'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH_LUA,
          'exec.enabled': 'false',
          'oidc.config': argocdOidcConfig(props.oidcIssuer),
        },
        rbac: argocdRbac(props.ssoGroups),
        params: {
          // TLS ends at the NGINX Ingress Controller; inside the cluster only the controller may
          // reach the server (NetworkPolicy).
          'server.insecure': true,
          'server.tls.minversion': '1.2',
        },
      },
      // SSO without Dex (the server speaks OIDC to GitLab) and no notifications: fewer workloads.
      dex: { enabled: false },
      notifications: { enabled: false },
      server: { ingress: { enabled: false }, metrics: { enabled: true }, resources: resources('50m', '128Mi', '500m', '256Mi') },
      repoServer: { metrics: { enabled: true }, resources: resources('100m', '256Mi', '1', '1Gi') },
      controller: { metrics: { enabled: true }, resources: resources('250m', '512Mi', '2', '2Gi') },
      applicationSet: { metrics: { enabled: true }, resources: resources('25m', '64Mi', '200m', '256Mi') },
      redis: { resources: resources('25m', '64Mi', '200m', '256Mi') },
    },
    clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
    customResourceGroups: ['argoproj.io'],
  };
}

/** The model's slice Argo CD's own folder reads. */
export interface ArgoCdProps {
  /** The public host of the UI and API (`services.argocd.host`; the model requires it). */
  readonly host: string;
  /** The cert-manager ClusterIssuer of the Ingress' certificate (the platform's: production). */
  readonly issuer: string;
  /** The render's network plan: the NetworkPolicies of Argo CD's namespace come from it. */
  readonly plan: NetworkPlan;
}

/**
 * Argo CD's own folder: the locked `default` project, the namespace with its NetworkPolicies and
 * the Ingress of the server. The chart itself is the registration's `helm` source.
 */
export class ArgoCd extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'argocd',
    namespace: ARGOCD_NAMESPACE,
    syncWave: -5,
    // The model requires the host (config/schema.ts checkHosts), so `host!` cannot be undefined
    // for a loaded model.
    helm: (platform: Platform) =>
      argocdChart({
        host: platform.services.argocd.host!,
        node: placedNode(platform, 'argocd'),
        adminEnabled: platform.argocd.adminEnabled,
        oidcIssuer: gitlabIssuer(platform),
        ssoGroups: ssoGroups(platform),
      }),
    connections: (platform: Platform): Connection[] => [
      ...ARGOCD_WORKLOADS.filter((w) => w !== REDIS).flatMap((w) => [dnsAccess(w), ...kubeApiAccess(w, platform)]),
      exposedThroughIngress(SERVER, 'http'),
      connect({ workload: SERVER }, REPO_SERVER, ['grpc'], 'manifests for the UI and API'),
      connect({ workload: CONTROLLER }, REPO_SERVER, ['grpc'], 'manifest generation'),
      connect({ workload: APPLICATIONSET }, REPO_SERVER, ['grpc'], 'generators'),
      ...[SERVER, REPO_SERVER, CONTROLLER].map((w) => connect({ workload: w }, REDIS, ['redis'], 'cache')),
      {
        from: { workload: REPO_SERVER },
        to: { network: INTERNET },
        ports: [{ port: 443 }],
        purpose: 'Helm chart repositories and the temporary bootstrap Git repository (HTTPS)',
      },
      // The cluster's DNS answers git.<domain> with the ingress controller's address
      // (infra/nodes/k3s-config.ts corednsCustom): the platform repository is cloned inside the cluster.
      // Optional at start: during bring-up Argo CD reads a temporary repository (README, "Render and
      // push"); it reaches GitLab through the ingress only once the repository has moved there.
      { ...connect({ workload: REPO_SERVER }, INGRESS_CONTROLLER, ['https'], 'the platform Git repository (GitLab) through the ingress controller'), optionalAtStart: true },
      // Sign-in: the server fetches GitLab's discovery document and keys and redeems the code at
      // its token endpoint, through the ingress controller like every in-cluster call to GitLab
      // (decision 0101). Optional at start: until GitLab runs, operators use `argocd --core`.
      { ...connect({ workload: SERVER }, INGRESS_CONTROLLER, ['https'], 'GitLab, the OIDC provider (discovery, keys, token endpoint)'), optionalAtStart: true },
      ...[SERVER, REPO_SERVER, CONTROLLER, APPLICATIONSET].map((w) => scrapedBy(w)),
    ],
  };

  constructor(scope: Construct, id: string, props: ArgoCdProps) {
    super(scope, id);
    new LockedDefaultProject(this, 'default-project');
    new PlatformNamespace(this, 'namespace', { name: ARGOCD_NAMESPACE, workloads: ARGOCD_WORKLOADS, plan: props.plan });
    new TlsIngress(this, 'ingress', {
      name: 'argocd-server',
      namespace: ARGOCD_NAMESPACE,
      host: props.host,
      serviceName: SERVER_SERVICE.name,
      servicePort: SERVER_SERVICE.port,
      issuer: props.issuer,
    });
  }
}
