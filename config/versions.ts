/**
 * Every image, chart and downloaded binary the platform uses, pinned, in one place.
 *
 * Renovate reads the `// renovate:` comment above each entry (see renovate.json's regex manager):
 * the line below it holds the version it bumps. Keep one entry per line pair, versions exact
 * (no ranges, no `latest`).
 */

/** An upstream Helm chart, pinned to an exact version. */
export interface ChartVersion {
  /** Chart repository URL (for OCI: the registry path without `oci://`, as Argo CD expects). */
  readonly repoURL: string;
  readonly chart: string;
  readonly version: string;
}

/** Upstream Helm charts, by the service that installs them. */
export const CHARTS = {
  // ---- cluster core (issue 4) ----
  // renovate: datasource=helm registryUrl=https://argoproj.github.io/argo-helm depName=argo-cd
  argocd: { repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', version: '10.4.0' }, // Argo CD v3.5.1
  // renovate: datasource=helm registryUrl=https://metallb.github.io/metallb depName=metallb
  metallb: { repoURL: 'https://metallb.github.io/metallb', chart: 'metallb', version: '0.16.1' },
  // renovate: datasource=helm registryUrl=https://helm.nginx.com/stable depName=nginx-ingress
  nginxIngress: { repoURL: 'https://helm.nginx.com/stable', chart: 'nginx-ingress', version: '2.7.2' }, // NGINX Ingress Controller 5.6.2
  // renovate: datasource=helm registryUrl=https://charts.jetstack.io depName=cert-manager
  certManager: { repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.21.1' },
  // renovate: datasource=helm registryUrl=https://ceph.github.io/csi-charts depName=ceph-csi-rbd
  cephCsiRbd: { repoURL: 'https://ceph.github.io/csi-charts', chart: 'ceph-csi-rbd', version: '3.17.0' },
  // renovate: datasource=helm registryUrl=https://piraeus.io/helm-charts depName=snapshot-controller
  snapshotController: { repoURL: 'https://piraeus.io/helm-charts', chart: 'snapshot-controller', version: '5.2.0' }, // external-snapshotter v8.6.0; 5.2.0 is the first that renders no conversion webhook and no self-signed Secret with webhook.enabled false
  // ---- end cluster core ----
  // ---- secrets and backups (issue 6) ----
  // renovate: datasource=helm registryUrl=https://helm.releases.hashicorp.com depName=vault
  vault: { repoURL: 'https://helm.releases.hashicorp.com', chart: 'vault', version: '0.34.1' }, // Vault server and agent injector (vault-k8s 1.7.6)
  // renovate: datasource=helm registryUrl=https://vmware-tanzu.github.io/helm-charts depName=velero
  velero: { repoURL: 'https://vmware-tanzu.github.io/helm-charts', chart: 'velero', version: '12.1.0' }, // Velero v1.18.1, the version of the CRDs imports/ holds
  // ---- end secrets and backups ----
  // ---- source and registry (issue 8 part A): GitLab CE and Harbor ----
  // renovate: datasource=helm registryUrl=https://charts.gitlab.io depName=gitlab
  gitlab: { repoURL: 'https://charts.gitlab.io', chart: 'gitlab', version: '9.8.4' }, // GitLab 18.8.4
  // renovate: datasource=helm registryUrl=https://helm.goharbor.io depName=harbor
  harbor: { repoURL: 'https://helm.goharbor.io', chart: 'harbor', version: '1.19.1' }, // Harbor 2.15.1
  // ---- end source and registry ----
  // ---- day two (issue 20): coordinated OS reboots ----
  // renovate: datasource=helm registryUrl=https://kubereboot.github.io/charts depName=kured
  kured: { repoURL: 'https://kubereboot.github.io/charts', chart: 'kured', version: '6.1.0' }, // kured 1.23.0
  // ---- end day two ----
  // ---- service mesh (issue 18): open-source Linkerd edge releases (docs/decisions/0121-linkerd-edge.md) ----
  // The edge Helm repository stamps each chart with the release's date version: edge-26.8.3 is
  // 2026.8.3 (linkerd/linkerd2 bin/compute-edge-version). The three move together (renovate.json
  // groups them), and cdk8s.yaml's policy CRD URLs name the same edge tag.
  // renovate: datasource=helm registryUrl=https://helm.linkerd.io/edge depName=linkerd-crds
  linkerdCrds: { repoURL: 'https://helm.linkerd.io/edge', chart: 'linkerd-crds', version: '2026.8.3' }, // Linkerd edge-26.8.3
  // renovate: datasource=helm registryUrl=https://helm.linkerd.io/edge depName=linkerd-control-plane
  linkerdControlPlane: { repoURL: 'https://helm.linkerd.io/edge', chart: 'linkerd-control-plane', version: '2026.8.3' }, // Linkerd edge-26.8.3
  // renovate: datasource=helm registryUrl=https://helm.linkerd.io/edge depName=linkerd2-cni
  linkerdCni: { repoURL: 'https://helm.linkerd.io/edge', chart: 'linkerd2-cni', version: '2026.8.3' }, // Linkerd edge-26.8.3 CNI plugin
  // renovate: datasource=helm registryUrl=https://charts.jetstack.io depName=trust-manager
  trustManager: { repoURL: 'https://charts.jetstack.io', chart: 'trust-manager', version: 'v0.24.0' },
  // ---- end service mesh ----
} as const satisfies Record<string, ChartVersion>;

/** Container images we render ourselves (not the ones upstream charts bring), `repository:tag`. */
export const IMAGES = {
  // ---- cluster core (issue 4): none; every core workload comes from a chart pinned above ----
  // ---- secrets and backups (issue 6) ----
  // One Vault version for the server, the injected agents and the vault-config Job (its CLI).
  // renovate: datasource=docker depName=hashicorp/vault
  vault: 'hashicorp/vault:2.0.4',
  // Velero's S3 object-store plugin, the line matching Velero 1.18 (plugin 1.14.x).
  // renovate: datasource=docker depName=velero/velero-plugin-for-aws
  veleroPluginForAws: 'velero/velero-plugin-for-aws:v1.14.4',
  // The upload tool of the PostgreSQL dumps and Vault snapshots (S3 to the RADOS Gateway, pruning by
  // age): one static binary, configured through environment variables (decision 0087).
  // renovate: datasource=docker depName=rclone/rclone
  rclone: 'rclone/rclone:1.75.1',
  // ---- end secrets and backups ----
  // ---- data and registry (issue 8 part A): PostgreSQL, Redis, their exporters, Harbor's setup Job ----
  // PostgreSQL 17: GitLab 18 needs 16 or 17 (19 will need 17); Harbor accepts 12 and newer.
  // renovate: datasource=docker depName=postgres
  postgres: 'postgres:17.9-bookworm',
  // renovate: datasource=docker depName=quay.io/prometheuscommunity/postgres-exporter
  postgresExporter: 'quay.io/prometheuscommunity/postgres-exporter:v0.18.1',
  // Redis 7.4 (ACL users; GitLab 18 and Harbor 2.15 support Redis 7).
  // renovate: datasource=docker depName=redis
  redis: 'redis:7.4.7',
  // renovate: datasource=docker depName=oliver006/redis_exporter
  redisExporter: 'oliver006/redis_exporter:v1.88.0',
  // The Harbor setup Job's interpreter: its script uses the standard library only.
  // renovate: datasource=docker depName=python
  harborSetup: 'python:3.13.9-slim-bookworm',
  // ---- end data and registry ----
  // ---- observability (issue 7): rendered here as plain YAML (charts/observability/) ----
  // renovate: datasource=docker depName=quay.io/prometheus/prometheus
  prometheus: 'quay.io/prometheus/prometheus:v3.13.3', // LTS line (supported until July 2027)
  // renovate: datasource=docker depName=quay.io/prometheus/alertmanager
  alertmanager: 'quay.io/prometheus/alertmanager:v0.32.0',
  // renovate: datasource=docker depName=docker.io/grafana/grafana
  grafana: 'docker.io/grafana/grafana:13.2.0',
  // renovate: datasource=docker depName=docker.io/grafana/loki
  loki: 'docker.io/grafana/loki:3.7.3',
  // renovate: datasource=docker depName=cr.fluentbit.io/fluent/fluent-bit
  fluentBit: 'cr.fluentbit.io/fluent/fluent-bit:5.0.8',
  // renovate: datasource=docker depName=quay.io/prometheus/node-exporter
  nodeExporter: 'quay.io/prometheus/node-exporter:v1.12.0',
  // renovate: datasource=docker depName=registry.k8s.io/kube-state-metrics/kube-state-metrics
  kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.18.0',
  // ---- end observability ----
  // ---- delivery (issue 8, part B): Jenkins, its build agents and the pipeline's tools ----
  // renovate: datasource=docker depName=docker.io/jenkins/jenkins
  jenkins: 'docker.io/jenkins/jenkins:2.580.1-lts-jdk21',
  // renovate: datasource=docker depName=docker.io/jenkins/inbound-agent
  jenkinsAgent: 'docker.io/jenkins/inbound-agent:3391.va_37fa_a_305d6d-4-jdk21',
  // Kaniko's original repository (GoogleContainerTools) is archived; this is the maintained
  // community fork (docs/decisions/0040-kaniko-status.md). A -debug variant: Jenkins needs a shell.
  // renovate: datasource=docker depName=ghcr.io/osscontainertools/kaniko
  kaniko: 'ghcr.io/osscontainertools/kaniko:v1.28.5-debug',
  // Pushes the image Kaniko built (a tarball) from its own container, the only one of the build
  // pod that holds the registry credential besides the scan check's (docs/decisions/0105-build-
  // without-the-registry-credential.md). The tag-specific debug image (busybox shell for Jenkins),
  // published by go-containerregistry's release (cloudbuild.yaml: crane/debug:$TAG_NAME).
  // renovate: datasource=docker depName=gcr.io/go-containerregistry/crane/debug
  crane: 'gcr.io/go-containerregistry/crane/debug:v0.21.9',
  // Node with git and curl: the pipeline's scan check, rollout wait, smoke tests and set-image.
  // renovate: datasource=docker depName=docker.io/library/node
  pipelineTools: 'docker.io/library/node:24.21.0-bookworm',
  // ---- end delivery ----
  // ---- day two (issue 20): k3s upgrades (charts/day-two/system-upgrade.ts) ----
  // The controller has no chart of its own upstream; its manifest is rendered here (decision 0097).
  // Keep cdk8s.yaml's Plan CRD URL at the same tag.
  // renovate: datasource=docker depName=rancher/system-upgrade-controller
  systemUpgradeController: 'rancher/system-upgrade-controller:v0.20.1',
  // The image of the cordon/drain step of every upgrade Job: the one the upstream manifest names
  // at v0.20.1 (manifests/system-upgrade-controller.yaml, SYSTEM_UPGRADE_JOB_KUBECTL_IMAGE).
  // renovate: datasource=docker depName=rancher/kubectl
  systemUpgradeKubectl: 'rancher/kubectl:v1.30.3',
  // ---- day two (issue 20): dependency updates (charts/day-two/renovate.ts) ----
  // Renovate's "full" image: Node, npm and the other tools preinstalled (binarySource=global), so
  // the postUpgradeTasks of renovate.json run without downloading tools (decision 0108). This
  // comment lets Renovate bump itself; the tag is `<version>-full`.
  // renovate: datasource=docker depName=renovate/renovate
  renovate: 'renovate/renovate:44.121.2-full',
  // ---- end day two ----
} as const satisfies Record<string, string>;

// ---- delivery (issue 8, part B): the Jenkins controller's plugins ---------------------------
/**
 * The plugins the Jenkins controller installs before it starts (jenkins-plugin-cli, with
 * `--latest false`: their dependencies resolve to the minimum versions these require, so a start
 * a month later installs the same set). `name -> exact version`.
 */
export const JENKINS_PLUGINS = {
  // renovate: datasource=jenkins-plugins depName=configuration-as-code
  'configuration-as-code': '2131.vb_a_13ed96f755',
  // renovate: datasource=jenkins-plugins depName=job-dsl
  'job-dsl': '3732.v9a_c49a_61a_313',
  // renovate: datasource=jenkins-plugins depName=kubernetes
  kubernetes: '4557.ve746270f672f',
  // renovate: datasource=jenkins-plugins depName=workflow-aggregator
  'workflow-aggregator': '608.v67378e9d3db_1',
  // renovate: datasource=jenkins-plugins depName=git
  git: '5.10.1',
  // renovate: datasource=jenkins-plugins depName=gitlab-plugin
  'gitlab-plugin': '1.2154.v00193eff6f9a_',
  // renovate: datasource=jenkins-plugins depName=credentials-binding
  'credentials-binding': '728.v902a_273b_8947',
  // renovate: datasource=jenkins-plugins depName=prometheus
  prometheus: '860.v532442b_44e9a_',
  // Sign-in through GitLab (OpenID Connect) and group-based permissions (docs/decisions/0120).
  // renovate: datasource=jenkins-plugins depName=oic-auth
  'oic-auth': '4.715.vf202e4229f61',
  // renovate: datasource=jenkins-plugins depName=matrix-auth
  'matrix-auth': '3.2.8',
} as const satisfies Record<string, string>;
// ---- end of the delivery block ----------------------------------------------------------------

/** The k3s release every node installs (`INSTALL_K3S_VERSION`; see the README's bootstrap runbook). */
// renovate: datasource=github-releases depName=k3s-io/k3s
export const K3S_VERSION = 'v1.34.11+k3s1';

/** Binaries the gateway downloads at boot, with their SHA-256 checksums. */
export interface DownloadVersion {
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
}

// --- gateway (edge issue): downloads verified by SHA-256 before they are installed --------------
// The checksums are the published ones (each release's checksums.txt / the vendor's .sha256):
// cloud-init compares them with `sha256sum --check` and stops the boot on a mismatch. Bump the
// version, the URL and the checksum together.
export const GATEWAY_DOWNLOADS = {
  /** Headscale's official Debian package (amd64), from its GitHub release. */
  headscale: {
    // renovate: datasource=github-releases depName=juanfont/headscale
    version: '0.29.4',
    url: 'https://github.com/juanfont/headscale/releases/download/v0.29.4/headscale_0.29.4_linux_amd64.deb',
    sha256: '1f65364716ae1fcc3845b1a65a47583469022e9c6f194dfdfeb25403f89f0841',
  },
  /** The Tailscale client (static build, amd64): the gateway joins its own mesh to reach the cluster. */
  tailscale: {
    // renovate: datasource=github-releases depName=tailscale/tailscale
    version: '1.102.4',
    url: 'https://pkgs.tailscale.com/stable/tailscale_1.102.4_amd64.tgz',
    sha256: '50748df1045e60b5b695f19f4c56b0da36c019948b440fb456b6584a50f0d8b9',
  },
} as const satisfies Record<string, DownloadVersion>;

/**
 * Debian packages the gateway installs (Debian 12 "bookworm"), `name -> the oldest version it
 * accepts`: apt installs the newest security update of the version's upstream branch (an apt pin
 * on `2.6.*`), since Debian's security mirror keeps only the latest one (decision 0070).
 */
export const GATEWAY_PACKAGES = {
  // renovate: datasource=deb depName=haproxy registryUrl=https://deb.debian.org/debian-security?suite=bookworm-security&components=main&binaryArch=amd64
  haproxy: '2.6.12-1+deb12u4',
} as const satisfies Record<string, string>;
// --- end of the gateway block -------------------------------------------------------------------

