/**
 * GitLab CE from the official chart (charts.gitlab.io), pinned in config/versions.ts, in
 * namespace `gitlab`:
 *  - our PostgreSQL and Redis (charts/data), not the chart's bundled ones; no bundled
 *    cert-manager, NGINX, Prometheus, runner, MinIO, container registry (Harbor is the registry),
 *    KAS or SSH (the edge publishes HTTPS only, decision 0006);
 *  - Gitaly enabled, on the node the model places it (`services.gitaly.node`), on `ceph-rbd`;
 *  - object storage (artifacts, LFS, uploads, packages, backups) in Ceph RGW buckets;
 *  - served on `services.gitlab.host` by our own TLS Ingress (class `nginx`, cert-manager), not the
 *    chart's: one Ingress per public host across the platform, checked by the consistency gate.
 *
 * Secrets: the chart reads its passwords from Kubernetes Secrets. The ones from outside (database,
 * Redis, object storage) are copied from Vault by the README runbook (`GITLAB_SECRETS` lists them);
 * the chart's own `shared-secrets` Job generates the internal ones (Rails secrets, Gitaly and
 * Workhorse tokens, the initial root password) in the cluster. Nothing secret is in Git.
 * See docs/decisions/0036-gitlab-chart-secrets.md.
 *
 * Values used (chart 9.8 values.yaml and https://docs.gitlab.com/charts/charts/globals/):
 * global.edition, global.hosts.{domain,https,gitlab.name}, global.ingress.{enabled,configureCertmanager},
 * global.psql.{host,port,username,database,password.secret,password.key},
 * global.redis.{host,port,database,user,auth.{enabled,secret,key}}, global.minio.enabled,
 * global.registry.enabled, global.kas.enabled, global.appConfig.{object_store,lfs,artifacts,uploads,
 * packages,enableUsagePing,enableSeatLink}, global.time_zone, installCertmanager, nginx-ingress.enabled,
 * prometheus.install, redis.install, postgresql.install, gitlab-runner.install, registry.enabled,
 * upgradeCheck.enabled, shared-secrets.enabled, gitlab.gitaly.{nodeSelector,persistence},
 * gitlab.gitlab-shell.enabled, gitlab.toolbox.backups.objectStorage.config,
 * global.railsSecrets.secret, gitlab.toolbox.backups.cron.{enabled,schedule,concurrencyPolicy,backoffLimit,activeDeadlineSeconds,extraArgs,resources},
 * gitlab.{webservice,sidekiq,gitaly,toolbox,gitlab-exporter,migrations}.resources.
 *
 * @see https://docs.gitlab.com/charts/advanced/external-db/
 * @see https://docs.gitlab.com/charts/advanced/external-redis/
 * @see https://docs.gitlab.com/charts/advanced/external-object-storage/
 */
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import { APPLICATION_SYNC_WAVE } from '../lib/sync-waves';
import { POSTGRESQL, POSTGRESQL_HOST, POSTGRESQL_PORT, REDIS, REDIS_DATABASES, REDIS_HOST, REDIS_PORT, databaseOf, rgwNetwork, rgwPort } from '../lib/data-endpoints';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, resources } from '../lib/kinds';
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
import { STORAGE_CLASS, placedNode } from '../lib/placement';
import type { ServiceRegistration } from '../lib/service';
import { NODE_LABEL } from '../../config/topology';

export const GITLAB_NAMESPACE = 'gitlab';
/** The Helm release name: the chart names its objects `gitlab-<component>`. */
export const GITLAB_RELEASE = 'gitlab';

/**
 * The chart labels its pods `app: <component>` (and `release: gitlab`). Its components set
 * `serviceAccountName` only with `serviceAccount.enabled` or `global.serviceAccount.enabled`
 * (off by default, and our values leave it off), so they run as the namespace's `default`
 * ServiceAccount: one mesh identity for all of them (charts/gitlab/charts/webservice/templates/deployment.yaml
 * and the other components' templates, values.yaml `global.serviceAccount.enabled: false`).
 */
const component = (name: string, ports: Record<string, number>, extra: Partial<Workload> = {}): Workload => ({
  namespace: GITLAB_NAMESPACE,
  name,
  selectorLabel: 'app',
  ports,
  serviceAccount: 'default',
  ...extra,
});

/** Puma (Rails) and Workhorse in one pod; Workhorse (8181) is what the Ingress and Gitaly's hooks reach. */
export const WEBSERVICE = component('webservice', { workhorse: 8181, puma: 8080, metrics: 8083, workhorseMetrics: 9229 });
export const SIDEKIQ = component('sidekiq', { metrics: 3807 });
/**
 * Plain gRPC (the chart's `global.gitaly.tls.enabled` is off): Linkerd's inbound proxy reads it as
 * such; the chart probes that port with gRPC health checks (charts/gitlab/charts/gitaly/templates/_statefulset_spec.yaml).
 */
export const GITALY = component('gitaly', { grpc: 8075, metrics: 9236 }, { meshProtocols: { grpc: 'gRPC' }, nonHttpProbePorts: ['grpc'] });
export const GITLAB_EXPORTER = component('gitlab-exporter', { metrics: 9168 });
/** Rake tasks and backups (the `backup-utility`); nothing connects to it. */
export const TOOLBOX = component('toolbox', {}, { receivesNothing: true });
/** The database migrations Job of each release. */
export const MIGRATIONS = component('migrations', {}, { receivesNothing: true });
/** The hook Job that generates the chart's internal secrets in the namespace. */
export const SHARED_SECRETS = component('shared-secrets', {}, { receivesNothing: true, serviceAccount: `${GITLAB_RELEASE}-shared-secrets` });
export const GITLAB_WORKLOADS = [WEBSERVICE, SIDEKIQ, GITALY, GITLAB_EXPORTER, TOOLBOX, MIGRATIONS, SHARED_SECRETS];

/** The Service our Ingress targets (Workhorse). */
export const WEBSERVICE_SERVICE = { name: `${GITLAB_RELEASE}-webservice-default`, port: WEBSERVICE.ports!.workhorse } as const;

/** A Kubernetes Secret the chart reads, created from Vault by the README runbook. */
export interface ChartSecret {
  readonly name: string;
  readonly key: string;
  /** The Vault KV entry and key its value is copied from. */
  readonly vaultPath: string;
  readonly vaultKey: string;
}

/** The Secrets GitLab's chart expects that come from Vault (README: "GitLab: secrets from Vault"). */
export const GITLAB_SECRETS = {
  postgresql: { name: 'gitlab-postgresql-password', key: 'password', vaultPath: 'secret/postgresql/gitlab', vaultKey: 'password' },
  redis: { name: 'gitlab-redis-password', key: 'password', vaultPath: 'secret/redis/gitlab', vaultKey: 'password' },
  objectStorage: { name: 'gitlab-object-storage', key: 'connection', vaultPath: 'secret/gitlab/object-storage', vaultKey: 'connection' },
  backupStorage: { name: 'gitlab-backup-storage', key: 'config', vaultPath: 'secret/gitlab/backup-storage', vaultKey: 's3cfg' },
} as const satisfies Record<string, ChartSecret>;

/**
 * The Secret holding GitLab's Rails secrets (`secrets.yml`: the keys of its encrypted columns). The
 * chart's shared-secrets Job generates it under this name (the chart's default, `<release>-rails-secret`,
 * set explicitly through `global.railsSecrets.secret`); a backup archive restores nothing readable
 * without it, so the README runbook keeps a copy in Vault (docs.gitlab.com/charts/backup-restore/backup,
 * "Back up the secrets").
 */
export const GITLAB_RAILS_SECRET = `${GITLAB_RELEASE}-rails-secret`;

/** After the PostgreSQL dump (01:30) and before Velero's daily backup (seed 03:00), UTC. */
const GITLAB_BACKUP_SCHEDULE = '0 2 * * *';

/** The object storage buckets GitLab uses, by purpose, named from the model's `gitlab.bucketPrefix`. */
export function gitlabBuckets(bucketPrefix: string) {
  return {
    artifacts: `${bucketPrefix}-artifacts`,
    lfs: `${bucketPrefix}-lfs`,
    uploads: `${bucketPrefix}-uploads`,
    packages: `${bucketPrefix}-packages`,
    backups: `${bucketPrefix}-backups`,
    tmp: `${bucketPrefix}-tmp`,
  };
}

/** What GitLab's chart values read of the model. */
export interface GitLabChartProps {
  /** The public DNS zone (`domain`): the chart's `global.hosts.domain`. */
  readonly domain: string;
  /** GitLab's host (`services.gitlab.host`; the schema requires one). */
  readonly host: string;
  /** The node Gitaly runs on (`services.gitaly.node`). */
  readonly gitalyNode: string;
  /** The node the Rails pods, the toolbox, the exporter and the migrations run on (`services.gitlab.node`). */
  readonly gitlabNode: string;
  /** The size of Gitaly's repository volume (`gitlab.gitalyStorageGiB`). */
  readonly gitalyStorageGiB: number;
  /** The prefix of GitLab's object storage buckets (`gitlab.bucketPrefix`). */
  readonly bucketPrefix: string;
  /** How many daily backup archives the toolbox keeps (`backups.retentionDays`). */
  readonly backupRetentionDays: number;
}

/**
 * The pinned GitLab chart with its values, from the model's slice `GitLabChartProps`. The render
 * asks a service for its chart with the model alone (`ServiceRegistration.helm`, also read by
 * the app-of-apps and the inventory), so the registration maps the model to these props
 * (docs/decisions/0114-helm-services-chart-props.md).
 */
export function gitlabChart(props: GitLabChartProps) {
  const db = databaseOf('gitlab');
  const buckets = gitlabBuckets(props.bucketPrefix);
  const objectStore = { secret: GITLAB_SECRETS.objectStorage.name, key: GITLAB_SECRETS.objectStorage.key };
  const gitlabNode = { [NODE_LABEL]: props.gitlabNode };
  return {
    ...CHARTS.gitlab,
    releaseName: GITLAB_RELEASE,
    values: {
      global: {
        edition: 'ce',
        hosts: { domain: props.domain, https: true, gitlab: { name: props.host, https: true } },
        // Our TlsIngress (in this folder) serves the host; the chart's would be a second one.
        ingress: { enabled: false, configureCertmanager: false },
        psql: {
          host: POSTGRESQL_HOST,
          port: POSTGRESQL_PORT,
          username: db.user,
          database: db.database,
          password: { useSecret: true, secret: GITLAB_SECRETS.postgresql.name, key: GITLAB_SECRETS.postgresql.key },
        },
        redis: {
          host: REDIS_HOST,
          port: REDIS_PORT,
          database: REDIS_DATABASES.gitlab,
          user: 'gitlab',
          auth: { enabled: true, secret: GITLAB_SECRETS.redis.name, key: GITLAB_SECRETS.redis.key },
        },
        minio: { enabled: false },
        // Harbor is the platform's registry.
        registry: { enabled: false },
        kas: { enabled: false },
        appConfig: {
          // No data leaves the platform on its own.
          enableUsagePing: false,
          enableSeatLink: false,
          object_store: { enabled: true, proxy_download: true, connection: objectStore },
          lfs: { bucket: buckets.lfs },
          artifacts: { bucket: buckets.artifacts },
          uploads: { bucket: buckets.uploads },
          packages: { bucket: buckets.packages },
          backups: { bucket: buckets.backups, tmpBucket: buckets.tmp },
        },
        time_zone: 'UTC',
        railsSecrets: { secret: GITLAB_RAILS_SECRET },
      },
      installCertmanager: false,
      'nginx-ingress': { enabled: false },
      prometheus: { install: false },
      redis: { install: false },
      postgresql: { install: false },
      'gitlab-runner': { install: false },
      registry: { enabled: false },
      // The version check calls gitlab.com; Renovate proposes chart updates instead.
      upgradeCheck: { enabled: false },
      'shared-secrets': { enabled: true, resources: resources('50m', '64Mi', '200m', '128Mi') },
      gitlab: {
        gitaly: {
          nodeSelector: { [NODE_LABEL]: props.gitalyNode },
          persistence: { enabled: true, storageClass: STORAGE_CLASS, size: `${props.gitalyStorageGiB}Gi` },
          resources: resources('200m', '512Mi', '2', '2Gi'),
        },
        'gitlab-shell': { enabled: false },
        webservice: {
          nodeSelector: gitlabNode,
          minReplicas: 1,
          maxReplicas: 2,
          resources: resources('500m', '2.5Gi', '2', '4Gi'),
          workhorse: { resources: resources('100m', '100Mi', '1', '512Mi') },
        },
        sidekiq: {
          nodeSelector: gitlabNode,
          minReplicas: 1,
          maxReplicas: 2,
          resources: resources('250m', '1.5Gi', '2', '3Gi'),
        },
        toolbox: {
          nodeSelector: gitlabNode,
          backups: {
            // The chart's daily backup CronJob (`<release>-toolbox-backup`): backup-utility dumps the
            // database and the repositories and tars the object-storage buckets into
            // `<gitlab.bucketPrefix>-backups`, keeping the newest `backups.retentionDays` archives
            // (one a day). Keys from docs.gitlab.com/charts/charts/gitlab/toolbox ("backups.cron.*")
            // and docs.gitlab.com/charts/backup-restore/backup ("Cron based backup", "Backup utility
            // extra arguments": --maximum-backups), chart 9.8.
            cron: {
              enabled: true,
              schedule: GITLAB_BACKUP_SCHEDULE,
              // The chart's default Replace would kill a slow run with the next one.
              concurrencyPolicy: 'Forbid',
              backoffLimit: 1,
              activeDeadlineSeconds: 6 * 3600,
              extraArgs: `--maximum-backups ${props.backupRetentionDays}`,
              resources: resources('100m', '512Mi', '1', '2Gi'),
            },
            objectStorage: { config: { secret: GITLAB_SECRETS.backupStorage.name, key: GITLAB_SECRETS.backupStorage.key } },
          },
          resources: resources('50m', '350Mi', '1', '2Gi'),
        },
        'gitlab-exporter': { nodeSelector: gitlabNode, resources: resources('25m', '64Mi', '200m', '256Mi') },
        migrations: { nodeSelector: gitlabNode, resources: resources('250m', '1Gi', '2', '3Gi') },
      },
    },
    // Cluster-scoped kinds the chart may render with these values (its bundled cert-manager, NGINX,
    // Prometheus and runner, which bring CRDs and webhooks, are off).
    clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
    // Gitaly's repositories live on a claim of the chart's StatefulSet: back the namespace up.
    persistentVolumeClaims: true,
  };
}

/** The slice of the model GitLab's chart reads (the schema requires `services.gitlab.host`). */
function chartPropsOf(platform: Platform): GitLabChartProps {
  return {
    domain: platform.domain,
    host: platform.services.gitlab.host!,
    gitalyNode: placedNode(platform, 'gitaly'),
    gitlabNode: placedNode(platform, 'gitlab'),
    gitalyStorageGiB: platform.gitlab.gitalyStorageGiB,
    bucketPrefix: platform.gitlab.bucketPrefix,
    backupRetentionDays: platform.backups.retentionDays,
  };
}

/** What GitLab's own objects (namespace and Ingress) read of the model and the render. */
export interface GitLabProps {
  /** GitLab's host (`services.gitlab.host`), served with TLS by our Ingress. */
  readonly host: string;
  /** The cert-manager ClusterIssuer of its certificate. */
  readonly issuer: string;
  /** The render's network plan: the namespace's NetworkPolicies come from it. */
  readonly plan: NetworkPlan;
}

/**
 * GitLab CE: the official chart (`registration.helm`), and our namespace with its NetworkPolicies
 * and the one TLS Ingress of its host, to Workhorse.
 */
export class GitLab extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'gitlab',
    namespace: GITLAB_NAMESPACE,
    syncWave: APPLICATION_SYNC_WAVE,
    helm: (platform: Platform) => gitlabChart(chartPropsOf(platform)),
    connections: (platform: Platform): Connection[] => {
      const rgw = rgwNetwork(platform);
      const port = rgwPort(platform);
      const rails = [WEBSERVICE, SIDEKIQ, TOOLBOX, MIGRATIONS];
      return [
        ...GITLAB_WORKLOADS.map(dnsAccess),
        exposedThroughIngress(WEBSERVICE, 'workhorse'),
        ...[...rails, GITLAB_EXPORTER].flatMap((w) => [
          connect({ workload: w }, POSTGRESQL, ['postgres'], `GitLab database (${w.name})`),
          connect({ workload: w }, REDIS, ['redis'], `GitLab cache and queues (${w.name})`),
        ]),
        ...rails.map((w) => connect({ workload: w }, GITALY, ['grpc'], `repositories (${w.name})`)),
        // Gitaly's hooks call GitLab's internal API through Workhorse (push rules, post-receive).
        connect({ workload: GITALY }, WEBSERVICE, ['workhorse'], 'internal API for Git hooks'),
        ...[WEBSERVICE, SIDEKIQ, TOOLBOX].map((w) => ({
          from: { workload: w },
          to: { network: rgw },
          ports: [{ port }],
          purpose: `object storage on Ceph RGW (${w.name})`,
        })),
        // Outgoing webhooks and integrations run in Sidekiq.
        { from: { workload: SIDEKIQ }, to: { network: INTERNET }, ports: [{ port: 443 }], purpose: 'webhooks and integrations (HTTPS)' },
        // Webhooks to Jenkins by its host, which the cluster resolves to the ingress controller
        // (coredns-custom): in-cluster, even when Jenkins is mesh-only (decision 0101).
        connect({ workload: SIDEKIQ }, INGRESS_CONTROLLER, ['https'], 'webhooks to Jenkins through the ingress controller'),
        ...kubeApiAccess(SHARED_SECRETS, platform),
        scrapedBy(WEBSERVICE),
        scrapedBy(WEBSERVICE, 'workhorseMetrics'),
        scrapedBy(SIDEKIQ),
        scrapedBy(GITALY),
        scrapedBy(GITLAB_EXPORTER),
      ];
    },
  };

  constructor(scope: Construct, id: string, props: GitLabProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: GITLAB_NAMESPACE, workloads: GITLAB_WORKLOADS, plan: props.plan });
    new TlsIngress(this, 'ingress', {
      name: 'gitlab',
      namespace: GITLAB_NAMESPACE,
      host: props.host,
      serviceName: WEBSERVICE_SERVICE.name,
      servicePort: WEBSERVICE_SERVICE.port,
      issuer: props.issuer,
      annotations: {
        // Git pushes, LFS objects and uploads are large and slow: no body limit, long timeouts.
        'nginx.org/client-max-body-size': '0',
        'nginx.org/proxy-read-timeout': '600s',
        'nginx.org/proxy-send-timeout': '600s',
        'nginx.org/proxy-buffering': 'False',
      },
    });
  }
}
