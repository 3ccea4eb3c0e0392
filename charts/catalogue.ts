/**
 * The catalogue: which services each environment runs, and for services written as construct
 * classes, how their props come from the model (one `constructService` line each; the guide is
 * at the top of charts/lib/workload.ts). The `platform` folder holds the shared cluster services;
 * the user's environments (dev, staging, prod) hold their applications.
 */
import { exposureOf, PLATFORM_ENV, type Platform } from '../config';
import { appPushRobots } from '../config/harbor-robots';
import { AppNamespace, TenantApp, appImage, appSecretConsumer, checkAppNames } from './apps/app';
import { BuildsNamespace } from './build/builds';
import { Jenkins, jenkinsSsoOf, type JenkinsProps } from './build/jenkins';
import { CephCsi, CephCsiConfig, SnapshotController } from './core/ceph-csi';
import { CertManager, CertManagerConfig } from './core/cert-manager';
import { Metallb, MetallbConfig } from './core/metallb';
import { NginxIngress } from './core/nginx-ingress';
import { Velero, VeleroConfig, backupStorage } from './backup/velero';
import { ApplicationBackups } from './backup/application-backups';
import type { NetworkPlan } from './lib/network';
import { constructInstance, constructService, type ServiceDefinition } from './lib/service';
import { placedNode } from './lib/placement';
import { issuerFor } from './lib/ingress';
import { vaultAgentPodFor, vaultTlsServerName } from './lib/vault';
import { Alertmanager } from './observability/alertmanager';
import { Grafana, grafanaHost } from './observability/grafana';
import { gitlabIssuer, oidcClient, ssoGroups } from './lib/sso';
import { KubeStateMetrics } from './observability/kube-state-metrics';
import { LogShipper } from './observability/log-shipper';
import { Loki } from './observability/loki';
import { NodeExporter } from './observability/node-exporter';
import { Prometheus, PrometheusDiscovery, platformRuleGroups } from './observability/prometheus';
import { scrapeJobs } from './observability/targets';
import { ArgoCd } from './platform/argocd';
import { Vault } from './security/vault';
import { Databases } from './data/databases';
import { Postgresql } from './data/postgresql';
import { Redis } from './data/redis';
import { Harbor, appRobotsOf, harborOidcOf } from './registry/harbor';
import { GitLab } from './source/gitlab';
import { Kured } from './day-two/kured';
import { SystemUpgradeController, SystemUpgradePlans } from './day-two/system-upgrade';
import { LinkerdCni, LinkerdControlPlane, LinkerdCrds } from './mesh/linkerd';
import { LinkerdTrust, TrustManager } from './mesh/trust';
import { serviceMeshEnabled } from './lib/service-mesh';
import { Renovate, renovateGitlabHost, renovateRepositories, renovateSuspended } from './day-two/renovate';

/**
 * The shared platform services, in no particular order: sync waves order them
 * (argocd -5; operators with CRDs 0-1; their custom resources and the ingress controller 2;
 * Vault 3; observability 3-4 (Prometheus with the monitoring namespace and node-exporter, then
 * the rest); Velero 4 and its custom resources 5; the databases namespace 10, PostgreSQL and
 * Redis 11, GitLab and the application backups 12; Jenkins, its build namespace and Harbor 13, once GitLab can issue
 * their tokens and OIDC clients; Prometheus' discovery grants 14, once every namespace exists). test/bringup.test.ts
 * walks this order from an empty cluster (docs/decisions/0065-bring-up-order.md).
 */
// ---- services written as construct classes: the model's slice each one reads ----
const loki = constructService(Loki, (platform) => ({
  node: placedNode(platform, 'loki'),
  retentionDays: platform.observability.loki.retentionDays,
  storageGiB: platform.observability.loki.storageGiB,
}));
const kubeStateMetrics = constructService(KubeStateMetrics, (platform) => ({ node: placedNode(platform, 'prometheus') }));
const nodeExporter = constructService(NodeExporter, (_platform, plan) => ({ plan }));
const logShipper = constructService(LogShipper, (_platform, plan) => ({ plan }));
const prometheus = constructService(Prometheus, (platform, plan) => ({
  node: placedNode(platform, 'prometheus'),
  retentionDays: platform.observability.prometheus.retentionDays,
  storageGiB: platform.observability.prometheus.storageGiB,
  scrapeInterval: platform.observability.scrapeInterval,
  cluster: platform.domain,
  scrapeJobs: scrapeJobs(platform, plan),
  ruleGroups: platformRuleGroups(platform, plan),
  plan,
}));
const velero = constructService(Velero, (_platform, plan) => ({ plan }));
const veleroConfig = constructService(VeleroConfig, (platform) => ({ storage: backupStorage(platform) }));
const applicationBackups = constructService(ApplicationBackups, (platform, plan) => ({
  plan,
  dumpBucket: platform.backups.dumpBucket,
  region: platform.backups.region,
  rgwUrl: platform.ceph.rgw.endpoint,
  retentionDays: platform.backups.retentionDays,
  postgresqlStorageGiB: platform.postgresql.storageGiB,
  vaultTlsServerName: vaultTlsServerName(platform),
}));
const prometheusDiscovery = constructService(PrometheusDiscovery, (_platform, plan) => ({ plan }));
const alertmanager = constructService(Alertmanager, (platform) => ({
  node: placedNode(platform, 'alertmanager'),
  alerting: platform.observability.alerting,
  vaultTlsServerName: vaultTlsServerName(platform),
}));
// ---- the cluster core (charts/core) ----
const certManager = constructService(CertManager, (platform, plan) => ({ plan, trustManager: serviceMeshEnabled(platform) }));
const certManagerConfig = constructService(CertManagerConfig, (platform) => ({ acmeEmail: platform.acmeEmail, domain: platform.domain }));
const metallb = constructService(Metallb, (_platform, plan) => ({ plan }));
const metallbConfig = constructService(MetallbConfig, (platform) => ({ loadBalancerPool: platform.cluster.loadBalancerPool }));
const nginxIngress = constructService(NginxIngress, (_platform, plan) => ({ plan }));
const snapshotController = constructService(SnapshotController, (_platform, plan) => ({ plan }));
const cephCsi = constructService(CephCsi, (_platform, plan) => ({ plan }));
const cephCsiConfig = constructService(CephCsiConfig, (platform) => ({ clusterId: platform.ceph.clusterId, rbdPool: platform.ceph.rbdPool }));
// The model requires Argo CD's host (config/schema.ts checkHosts).
const argocd = constructService(ArgoCd, (platform, plan) => ({ host: platform.services.argocd.host!, issuer: issuerFor(platform, PLATFORM_ENV), plan }));
const vault = constructService(Vault, (platform, plan) => ({
  // The model requires Vault's host (config/schema.ts checkHosts).
  host: platform.services.vault.host!,
  issuer: issuerFor(platform, PLATFORM_ENV),
  auth: {
    podCidr: platform.cluster.podCidr,
    tokenTtl: platform.vault.tokenTtl,
    tokenMaxTtl: platform.vault.tokenMaxTtl,
    oidc: { issuer: gitlabIssuer(platform), redirectUris: oidcClient(platform, 'vault').redirectUris, groups: ssoGroups(platform) },
  },
  secretConsumers: plan.secretConsumers,
  plan,
}));
const grafana = constructService(Grafana, (platform) => ({
  host: grafanaHost(platform),
  node: placedNode(platform, 'grafana'),
  scrapeInterval: platform.observability.scrapeInterval,
  issuer: issuerFor(platform, PLATFORM_ENV),
  vaultTlsServerName: vaultTlsServerName(platform),
  sso: { issuer: gitlabIssuer(platform), groups: ssoGroups(platform) },
  serviceMesh: serviceMeshEnabled(platform),
  cephNearfullRatio: platform.ceph.nearfullRatio,
}));
const databases = constructService(Databases, (_platform, plan) => ({ plan }));
const postgresql = constructService(Postgresql, (platform) => ({
  node: placedNode(platform, 'postgresql'),
  storageGiB: platform.postgresql.storageGiB,
  vaultTlsServerName: vaultTlsServerName(platform),
}));
const redis = constructService(Redis, (platform) => ({
  node: placedNode(platform, 'redis'),
  storageGiB: platform.redis.storageGiB,
  maxMemoryMiB: platform.redis.maxMemoryMiB,
  vaultTlsServerName: vaultTlsServerName(platform),
}));
const gitlab = constructService(GitLab, (platform, plan) => ({
  // The schema requires GitLab's host (config/schema.ts checkSourceAndRegistry).
  host: platform.services.gitlab.host!,
  issuer: issuerFor(platform, PLATFORM_ENV),
  plan,
}));
const harbor = constructService(Harbor, (platform, plan) => ({
  // The schema requires Harbor's host (config/schema.ts checkSourceAndRegistry).
  host: platform.services.harbor.host!,
  issuer: issuerFor(platform, PLATFORM_ENV),
  projects: platform.harbor.projects,
  preventSeverity: platform.harbor.preventSeverity,
  appRobots: appRobotsOf(platform),
  oidc: harborOidcOf(platform),
  vaultTlsServerName: vaultTlsServerName(platform),
  plan,
}));
const systemUpgradeController = constructService(SystemUpgradeController, (_platform, plan) => ({ plan }));
const systemUpgradePlans = constructService(SystemUpgradePlans, (platform) => ({ window: platform.maintenance }));
const kured = constructService(Kured, (_platform, plan) => ({ plan }));
const renovate = constructService(Renovate, (platform, plan) => ({
  gitlabHost: renovateGitlabHost(platform),
  repositories: renovateRepositories(platform),
  schedule: platform.renovate.schedule,
  suspend: renovateSuspended(platform),
  ingressAddress: platform.cluster.ingressAddress,
  vaultTlsServerName: vaultTlsServerName(platform),
  plan,
}));
// ---- the service mesh (issue 18), only with `serviceMesh.enabled` ----
const trustManager = constructService(TrustManager, () => ({}));
const linkerdCrds = constructService(LinkerdCrds, (_platform, plan) => ({ plan }));
const linkerdCni = constructService(LinkerdCni, (_platform, plan) => ({ plan }));
const linkerdTrust = constructService(LinkerdTrust, (platform) => ({ previousTrustAnchorPEM: platform.serviceMesh.previousTrustAnchorPEM }));
const linkerdControlPlane = constructService(LinkerdControlPlane, () => ({}));
const builds = constructService(BuildsNamespace, (platform, plan) => ({ apps: Object.keys(platform.apps), plan }));
const jenkins = constructService(Jenkins, (platform, plan) => jenkinsProps(platform, plan));

/** Jenkins' props from the model (its tests build them from their models too). */
export function jenkinsProps(platform: Platform, plan: NetworkPlan): JenkinsProps {
  return {
    // The schema requires these three hosts (config/schema.ts).
    host: platform.services.jenkins.host!,
    gitlabHost: platform.services.gitlab.host!,
    registryHost: platform.services.harbor.host!,
    ingressAddress: platform.cluster.ingressAddress,
    vaultTlsServerName: vaultTlsServerName(platform),
    pushRobots: appPushRobots(platform.apps, platform.harbor.robotLifetimeDays),
    userNamespaces: platform.delivery?.userNamespaces,
    kanikoImage: platform.delivery?.kanikoImage,
    domain: platform.domain,
    adminEmail: platform.acmeEmail,
    git: platform.git,
    jobs: Object.entries(platform.apps).map(([app, spec]) => ({ app, repository: spec.repository, environments: Object.keys(spec.environments) })),
    sso: jenkinsSsoOf(platform),
    node: placedNode(platform, 'jenkins'),
    issuer: issuerFor(platform, PLATFORM_ENV),
    plan,
  };
}

export const PLATFORM_SERVICES: readonly ServiceDefinition[] = [
  argocd,
  certManager,
  certManagerConfig,
  metallb,
  metallbConfig,
  nginxIngress,
  snapshotController,
  cephCsi,
  cephCsiConfig,
  vault,
  velero,
  veleroConfig,
  // ---- data, source and registry (issue 8 part A) ----
  databases,
  postgresql,
  redis,
  // PostgreSQL dumps and Vault raft snapshots to the dump bucket (issue 17), once PostgreSQL runs.
  applicationBackups,
  gitlab,
  harbor,
  // ---- observability (issue 7) ----
  prometheus,
  alertmanager,
  grafana,
  loki,
  kubeStateMetrics,
  nodeExporter,
  logShipper,
  // ---- delivery (issue 8 part B) ----
  jenkins,
  builds,
  // ---- day two (issue 20): k3s upgrades (4, Plans 5) and coordinated reboots (4) ----
  systemUpgradeController, systemUpgradePlans, kured,
  // Renovate's CronJob (13, once GitLab and Vault run).
  renovate,
  // ---- last: Prometheus' grants in every namespace it scrapes (they all exist by then) ----
  prometheusDiscovery,
];

/** The mesh's services (CRDs and the linkerd namespace 0, trust-manager and CNI 1, trust chain and control plane 2). */
export const MESH_SERVICES: readonly ServiceDefinition[] = [trustManager, linkerdCrds, linkerdCni, linkerdTrust, linkerdControlPlane];

/** The platform's shared services in this render: the mesh's only when the model turns it on. */
function platformServices(platform: Platform): readonly ServiceDefinition[] {
  return serviceMeshEnabled(platform) ? [...PLATFORM_SERVICES, ...MESH_SERVICES] : PLATFORM_SERVICES;
}

/** The user's app in one environment (the model's `apps.<app>` and its `environments.<env>`). */
const appService = (app: string, env: string) =>
  constructInstance(TenantApp, TenantApp.registrationFor(app, env), (platform) => {
    const spec = platform.apps[app];
    // The schema requires every app in every environment of the model (config/schema.ts).
    const deployment = spec.environments[env];
    const consumer = appSecretConsumer(platform, app, env);
    return {
      app,
      env,
      image: appImage(platform, app, env),
      port: spec.port,
      health: spec.health,
      replicas: deployment.replicas,
      resources: deployment.resources,
      host: deployment.host,
      issuer: issuerFor(platform, env, exposureOf(deployment)),
      vaultAgent: consumer && vaultAgentPodFor(consumer, vaultTlsServerName(platform)),
    };
  });
/** The platform's part of an app in one environment: its namespace and the pipeline's read access. */
const appNamespaceService = (app: string, env: string) =>
  constructInstance(AppNamespace, AppNamespace.registrationFor(app, env), (platform, plan) => ({ app, env, port: platform.apps[app].port, plan }));

/** The platform services of every app namespace (apps, then environments, in the model's order). */
function appNamespaceServices(platform: Platform): ServiceDefinition[] {
  return Object.keys(platform.apps).flatMap((app) => Object.keys(platform.environments).map((env) => appNamespaceService(app, env)));
}

/** The environment's app services, in the model's app order. */
export function appServices(env: string, platform: Platform): ServiceDefinition[] {
  if (!(env in platform.environments)) return [];
  return Object.keys(platform.apps).map((app) => appService(app, env));
}

/**
 * The services of one environment: the platform's (plus the apps' namespaces, which the platform
 * owns), or the user's apps in that environment.
 */
export function servicesOf(env: string, platform: Platform): readonly ServiceDefinition[] {
  if (env !== PLATFORM_ENV) return appServices(env, platform);
  const shared = platformServices(platform);
  if (Object.keys(platform.apps).length === 0) return shared;
  checkAppNames(platform, shared);
  return [...shared, ...appNamespaceServices(platform)];
}

/** The folders of `dist/k8s/` the render writes: the platform's first, then the model's environments. */
export function renderedEnvironments(platform: Platform): string[] {
  return [PLATFORM_ENV, ...Object.keys(platform.environments).sort()];
}

/** Every service of the render, in every environment: what the network plan and Vault's consumers come from. */
export function allServices(platform: Platform): ServiceDefinition[] {
  return renderedEnvironments(platform).flatMap((env) => servicesOf(env, platform));
}
