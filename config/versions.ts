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
export const CHARTS = {} as const satisfies Record<string, ChartVersion>;

/** Container images we render ourselves (not the ones upstream charts bring), `repository:tag`. */
export const IMAGES = {} as const satisfies Record<string, string>;

/** Binaries the gateway downloads at boot, with their SHA-256 checksums. */
export interface DownloadVersion {
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
}

export const GATEWAY_DOWNLOADS = {} as const satisfies Record<string, DownloadVersion>;
