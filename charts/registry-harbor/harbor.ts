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
 * pulls of vulnerable images, robot accounts) is applied by the `harbor-setup` Job, an Argo CD
 * PostSync hook, from a ConfigMap rendered from the model (`harbor.projects`,
 * `harbor.preventSeverity`), with the admin password and the robots' secrets from Vault.
 * See docs/decisions/0037-harbor-setup-job.md.
 *
 * Values used (harbor-helm values.yaml): expose.{type,tls.enabled,clusterIP.name,clusterIP.ports.httpPort},
 * externalURL, existingSecretAdminPassword, existingSecretAdminPasswordKey, existingSecretSecretKey,
 * ipFamily.ipv6.enabled, updateStrategy.type, persistence.{enabled,resourcePolicy,imageChartStorage.type,
 * persistentVolumeClaim.{registry,trivy}.{storageClass,size}}, database.{type,external.{host,port,
 * username,coreDatabase,existingSecret,sslmode},maxIdleConns,maxOpenConns},
 * redis.{type,external.{addr,coreDatabaseIndex,jobserviceDatabaseIndex,registryDatabaseIndex,
 * trivyAdapterIndex,username,existingSecret}}, core.{existingSecret,existingXsrfSecret,
 * existingXsrfSecretKey,secretName}, jobservice.{existingSecret,existingSecretKey,jobLoggers},
 * registry.{existingSecret,existingSecretKey,credentials.existingSecret}, trivy.{enabled,ignoreUnfixed},
 * metrics.{enabled,serviceMonitor.enabled}, containerSecurityContext, <component>.{nodeSelector,resources}.
 *
 * @see https://github.com/goharbor/harbor-helm
 */
import { ApiObject, type Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { PLATFORM_ENV } from '../../config';
import { CHARTS, IMAGES } from '../../config/versions';
import { STORAGE_CLASS } from '../core/ceph-csi';
import { resources } from '../core/kinds';
import { APPLICATION_SYNC_WAVE } from '../data/common';
import { POSTGRESQL, POSTGRESQL_HOST, POSTGRESQL_PORT, databaseOf } from '../data/postgresql';
import { REDIS, REDIS_DATABASES, REDIS_HOST, REDIS_PORT } from '../data/redis';
import { READ_AT_START, rawValueTemplate, vaultFile } from '../data/vault-access';
import { TlsIngress, issuerFor } from '../lib/ingress';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import {
  INTERNET,
  connect,
  dnsAccess,
  exposedThroughIngress,
  scrapedBy,
  type Connection,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import { nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import { vaultAgentPod, type SecretConsumer } from '../lib/vault';
import { SETUP_SCRIPT } from './setup-script';
import type { HarborValues } from '../../imports/charts';

export const HARBOR_NAMESPACE = 'harbor';
/** The release name equals the chart name, so the chart names its objects `harbor-<component>`. */
export const HARBOR_RELEASE = 'harbor';

/** The chart labels every pod `component: <component>`. */
const component = (name: string, ports: Record<string, number>): Workload => ({
  namespace: HARBOR_NAMESPACE,
  name,
  selectorLabel: 'component',
  ports,
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
export const HARBOR_WORKLOADS = [NGINX, CORE, PORTAL, JOBSERVICE, REGISTRY, TRIVY, EXPORTER, SETUP];

/** The chart's proxy Service our Ingress targets, and core's Service the setup Job calls. */
export const PROXY_SERVICE = { name: 'harbor', port: 80 } as const;
export const CORE_URL = `http://${HARBOR_RELEASE}-core.${HARBOR_NAMESPACE}.svc`;

/** Robot accounts (system level, so Harbor names them `robot$<name>`); secrets in Vault. */
export interface HarborRobot {
  readonly name: string;
  readonly description: string;
  /** The Vault KV entry (keys `username`, `password`) the robot's secret comes from. */
  readonly vaultPath: string;
  /** What it may do in every project of the model. */
  readonly access: readonly { readonly resource: string; readonly action: string }[];
}

export const HARBOR_ROBOTS: readonly HarborRobot[] = [
  {
    name: 'ci-push',
    description: 'The build pipeline: pushes images and reads their scan results (managed by the platform)',
    vaultPath: 'secret/data/harbor-robots/ci-push',
    access: [
      { resource: 'repository', action: 'push' },
      { resource: 'repository', action: 'pull' },
      { resource: 'artifact', action: 'read' },
      { resource: 'artifact', action: 'list' },
      { resource: 'tag', action: 'create' },
      { resource: 'tag', action: 'list' },
      { resource: 'scan', action: 'create' },
      { resource: 'scan', action: 'read' },
    ],
  },
  {
    name: 'cluster-pull',
    description: 'The cluster: pulls images of the applications (managed by the platform)',
    vaultPath: 'secret/data/harbor-robots/cluster-pull',
    access: [{ resource: 'repository', action: 'pull' }],
  },
];

/** The robot's user name as clients log in with it. */
export function robotUserName(robot: HarborRobot): string {
  return `robot$${robot.name}`;
}

/** The Secrets Harbor's chart reads, copied from Vault by the README runbook. */
export const HARBOR_SECRETS = {
  admin: { name: 'harbor-admin', keys: { HARBOR_ADMIN_PASSWORD: 'secret/harbor/admin#password' } },
  database: { name: 'harbor-database', keys: { password: 'secret/postgresql/harbor#password' } },
  redis: { name: 'harbor-redis', keys: { REDIS_PASSWORD: 'secret/redis/harbor#password' } },
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

/** The setup Job reads the admin password and each robot's secret, once, at start. */
export const SETUP_CONSUMER: SecretConsumer = {
  name: 'harbor-setup',
  namespace: HARBOR_NAMESPACE,
  serviceAccount: 'harbor-setup',
  secrets: [
    { name: 'admin', keys: ['password'], path: 'secret/data/harbor/admin', template: rawValueTemplate('secret/data/harbor/admin') },
    ...HARBOR_ROBOTS.map((robot) => ({ name: robot.name, keys: ['username', 'password'], path: robot.vaultPath, template: rawValueTemplate(robot.vaultPath) })),
  ],
};

/** What the setup Job applies: rendered from the model, reviewed in the diff of dist/. */
export function setupConfig(platform: Platform) {
  return {
    adminPasswordFile: vaultFile('admin'),
    projects: platform.harbor.projects.map((project) => ({
      name: project.name,
      public: project.public,
      autoScan: true,
      preventVulnerable: true,
      severity: platform.harbor.preventSeverity,
    })),
    robots: HARBOR_ROBOTS.map((robot) => ({
      name: robot.name,
      description: robot.description,
      secretFile: vaultFile(robot.name),
      permissions: platform.harbor.projects.map((project) => ({ project: project.name, access: robot.access })),
    })),
  };
}

function hostOf(platform: Platform): string {
  const host = platform.services.harbor.host;
  if (!host) throw new Error(`services.harbor.host: (missing): harbor is served on a public host; set it, e.g. "registry.${platform.domain}"`);
  return host;
}

/** Harbor's containers run as uid 10000 upstream; restricted, as the chart's default context says. */
const CONTAINER_SECURITY_CONTEXT = {
  privileged: false,
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export const harbor: ServiceDefinition = {
  name: 'harbor',
  namespace: HARBOR_NAMESPACE,
  syncWave: APPLICATION_SYNC_WAVE,
  helm: (platform: Platform) => {
    const db = databaseOf('harbor');
    const node = nodeSelectorFor(platform, 'harbor');
    const on = (requests: ReturnType<typeof resources>) => ({ nodeSelector: node, resources: requests });
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
        externalURL: `https://${hostOf(platform)}`,
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
            registry: { storageClass: STORAGE_CLASS, size: `${platform.harbor.registryStorageGiB}Gi` },
            trivy: { storageClass: STORAGE_CLASS, size: `${platform.harbor.trivyStorageGiB}Gi` },
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
          external: {
            addr: `${REDIS_HOST}:${REDIS_PORT}`,
            coreDatabaseIndex: String(REDIS_DATABASES.harbor.core),
            jobserviceDatabaseIndex: String(REDIS_DATABASES.harbor.jobservice),
            registryDatabaseIndex: String(REDIS_DATABASES.harbor.registry),
            trivyAdapterIndex: String(REDIS_DATABASES.harbor.trivy),
            username: 'harbor',
            existingSecret: HARBOR_SECRETS.redis.name,
          },
        },
        core: {
          ...on(resources('100m', '256Mi', '1', '1Gi')),
          existingSecret: HARBOR_SECRETS.internal.name,
          existingXsrfSecret: HARBOR_SECRETS.internal.name,
          existingXsrfSecretKey: 'CSRF_KEY',
          // The token service's signing key and certificate (otherwise regenerated at every render).
          secretName: HARBOR_SECRETS.token.name,
        },
        jobservice: {
          ...on(resources('100m', '256Mi', '1', '1Gi')),
          existingSecret: HARBOR_SECRETS.internal.name,
          existingSecretKey: 'JOBSERVICE_SECRET',
          // Job logs in the database: no log volume, and visible in the UI.
          jobLoggers: ['database'],
        },
        registry: {
          nodeSelector: node,
          registry: { resources: resources('100m', '256Mi', '1', '1Gi') },
          controller: { resources: resources('50m', '64Mi', '500m', '256Mi') },
          existingSecret: HARBOR_SECRETS.internal.name,
          existingSecretKey: 'REGISTRY_HTTP_SECRET',
          credentials: { existingSecret: HARBOR_SECRETS.internal.name },
        },
        trivy: {
          ...on(resources('200m', '512Mi', '1', '1Gi')),
          enabled: true,
          // Report every vulnerability, fixed or not: the pull policy decides what is blocked.
          ignoreUnfixed: false,
        },
        portal: on(resources('25m', '64Mi', '200m', '256Mi')),
        nginx: on(resources('50m', '64Mi', '500m', '256Mi')),
        exporter: on(resources('25m', '64Mi', '200m', '256Mi')),
        metrics: { enabled: true, serviceMonitor: { enabled: false } },
        containerSecurityContext: CONTAINER_SECURITY_CONTEXT,
      } satisfies HarborValues,
      // Everything the chart renders is namespaced.
      clusterResources: [],
      // The registry's images and Trivy's cache live on the chart's claims: back the namespace up.
      persistentVolumeClaims: true,
    };
  },
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
      connect({ workload: SETUP }, CORE, ['http'], 'configures projects and robot accounts'),
      ...[CORE, JOBSERVICE, REGISTRY, EXPORTER].map((w) => scrapedBy(w)),
    ];
  },
  secretConsumers: () => [SETUP_CONSUMER],
  build(chart: Chart, platform: Platform, plan: NetworkPlan) {
    new PlatformNamespace(chart, 'namespace', { name: HARBOR_NAMESPACE, workloads: HARBOR_WORKLOADS, plan });
    new TlsIngress(chart, 'ingress', {
      name: 'harbor',
      namespace: HARBOR_NAMESPACE,
      host: hostOf(platform),
      serviceName: PROXY_SERVICE.name,
      servicePort: PROXY_SERVICE.port,
      issuer: issuerFor(platform, PLATFORM_ENV),
      annotations: {
        // Image layers are large and pushes slow: no body limit, no buffering, long timeouts.
        'nginx.org/client-max-body-size': '0',
        'nginx.org/proxy-buffering': 'False',
        'nginx.org/proxy-read-timeout': '900s',
        'nginx.org/proxy-send-timeout': '900s',
      },
    });

    const name = SETUP.name;
    const labels = standardLabels(name, 'setup');
    new ApiObject(chart, 'setup-service-account', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: SETUP_CONSUMER.serviceAccount, namespace: HARBOR_NAMESPACE, labels },
      automountServiceAccountToken: false,
    });
    new ApiObject(chart, 'setup-config', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: HARBOR_NAMESPACE, labels },
      data: { 'setup.py': SETUP_SCRIPT, 'harbor.json': `${JSON.stringify(setupConfig(platform), null, 2)}\n` },
    });
    new ApiObject(chart, 'setup-job', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: HARBOR_NAMESPACE,
        labels,
        annotations: {
          // After every sync, once Harbor's workloads are healthy; the previous run is replaced.
          'argocd.argoproj.io/hook': 'PostSync',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        },
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 1800,
        ttlSecondsAfterFinished: 86400,
        template: {
          metadata: {
            labels: { ...labels, ...vaultAgentPod(SETUP_CONSUMER, platform).labels },
            annotations: { ...vaultAgentPod(SETUP_CONSUMER, platform).annotations, ...READ_AT_START },
          },
          spec: {
            serviceAccountName: SETUP_CONSUMER.serviceAccount,
            automountServiceAccountToken: false,
            restartPolicy: 'Never',
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'setup',
                image: IMAGES.harborSetup,
                command: ['python3', '/etc/harbor-setup/setup.py', '/etc/harbor-setup/harbor.json'],
                env: [
                  { name: 'HARBOR_URL', value: CORE_URL },
                  { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
                ],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                resources: resources('20m', '32Mi', '200m', '128Mi'),
                volumeMounts: [{ name: 'config', mountPath: '/etc/harbor-setup', readOnly: true }],
              },
            ],
            volumes: [
              ...vaultAgentPod(SETUP_CONSUMER, platform).volumes,
              { name: 'config', configMap: { name } },
            ],
          },
        },
      },
    });
  },
};
