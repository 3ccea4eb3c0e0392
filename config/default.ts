/**
 * The seed platform: what `npm run synth` renders when no `--config` is given.
 * `npm run synth -- --print-config` prints it as YAML to start your own from.
 */
import { imageDigestOf, imageTagOf } from './app-images';
import type { Platform } from './schema';

export const defaultPlatform: Platform = {
  domain: 'lumetium.com',
  git: {
    repoURL: 'https://git.lumetium.com/platform/platform.git',
    targetRevision: 'main',
  },
  acmeEmail: 'ops@lumetium.com',
  mesh: {
    cidr: '100.64.0.0/10',
    interface: 'tailscale0',
    headscaleHost: 'headscale.lumetium.com',
    baseDomain: 'mesh.lumetium.com',
    admins: ['ops'],
    // The control plane node is always up; any node on the LAN could route to the MetalLB pool.
    subnetRouter: 'k3s-master',
  },
  gateway: {
    region: 'eu-central-1',
    instanceType: 't3.small',
    vpcCidr: '10.20.0.0/16',
    subnetCidr: '10.20.1.0/24',
    meshAddress: '100.64.0.1',
    stateBucket: 'lumetium-platform-tfstate',
    // Debian's own AWS account publishes the official Debian AMIs.
    ami: { owner: '136693071363', name: 'debian-12-amd64-*' },
  },
  cluster: {
    lanCidr: '192.168.10.0/24',
    podCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    loadBalancerPool: '192.168.10.240/28',
    ingressAddress: '192.168.10.240',
  },
  nodes: {
    'k3s-master': { role: 'server', meshAddress: '100.64.0.10', lanAddress: '192.168.10.10' },
    'k3s-worker-01': { role: 'agent', meshAddress: '100.64.0.11', lanAddress: '192.168.10.11' },
    'k3s-worker-02': { role: 'agent', meshAddress: '100.64.0.12', lanAddress: '192.168.10.12' },
  },
  ceph: {
    clusterId: '5e3c7a90-1f2b-4c8d-9a6e-2b7f0d4c1e88',
    monitors: ['192.168.10.21:6789', '192.168.10.22:6789', '192.168.10.23:6789'],
    rbdPool: 'kubernetes',
    // Three hosts with about 80 GB of OSDs each; three copies of every object (Ceph's default).
    // The volumes below, the snapshots of a running backup and 30 days of database dumps, Vault
    // snapshots and GitLab backups in the RADOS Gateway (same cluster) stay under the nearfull
    // warning; Velero's repository is off site (config/capacity.ts, decisions 103 and 104).
    capacityGiB: 230,
    replication: 3,
    nearfullRatio: 0.85,
    rgw: { endpoint: 'http://192.168.10.21:7480', bucket: 'velero-backups' },
  },
  // Exposure (docs/decisions/0099-host-exposure.md): the internet reaches GitLab (collaborators,
  // clones) and the prod apps; the admin tools, Harbor and the pre-production apps only the mesh
  // and the cluster. Harbor stays resolvable inside the cluster, where builds push and nodes pull.
  services: {
    argocd: { node: 'k3s-worker-01', host: 'argocd.lumetium.com', exposure: 'mesh' },
    gitlab: { node: 'k3s-worker-01', host: 'git.lumetium.com', exposure: 'public' },
    gitaly: { node: 'k3s-worker-02' },
    postgresql: { node: 'k3s-worker-01' },
    redis: { node: 'k3s-worker-01' },
    jenkins: { node: 'k3s-worker-02', host: 'ci.lumetium.com', exposure: 'mesh' },
    harbor: { node: 'k3s-worker-02', host: 'registry.lumetium.com', exposure: 'mesh' },
    prometheus: { node: 'k3s-master' },
    // Not on Prometheus' node: losing one node must not silence both (config/schema.ts checks it).
    alertmanager: { node: 'k3s-worker-02' },
    grafana: { node: 'k3s-master', host: 'grafana.lumetium.com', exposure: 'mesh' },
    loki: { node: 'k3s-master' },
    vault: { node: 'k3s-master', host: 'vault.lumetium.com', exposure: 'mesh' },
  },
  backups: {
    schedule: '0 3 * * *',
    retentionDays: 30,
    snapshotDailyChangePercent: 1,
    region: 'default',
    dumpBucket: 'platform-dumps',
    // Velero's backups (objects and volume data) in AWS, outside the Ceph cluster: 30 days of
    // them would not fit beside the volumes (decision 104).
    offsite: { bucket: 'lumetium-platform-velero', region: 'eu-central-1' },
    // GitLab pushes the platform repository here: a whole-cluster restore starts from it.
    repositoryMirror: { url: 'https://github.com/lumetium/platform.git' },
    archiveGiB: { postgresql: 0.2, vault: 0.01, gitlab: 0.25 },
  },
  k3s: {
    tokenFile: '/etc/rancher/k3s/token',
    tlsSans: [],
  },
  // Reboots after OS updates and k3s upgrades: weekend nights, one node at a time.
  maintenance: { days: ['sa', 'su'], start: '02:00', end: '05:00', timeZone: 'UTC' },
  certManager: {
    recursiveNameservers: ['1.1.1.1:53', '1.0.0.1:53'],
  },
  // No local admin: people sign in through GitLab; break-glass is the kubeconfig (decision 0118).
  argocd: {
    adminEnabled: false,
  },
  // Single sign-on through GitLab: direct members of these groups administer or view (decision 0117).
  sso: { adminGroup: 'platform-admins', viewerGroup: 'platform-viewers' },
  vault: {
    // Raft holds a few hundred KV entries, policies and roles: megabytes, plus its log.
    storageGiB: 2,
    tokenTtl: '15m',
    tokenMaxTtl: '4h',
    // The gateway's region: one AWS account and region for the platform's AWS resources.
    autoUnseal: { provider: 'awskms', region: 'eu-central-1', keyAlias: 'alias/platform-vault-unseal' },
  },
  // GitLab's and Harbor's databases of a small team (a few GiB) and 1 GiB of WAL (max_wal_size).
  postgresql: { storageGiB: 6 },
  // The append-only file of at most maxMemoryMiB, twice that before a rewrite, and the rewrite's copy.
  redis: { storageGiB: 3, maxMemoryMiB: 1024 },
  // Repositories only: LFS, artifacts, uploads and packages live in RGW buckets.
  gitlab: { gitalyStorageGiB: 10, bucketPrefix: 'gitlab' },
  harbor: {
    // The apps' images and their base layers; Harbor's garbage collection and retention keep it there.
    registryStorageGiB: 10,
    // Trivy's vulnerability and Java databases (about 1 GiB together).
    trivyStorageGiB: 2,
    // The user's application images (one repository per app) live in this project.
    projects: [{ name: 'apps', public: false }],
    // Each app's push robot expires 90 days after its creation; rotating its Vault entry renews it.
    robotLifetimeDays: 90,
    preventSeverity: 'critical',
  },
  observability: {
    scrapeInterval: '30s',
    // About 50k series of 3 nodes and 21 jobs for 15 days is ~3 GB; retention by size stops at 80%.
    prometheus: { retentionDays: 15, storageGiB: 6 },
    // Compressed logs of a 3-node cluster for 14 days, about 2-3 GiB.
    loki: { retentionDays: 14, storageGiB: 5 },
    alerting: {
      // Configure the service as the README's runbook says (secret/alertmanager/heartbeat, key url).
      heartbeat: { interval: '5m' },
      defaultReceiver: 'ops-email',
      receivers: {
        'ops-email': { email: { to: 'ops@lumetium.com' } },
        'ops-chat': { slack: { channel: '#platform-alerts' } },
      },
      // Critical alerts also reach the chat; every alert reaches the mailbox.
      routes: [{ receiver: 'ops-chat', matchers: { severity: 'critical' }, continue: true }],
      smtp: { smarthost: 'smtp.lumetium.com:587', from: 'alertmanager@lumetium.com', username: 'alertmanager@lumetium.com' },
    },
  },
  // Renovate looks every hour; renovate.json opens merge requests before 06:00 UTC on Mondays
  // and lets the other runs rebase them (README "Dependency updates").
  renovate: { schedule: '30 * * * *', suspend: false },
  // The service mesh (issue 18): Linkerd edge with its trust chain from cert-manager
  // (docs/decisions/0121-linkerd-edge.md, 0122, 0123); false renders the platform without it.
  serviceMesh: { enabled: true },
  environments: {
    // Production certificates everywhere: public hosts are proxied by Cloudflare in Full (strict)
    // mode, which refuses staging ones (docs/decisions/0061-production-certificates-behind-cloudflare.md),
    // and the admins' browsers on the mesh trust only production ones (decision 0099).
    dev: { certificateIssuer: 'letsencrypt-prod' },
    staging: { certificateIssuer: 'letsencrypt-prod' },
    prod: { certificateIssuer: 'letsencrypt-prod' },
  },
  // An example app, so the delivery flow is visible in dist/: replace it with your own (its
  // repository and first image appear once the pipeline has run; see the README's runbook).
  // Image tags and digests come from config/app-images.json, which the pipeline edits (npm run set-image).
  apps: {
    hello: {
      repository: 'apps/hello',
      image: 'apps/hello',
      port: 8080,
      health: { readinessPath: '/ready', livenessPath: '/healthz' },
      secrets: [{ name: 'config', keys: ['GREETING'] }],
      smokeTest: 'curl --fail --silent --show-error --max-time 10 "$APP_URL/healthz"',
      environments: {
        dev: {
          host: 'hello-dev.lumetium.com',
          exposure: 'mesh',
          tag: imageTagOf('hello', 'dev'),
          ...imageDigestOf('hello', 'dev'),
          replicas: 1,
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '128Mi' } },
        },
        staging: {
          host: 'hello-staging.lumetium.com',
          exposure: 'mesh',
          tag: imageTagOf('hello', 'staging'),
          ...imageDigestOf('hello', 'staging'),
          replicas: 1,
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '128Mi' } },
        },
        prod: {
          host: 'hello.lumetium.com',
          exposure: 'public',
          tag: imageTagOf('hello', 'prod'),
          ...imageDigestOf('hello', 'prod'),
          replicas: 2,
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        },
      },
    },
  },
};
