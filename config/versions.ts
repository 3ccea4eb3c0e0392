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
  snapshotController: { repoURL: 'https://piraeus.io/helm-charts', chart: 'snapshot-controller', version: '5.0.3' },
  // ---- end cluster core ----
} as const satisfies Record<string, ChartVersion>;

/** Container images we render ourselves (not the ones upstream charts bring), `repository:tag`. */
export const IMAGES = {
  // ---- cluster core (issue 4): none; every core workload comes from a chart pinned above ----
} as const satisfies Record<string, string>;

/** The k3s release every node installs (`INSTALL_K3S_VERSION`; see the README's bootstrap runbook). */
// renovate: datasource=github-releases depName=k3s-io/k3s
export const K3S_VERSION = 'v1.34.11+k3s1';

/** Binaries the gateway downloads at boot, with their SHA-256 checksums. */
export interface DownloadVersion {
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
}

export const GATEWAY_DOWNLOADS = {} as const satisfies Record<string, DownloadVersion>;
