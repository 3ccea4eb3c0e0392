/**
 * Harbor from the official chart (helm.goharbor.io), pinned in config/versions.ts, in namespace
 * `harbor`, served on `services.harbor.host`:
 *  - Trivy enabled; our PostgreSQL (database `registry`, user `harbor`) and Redis (user `harbor`);
 *    images, Trivy's cache on `ceph-rbd` volumes; job logs in the database;
 *  - exposed as the chart's ClusterIP proxy (`harbor`, Harbor's own NGINX with its path routing)
 *    behind our TLS Ingress (class `nginx`, cert-manager), the one Ingress of the host;
 *  - the chart's secrets come from Kubernetes Secrets copied from Vault by the README runbook
 *    (`HARBOR_SECRETS`): with Argo CD rendering the chart, values Helm would generate
 *    (`randAlphaNum`, a self-signed token certificate) would change at every refresh.
 *
 * What Harbor has no Kubernetes API for (projects with scan on push and the policy that blocks
 * pulls of vulnerable images, robot accounts, sign-in through GitLab) is applied by the
 * `harbor-setup` Job, an Argo CD PostSync hook, from a ConfigMap rendered from the model
 * (`harbor.projects`, `harbor.preventSeverity`, each app's project and push robot with
 * `harbor.robotLifetimeDays`, GitLab's issuer and `sso.adminGroup`), with the admin password, the
 * robots' secrets and the OIDC client from Vault. See docs/decisions/0037-harbor-setup-job.md,
 * 0119-harbor-robot-per-app.md and 0120-harbor-and-jenkins-sign-in-through-gitlab.md.
 *
 * Values used (harbor-helm values.yaml): expose.{type,tls.enabled,clusterIP.name,clusterIP.ports.httpPort},
 * externalURL, existingSecretAdminPassword, existingSecretAdminPasswordKey, existingSecretSecretKey,
 * ipFamily.ipv6.enabled, updateStrategy.type, persistence.{enabled,resourcePolicy,imageChartStorage.type,
 * persistentVolumeClaim.{registry,trivy}.{storageClass,size}}, database.{type,external.{host,port,
 * username,coreDatabase,existingSecret,sslmode},maxIdleConns,maxOpenConns},
 * redis.{type,external.{addr,coreDatabaseIndex,jobserviceDatabaseIndex,registryDatabaseIndex,
 * trivyAdapterIndex,username}}, core.{existingSecret,existingXsrfSecret,existingXsrfSecretKey,
 * secretName,extraEnvVars}, jobservice.{existingSecret,existingSecretKey,jobLoggers,extraEnvVars},
 * registry.{existingSecret,existingSecretKey,credentials.existingSecret,registry.extraEnvVars},
 * exporter.extraEnvVars, trivy.{enabled,ignoreUnfixed},
 * metrics.{enabled,serviceMonitor.enabled}, containerSecurityContext,
 * <component>.{nodeSelector,resources,serviceAccountName,automountServiceAccountToken}.
 *
 * @see https://github.com/goharbor/harbor-helm
 */
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { Platform } from '../../config';
import { HARBOR_ROBOTS, appPushRobots, type AppPushRobot } from '../../config/harbor-robots';
import { GITLAB_GROUPS_CLAIM, GITLAB_USERNAME_CLAIM, OIDC_CLIENT_KEYS, OIDC_SCOPES, gitlabIssuer, oidcClientDataPath, ssoGroups } from '../lib/sso';
import { NODE_LABEL } from '../../config/topology';
import { CHARTS, IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { DELIVERY_SYNC_WAVE } from '../lib/sync-waves';
import { POSTGRESQL, POSTGRESQL_HOST, POSTGRESQL_PORT, REDIS, REDIS_DATABASES, REDIS_HOST, REDIS_PORT, databaseOf } from '../lib/data-endpoints';
import { READ_AT_START, rawValueTemplate, vaultFile } from '../lib/vault-access';
import { TlsIngress } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { WorkloadJob, WorkloadVolume } from '../lib/workload';
import { PlatformNamespace } from '../lib/namespace';
import {
  INGRESS_CONTROLLER,
  INTERNET,
  connect,
  dnsAccess,
  exposedThroughIngress,
  scrapedBy,
  type Connection,
  serviceAccountOf,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import { STORAGE_CLASS, placedNode } from '../lib/placement';
import type { IgnoredDifference } from '../lib/argocd';
import type { ServiceRegistration } from '../lib/service';
import { vaultAgentPodFor, type SecretConsumer } from '../lib/vault';
import { SETUP_SCRIPT } from './setup-script';
import type { HarborValues } from '../../imports/charts';
import { RESTRICTED_CONTAINER_VALUES } from '../lib/security-context';

export const HARBOR_NAMESPACE = 'harbor';
/** The release name equals the chart name, so the chart names its objects `harbor-<component>`. */
export const HARBOR_RELEASE = 'harbor';

/**
 * The chart labels every pod `component: <component>` and creates no ServiceAccount: a pod runs as
 * `<component>.serviceAccountName` when set (else the namespace's `default`), with the token
 * mounted only if `<component>.automountServiceAccountToken` (default false). No component calls
 * the Kubernetes API, so each gets an account of its own, rendered by `Harbor` without a token:
 * the mesh identity then names the component, not the namespace
 * (goharbor/harbor-helm@v1.19.1 templates/{nginx,portal}/deployment.yaml, core/core-dpl.yaml,
 * jobservice/jobservice-dpl.yaml, registry/registry-dpl.yaml, trivy/trivy-sts.yaml,
 * exporter/exporter-dpl.yaml; values.yaml `<component>.serviceAccountName`).
 */
const component = (name: string, ports: Record<string, number>): Workload => ({
  namespace: HARBOR_NAMESPACE,
  name,
  selectorLabel: 'component',
  ports,
  serviceAccount: `${HARBOR_RELEASE}-${name}`,
});

/** Harbor's own NGINX: routes /v2/, /api/, /service/, /c/ to core and the rest to the portal. */
export const NGINX = component('nginx', { http: 8080 });
export const CORE = component('core', { http: 8080, metrics: 8001 });
export const PORTAL = component('portal', { http: 8080 });
export const JOBSERVICE = component('jobservice', { http: 8080, metrics: 8001 });
export const REGISTRY = component('registry', { registry: 5000, controller: 8080, metrics: 8001 });
export const TRIVY = component('trivy', { http: 8080 });
export const EXPORTER = component('exporter', { metrics: 8001 });
/** Our PostSync Job: it only calls Harbor's API (and Vault). */
export const SETUP: Workload = { namespace: HARBOR_NAMESPACE, name: 'harbor-setup', receivesNothing: true };
/** The chart's pods, each running as its own ServiceAccount. */
export const HARBOR_COMPONENTS = [NGINX, CORE, PORTAL, JOBSERVICE, REGISTRY, TRIVY, EXPORTER];
export const HARBOR_WORKLOADS = [...HARBOR_COMPONENTS, SETUP];

/** The chart's proxy Service our Ingress targets, and core's Service the setup Job calls. */
export const PROXY_SERVICE = { name: 'harbor', port: 80 } as const;
export const CORE_URL = `http://${HARBOR_RELEASE}-core.${HARBOR_NAMESPACE}.svc`;
/** Where the setup Job finds its program and its configuration. */
const SETUP_DIR = '/etc/harbor-setup';

/** The Secrets Harbor's chart reads, copied from Vault by the README runbook. */
export const HARBOR_SECRETS = {
  admin: { name: 'harbor-admin', keys: { HARBOR_ADMIN_PASSWORD: 'secret/harbor/admin#password' } },
  database: { name: 'harbor-database', keys: { password: 'secret/postgresql/harbor#password' } },
  redis: { name: 'harbor-redis', keys: { REDIS_PASSWORD: 'secret/redis/harbor#password' } },
  /**
   * The chart's own Trivy Secret, created by the runbook before Harbor syncs with the Redis URL
   * that carries the password (`trivyRedisURL`); the Application ignores that one key.
   */
  trivy: { name: 'harbor-trivy', keys: { redisURL: 'secret/redis/harbor#password' } },
  internal: {
    name: 'harbor-internal',
    keys: {
      secretKey: 'secret/harbor/internal#secretKey',
      secret: 'secret/harbor/internal#coreSecret',
      CSRF_KEY: 'secret/harbor/internal#csrfKey',
      JOBSERVICE_SECRET: 'secret/harbor/internal#jobserviceSecret',
      REGISTRY_HTTP_SECRET: 'secret/harbor/internal#registryHttpSecret',
      REGISTRY_PASSWD: 'secret/harbor/internal#registryPassword',
      REGISTRY_HTPASSWD: 'secret/harbor/internal#registryHtpasswd',
    },
  },
  token: { name: 'harbor-core-token', keys: { 'tls.crt': 'secret/harbor/token#certificate', 'tls.key': 'secret/harbor/token#key' } },
} as const;

/** The KV v2 data path of Harbor's OIDC client (GitLab application), shared with the SSO runbook. */
export const OIDC_CLIENT_PATH = oidcClientDataPath('harbor');
/** The setup Job's file of the OIDC client: `{"client_id": ..., "client_secret": ...}`. */
const OIDC_CLIENT_FILE = 'oidc-client';

/**
 * An app robot's file for the setup Job: the secret and the version of its Vault entry, as JSON.
 * The version tells the Job that the operator wrote a new secret, which starts a new lifetime
 * (KV v2 read returns `data.metadata.version`:
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version).
 */
export function versionedSecretTemplate(path: string): string {
  return `{{- with secret "${path}" -}}{"version":{{ .Data.metadata.version }},"password":{{ .Data.data.password | toJSON }}}{{- end -}}`;
}

/**
 * The setup Job reads, once, at start: the admin password, the platform robots' secrets, each
 * app robot's secret with its version, and Harbor's OIDC client.
 */
export function setupConsumer(appRobots: readonly AppPushRobot[], withOidc = true): SecretConsumer {
  return {
    name: 'harbor-setup',
    namespace: HARBOR_NAMESPACE,
    serviceAccount: 'harbor-setup',
    secrets: [
      { name: 'admin', keys: ['password'], path: 'secret/data/harbor/admin', template: rawValueTemplate('secret/data/harbor/admin') },
      ...HARBOR_ROBOTS.map((robot) => ({ name: robot.name, keys: ['username', 'password'], path: robot.vaultPath, template: rawValueTemplate(robot.vaultPath) })),
      ...appRobots.map((robot) => ({ name: robot.name, keys: ['username', 'password'], path: robot.vaultPath, template: versionedSecretTemplate(robot.vaultPath) })),
      // GitLab issues the client when the operator registers Harbor's application there.
      ...(withOidc
        ? [{ name: OIDC_CLIENT_FILE, keys: [...OIDC_CLIENT_KEYS], path: OIDC_CLIENT_PATH, issuedBy: 'gitlab', template: `{{- with secret "${OIDC_CLIENT_PATH}" -}}{{ .Data.data | toJSON }}{{- end -}}` }]
        : []),
    ],
  };
}

/** A project of the model (`harbor.projects`) the setup Job creates. */
export interface HarborProject {
  /** The project name: images are `<harbor host>/<name>/<repository>:<tag>`. */
  readonly name: string;
  /** Anonymous pulls allowed. */
  readonly public: boolean;
}

/** The severities Harbor blocks pulls at (the model's `harbor.preventSeverity`). */
export type HarborSeverity = 'critical' | 'high' | 'medium' | 'low';

/**
 * Harbor's sign-in through GitLab (docs/decisions/0120): the configuration keys of
 * goharbor/harbor v2.15.1 src/lib/config/metadata/metadatalist.go (`oidc_*`, `auth_mode`).
 */
export interface HarborOidc {
  /** GitLab's issuer (`gitlabIssuer`): Harbor reads `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** Direct members of this GitLab group are Harbor system administrators (`oidc_admin_group`). */
  readonly adminGroup: string;
}

/** A project the setup Job creates: the model's, then each app's own (private unless declared). */
function projectsWithApps(projects: readonly HarborProject[], appRobots: readonly AppPushRobot[]): HarborProject[] {
  const all = [...projects];
  for (const robot of appRobots) if (!all.some((p) => p.name === robot.project)) all.push({ name: robot.project, public: false });
  return all;
}

/** What the setup Job applies: rendered from the model, reviewed in the diff of dist/. */
export function setupConfig(projects: readonly HarborProject[], preventSeverity: HarborSeverity, appRobots: readonly AppPushRobot[] = [], oidc?: HarborOidc) {
  const allProjects = projectsWithApps(projects, appRobots);
  return {
    adminPasswordFile: vaultFile('admin'),
    projects: allProjects.map((project) => ({
      name: project.name,
      public: project.public,
      autoScan: true,
      preventVulnerable: true,
      severity: preventSeverity,
      // Deployments name their image by tag and digest; the tag must still never move.
      immutableTags: true,
    })),
    robots: HARBOR_ROBOTS.map((robot) => ({
      name: robot.name,
      description: robot.description,
      secretFile: vaultFile(robot.name),
      permissions: allProjects.map((project) => ({ project: project.name, access: robot.access })),
    })),
    // One robot per app, on its own project only, with a bounded lifetime (docs/decisions/0119).
    appRobots: appRobots.map((robot) => ({
      name: robot.name,
      description: robot.description,
      secretFile: vaultFile(robot.name),
      // Where the operator writes a new secret (`vault kv put`), named in the Job's warnings.
      vaultPath: robot.vaultPath.replace(/^secret\/data\//, 'secret/'),
      durationDays: robot.lifetimeDays,
      noticeDays: ROBOT_EXPIRY_NOTICE_DAYS,
      permissions: [{ project: robot.project, access: robot.access }],
    })),
    ...(oidc
      ? {
          oidc: {
            clientFile: vaultFile(OIDC_CLIENT_FILE),
            configuration: {
              auth_mode: 'oidc_auth',
              oidc_name: 'GitLab',
              oidc_endpoint: oidc.issuer,
              // Harbor splits the scope on commas (src/lib/config/userconfig.go OIDCSetting).
              oidc_scope: OIDC_SCOPES.join(','),
              // GitLab's ID token (userinfo lacks `groups_direct`: Harbor falls back to the ID token).
              oidc_groups_claim: GITLAB_GROUPS_CLAIM,
              oidc_admin_group: oidc.adminGroup,
              oidc_user_claim: GITLAB_USERNAME_CLAIM,
              oidc_auto_onboard: true,
              oidc_verify_cert: true,
            },
          },
        }
      : {}),
  };
}

/** The setup Job warns this many days before an app robot expires (and fails once it has). */
export const ROBOT_EXPIRY_NOTICE_DAYS = 14;

/** Harbor's ACL user on our Redis (charts/data/redis.ts). */
export const HARBOR_REDIS_USER = 'harbor';
/** The variable the password is read into, in each pod that builds a Redis URL from it. */
const REDIS_PASSWORD_VARIABLE = 'HARBOR_REDIS_PASSWORD';

/**
 * A Redis URL with Harbor's user and, for the password, a `$(HARBOR_REDIS_PASSWORD)` reference
 * that the kubelet expands from the variable defined before it: the URL is in Git, the password
 * is not. The runbook generates letters and digits only, so it needs no URL escaping.
 */
function redisURL(database: number, idleTimeout: boolean, password = `$(${REDIS_PASSWORD_VARIABLE})`): string {
  return `redis://${HARBOR_REDIS_USER}:${password}@${REDIS_HOST}:${REDIS_PORT}/${database}${idleTimeout ? '?idle_timeout_seconds=30' : ''}`;
}

/** The URL the runbook writes into `harbor-trivy` (`redisURL`), with the password as a shell variable. */
export function trivyRedisURL(passwordExpression: string): string {
  return redisURL(REDIS_DATABASES.harbor.trivy, true, passwordExpression);
}

/**
 * The Redis credentials of each Harbor component, as container environment variables.
 *
 * harbor 1.19.1 builds every Redis URL in its templates and, with `redis.external.existingSecret`,
 * reads the user and password through Helm `lookup` (templates/_helpers.tpl `harbor.redis.cred`,
 * `usernamefromsecret`, `pwdfromsecret`), which returns nothing when Argo CD renders the chart, so
 * every component connected as Redis' `default` user. The URLs sit in ConfigMaps the pods load
 * with `envFrom` (core-cm.yaml, jobservice-cm-env.yaml, exporter-cm-env.yaml) or in the
 * registry's config file; an `env` entry of the same name wins over `envFrom`, and Harbor reads
 * each of these names from the environment (goharbor/harbor v2.15.1: src/core/main.go and
 * src/lib/redis/client.go `_REDIS_URL_CORE`/`_REDIS_URL_REG`, src/jobservice/config/config.go
 * `JOB_SERVICE_POOL_REDIS_URL` overriding config.yml, src/cmd/exporter/main.go `redis.url` as
 * `HARBOR_REDIS_URL`; the registry's `REGISTRY_REDIS_PASSWORD` is the chart's own override,
 * templates/registry/registry-secret.yaml). Each component's `extraEnvVars` (values.yaml) first
 * reads the password from the `harbor-redis` Secret, then defines its URLs from it.
 * Trivy reads its URL only from the chart's `harbor-trivy` Secret (trivy-sts.yaml
 * `SCANNER_REDIS_URL`, harbor-scanner-trivy v0.36.0 pkg/etc/config.go), and a second env entry
 * of the same name is refused by server-side apply: see `TRIVY_REDIS_URL_OWNED_BY_RUNBOOK`.
 * docs/decisions/0060-harbor-redis-credentials.md.
 */
export function harborRedisEnv() {
  const password = { name: REDIS_PASSWORD_VARIABLE, valueFrom: { secretKeyRef: { name: HARBOR_SECRETS.redis.name, key: 'REDIS_PASSWORD' } } };
  const { core, jobservice, registry } = REDIS_DATABASES.harbor;
  return {
    core: [
      password,
      { name: '_REDIS_URL_CORE', value: redisURL(core, true) },
      { name: '_REDIS_URL_REG', value: redisURL(registry, true) },
    ],
    jobservice: [
      password,
      { name: '_REDIS_URL_CORE', value: redisURL(core, true) },
      { name: 'JOB_SERVICE_POOL_REDIS_URL', value: redisURL(jobservice, false) },
    ],
    exporter: [password, { name: 'HARBOR_REDIS_URL', value: redisURL(jobservice, false) }],
    // The registry's config file already names the user and database; only the password is missing.
    registry: [{ name: 'REGISTRY_REDIS_PASSWORD', valueFrom: password.valueFrom }],
  };
}

/**
 * The `redisURL` key of the chart's Trivy Secret: the runbook creates `harbor-trivy` with the
 * credentialed URL before Harbor's first sync; the chart renders it without credentials, so Argo
 * CD must keep the live value (ignoreDifferences + RespectIgnoreDifferences).
 */
export const TRIVY_REDIS_URL_OWNED_BY_RUNBOOK: IgnoredDifference = {
  group: '',
  kind: 'Secret',
  name: HARBOR_SECRETS.trivy.name,
  namespace: HARBOR_NAMESPACE,
  jsonPointers: ['/data/redisURL'],
  writtenBy: 'the runbook (Redis URL with the password, from Vault)',
};

/**
 * Harbor's containers run as uid 10000 upstream; restricted, from the one source of those settings,
 * with the root filesystem left writable as the chart's own default context leaves it, and
 * `privileged: false` as that default says (goharbor/harbor-helm v1.19.1 values.yaml
 * `containerSecurityContext`).
 */
const { readOnlyRootFilesystem: _writableRoot, ...RESTRICTED_WRITABLE_ROOT } = RESTRICTED_CONTAINER_VALUES;
const CONTAINER_SECURITY_CONTEXT = {
  privileged: false,
  ...RESTRICTED_WRITABLE_ROOT,
  capabilities: { drop: [...RESTRICTED_WRITABLE_ROOT.capabilities.drop] },
};

/** What Harbor's chart values read of the model. */
export interface HarborChartProps {
  /** Harbor's host (`services.harbor.host`; the schema requires one): its external URL. */
  readonly host: string;
  /** The node every Harbor component runs on (`services.harbor.node`). */
  readonly node: string;
  /** The size of the registry's image volume (`harbor.registryStorageGiB`). */
  readonly registryStorageGiB: number;
  /** The size of Trivy's cache volume (`harbor.trivyStorageGiB`). */
  readonly trivyStorageGiB: number;
}

/**
 * The pinned Harbor chart with its values, from the model's slice `HarborChartProps`. The render
 * asks a service for its chart with the model alone (`ServiceRegistration.helm`, also read by
 * the app-of-apps and the inventory), so the registration maps the model to these props
 * (docs/decisions/0114-helm-services-chart-props.md).
 */
export function harborChart(props: HarborChartProps) {
  const db = databaseOf('harbor');
  const node = { [NODE_LABEL]: props.node };
  const on = (requests: ReturnType<typeof resources>) => ({ nodeSelector: node, resources: requests });
  const redisEnv = harborRedisEnv();
  // The component's own ServiceAccount (rendered by `Harbor`), without the API token.
  const runsAs = (workload: Workload) => ({ serviceAccountName: serviceAccountOf(workload), automountServiceAccountToken: false });
  return {
    ...CHARTS.harbor,
    releaseName: HARBOR_RELEASE,
    values: {
      expose: {
        // The chart's NGINX behind our Ingress, which terminates TLS for the host.
        type: 'clusterIP',
        tls: { enabled: false },
        clusterIP: { name: PROXY_SERVICE.name, ports: { httpPort: PROXY_SERVICE.port } },
      },
      externalURL: `https://${props.host}`,
      existingSecretAdminPassword: HARBOR_SECRETS.admin.name,
      existingSecretAdminPasswordKey: 'HARBOR_ADMIN_PASSWORD',
      existingSecretSecretKey: HARBOR_SECRETS.internal.name,
      // k3s' default cluster network is IPv4 only; NGINX would fail to listen on [::].
      ipFamily: { ipv6: { enabled: false }, ipv4: { enabled: true } },
      // The registry's and Trivy's volumes are ReadWriteOnce: replace pods, never run two.
      updateStrategy: { type: 'Recreate' },
      persistence: {
        enabled: true,
        resourcePolicy: 'keep',
        imageChartStorage: { type: 'filesystem' },
        persistentVolumeClaim: {
          registry: { storageClass: STORAGE_CLASS, size: `${props.registryStorageGiB}Gi` },
          trivy: { storageClass: STORAGE_CLASS, size: `${props.trivyStorageGiB}Gi` },
        },
      },
      database: {
        type: 'external',
        external: {
          host: POSTGRESQL_HOST,
          port: String(POSTGRESQL_PORT),
          username: db.user,
          coreDatabase: db.database,
          existingSecret: HARBOR_SECRETS.database.name,
          sslmode: 'disable',
        },
        // Per pod (core, exporter): far below PostgreSQL's max_connections, which GitLab shares.
        maxIdleConns: 10,
        maxOpenConns: 50,
      },
      redis: {
        type: 'external',
        // No existingSecret and no password: the chart would read the one through `lookup`
        // and write the other into ConfigMaps. The credentials come in as environment
        // variables (harborRedisEnv) and through the runbook's harbor-trivy Secret.
        external: {
          addr: `${REDIS_HOST}:${REDIS_PORT}`,
          coreDatabaseIndex: String(REDIS_DATABASES.harbor.core),
          jobserviceDatabaseIndex: String(REDIS_DATABASES.harbor.jobservice),
          registryDatabaseIndex: String(REDIS_DATABASES.harbor.registry),
          trivyAdapterIndex: String(REDIS_DATABASES.harbor.trivy),
          username: HARBOR_REDIS_USER,
        },
      },
      core: {
        ...runsAs(CORE),
        ...on(resources('100m', '256Mi', '1', '1Gi')),
        existingSecret: HARBOR_SECRETS.internal.name,
        existingXsrfSecret: HARBOR_SECRETS.internal.name,
        existingXsrfSecretKey: 'CSRF_KEY',
        // The token service's signing key and certificate (otherwise regenerated at every render).
        secretName: HARBOR_SECRETS.token.name,
        extraEnvVars: redisEnv.core,
      },
      jobservice: {
        ...runsAs(JOBSERVICE),
        ...on(resources('100m', '256Mi', '1', '1Gi')),
        existingSecret: HARBOR_SECRETS.internal.name,
        existingSecretKey: 'JOBSERVICE_SECRET',
        // Job logs in the database: no log volume, and visible in the UI.
        jobLoggers: ['database'],
        extraEnvVars: redisEnv.jobservice,
      },
      registry: {
        ...runsAs(REGISTRY),
        nodeSelector: node,
        registry: { resources: resources('100m', '256Mi', '1', '1Gi'), extraEnvVars: redisEnv.registry },
        controller: { resources: resources('50m', '64Mi', '500m', '256Mi') },
        existingSecret: HARBOR_SECRETS.internal.name,
        existingSecretKey: 'REGISTRY_HTTP_SECRET',
        credentials: { existingSecret: HARBOR_SECRETS.internal.name },
      },
      trivy: {
        ...runsAs(TRIVY),
        ...on(resources('200m', '512Mi', '1', '1Gi')),
        enabled: true,
        // Report every vulnerability, fixed or not: the pull policy decides what is blocked.
        ignoreUnfixed: false,
      },
      portal: { ...runsAs(PORTAL), ...on(resources('25m', '64Mi', '200m', '256Mi')) },
      nginx: { ...runsAs(NGINX), ...on(resources('50m', '64Mi', '500m', '256Mi')) },
      exporter: { ...runsAs(EXPORTER), ...on(resources('25m', '64Mi', '200m', '256Mi')), extraEnvVars: redisEnv.exporter },
      metrics: { enabled: true, serviceMonitor: { enabled: false } },
      containerSecurityContext: CONTAINER_SECURITY_CONTEXT,
    } satisfies HarborValues,
    ignoreDifferences: [TRIVY_REDIS_URL_OWNED_BY_RUNBOOK],
    // Everything the chart renders is namespaced.
    clusterResources: [],
    // The registry's images and Trivy's cache live on the chart's claims: back the namespace up.
    persistentVolumeClaims: true,
  };
}

/** The slice of the model Harbor's chart reads (the schema requires `services.harbor.host`). */
function chartPropsOf(platform: Platform): HarborChartProps {
  return {
    host: platform.services.harbor.host!,
    node: placedNode(platform, 'harbor'),
    registryStorageGiB: platform.harbor.registryStorageGiB,
    trivyStorageGiB: platform.harbor.trivyStorageGiB,
  };
}

/** The apps' push robots of a model. */
export function appRobotsOf(platform: Platform): AppPushRobot[] {
  return appPushRobots(platform.apps, platform.harbor.robotLifetimeDays);
}

/** Harbor's OIDC settings from the model: GitLab's issuer and the admin group (`sso.adminGroup`). */
export function harborOidcOf(platform: Platform): HarborOidc {
  return { issuer: gitlabIssuer(platform), adminGroup: ssoGroups(platform).admin };
}

/** What Harbor's own objects (namespace, Ingress, setup Job) read of the model and the render. */
export interface HarborProps {
  /** Harbor's host (`services.harbor.host`), served with TLS by our Ingress. */
  readonly host: string;
  /** The cert-manager ClusterIssuer of its certificate. */
  readonly issuer: string;
  /** The projects the setup Job creates (`harbor.projects`), besides each app's own; the cluster robot pulls from all. */
  readonly projects: readonly HarborProject[];
  /**
   * One push robot per app, on the app's own project (`appPushRobots(apps, harbor.robotLifetimeDays)`).
   * @default - none
   */
  readonly appRobots?: readonly AppPushRobot[];
  /**
   * Sign-in through GitLab (`gitlabIssuer`); the local admin stays as break-glass.
   * @default - local accounts only (Harbor's `db_auth`)
   */
  readonly oidc?: HarborOidc;
  /** Pulls of images with a vulnerability this severe or worse are refused (`harbor.preventSeverity`). */
  readonly preventSeverity: HarborSeverity;
  /** The name Vault's certificate is issued for, which the setup Job's Vault agent verifies. */
  readonly vaultTlsServerName: string;
  /** The render's network plan: the namespace's NetworkPolicies come from it. */
  readonly plan: NetworkPlan;
}

/**
 * Harbor: the official chart (`registration.helm`), and our namespace with its NetworkPolicies,
 * the one TLS Ingress of its host, and the PostSync setup Job (a `WorkloadJob`).
 */
export class Harbor extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'harbor',
    namespace: HARBOR_NAMESPACE,
    // After GitLab: the setup Job reads Harbor's OIDC client, which GitLab issues (decision 0120).
    syncWave: DELIVERY_SYNC_WAVE,
    helm: (platform: Platform) => harborChart(chartPropsOf(platform)),
    connections: (): Connection[] => {
      const harborClients = [CORE, JOBSERVICE, EXPORTER];
      return [
        ...HARBOR_WORKLOADS.map(dnsAccess),
        exposedThroughIngress(NGINX, 'http'),
        connect({ workload: NGINX }, CORE, ['http'], 'API, token service and registry (/v2/) through core'),
        connect({ workload: NGINX }, PORTAL, ['http'], 'web UI'),
        ...harborClients.map((w) => connect({ workload: w }, POSTGRESQL, ['postgres'], `Harbor database (${w.name})`)),
        ...[...harborClients, REGISTRY, TRIVY].map((w) => connect({ workload: w }, REDIS, ['redis'], `Harbor cache and job queue (${w.name})`)),
        connect({ workload: CORE }, REGISTRY, ['registry', 'controller'], 'registry API and registry controller'),
        connect({ workload: CORE }, JOBSERVICE, ['http'], 'jobs (scans, garbage collection, replication)'),
        connect({ workload: CORE }, TRIVY, ['http'], 'scanner metadata'),
        connect({ workload: JOBSERVICE }, CORE, ['http'], 'job status and hooks'),
        connect({ workload: JOBSERVICE }, REGISTRY, ['registry', 'controller'], 'garbage collection and replication'),
        connect({ workload: JOBSERVICE }, TRIVY, ['http'], 'scan requests'),
        connect({ workload: TRIVY }, CORE, ['http'], 'pulls the image to scan through core'),
        connect({ workload: EXPORTER }, CORE, ['http'], 'statistics'),
        // Trivy downloads its vulnerability databases (ghcr.io, mirror.gcr.io).
        { from: { workload: TRIVY }, to: { network: INTERNET }, ports: [{ port: 443 }], purpose: 'vulnerability database downloads' },
        connect({ workload: SETUP }, CORE, ['http'], 'configures projects, robot accounts and sign-in'),
        // Pods resolve the model's hosts to the ingress controller (coredns-custom, decision 0101).
        connect({ workload: CORE }, INGRESS_CONTROLLER, ['https'], "GitLab's OIDC discovery, token and userinfo endpoints (sign-in)"),
        ...[CORE, JOBSERVICE, REGISTRY, EXPORTER].map((w) => scrapedBy(w)),
      ];
    },
    secretConsumers: (platform: Platform) => [setupConsumer(appRobotsOf(platform))],
  };

  constructor(scope: Construct, id: string, props: HarborProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: HARBOR_NAMESPACE, workloads: HARBOR_WORKLOADS, plan: props.plan });
    // The accounts the chart's pods run as (values `<component>.serviceAccountName`).
    for (const workload of HARBOR_COMPONENTS) {
      const name = serviceAccountOf(workload);
      new k8s.KubeServiceAccount(this, `${workload.name}-service-account`, {
        metadata: { name, namespace: HARBOR_NAMESPACE, labels: standardLabels(name, 'service-account') },
        automountServiceAccountToken: false,
      });
    }
    new TlsIngress(this, 'ingress', {
      name: 'harbor',
      namespace: HARBOR_NAMESPACE,
      host: props.host,
      serviceName: PROXY_SERVICE.name,
      servicePort: PROXY_SERVICE.port,
      issuer: props.issuer,
      annotations: {
        // Image layers are large and pushes slow: no body limit, no buffering, long timeouts.
        'nginx.org/client-max-body-size': '0',
        'nginx.org/proxy-buffering': 'False',
        'nginx.org/proxy-read-timeout': '900s',
        'nginx.org/proxy-send-timeout': '900s',
      },
    });

    const appRobots = props.appRobots ?? [];
    const agent = vaultAgentPodFor(setupConsumer(appRobots, props.oidc !== undefined), props.vaultTlsServerName);
    const config = setupConfig(props.projects, props.preventSeverity, appRobots, props.oidc);
    new WorkloadJob(this, 'setup', {
      workload: SETUP,
      component: 'setup',
      containerName: 'setup',
      image: IMAGES.harborSetup,
      identity: { uid: 65532 },
      command: ['python3', `${SETUP_DIR}/setup.py`, `${SETUP_DIR}/harbor.json`],
      env: [
        { name: 'HARBOR_URL', value: CORE_URL },
        { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
      ],
      resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      volumes: [
        WorkloadVolume.configFiles('config', { 'setup.py': SETUP_SCRIPT, 'harbor.json': `${JSON.stringify(config, null, 2)}\n` }, [{ mountPath: SETUP_DIR }]),
      ],
      // The agent writes the secrets once, before the program starts, and does not stay.
      vaultAgent: { ...agent, annotations: { ...agent.annotations, ...READ_AT_START } },
      annotations: {
        // After every sync, once Harbor's workloads are healthy; the previous run is replaced.
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      },
      backoffLimit: 3,
      activeDeadlineSeconds: 1800,
      ttlSecondsAfterFinished: 86400,
    });
  }
}
