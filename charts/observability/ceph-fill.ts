/**
 * The Ceph fill levels the alert and the dashboards show, from the model's `ceph.nearfullRatio`
 * (Ceph's `mon_osd_nearfull_ratio`, at which Ceph itself reports HEALTH_WARN): the platform warns
 * ten points earlier, so there is time to act before Ceph does.
 * @see https://docs.ceph.com/en/latest/rados/configuration/mon-config-ref/#storage-capacity
 */
import type { Panel } from './dashboards/builder';

/** How far below Ceph's nearfull ratio the platform's own warning starts. */
export const EARLY_WARNING_MARGIN = 0.1;

export interface CephFill {
  /** The CephClusterNearFull alert and the dashboards' orange. */
  readonly warning: number;
  /** Ceph's nearfull ratio: the dashboards' red. */
  readonly nearfull: number;
}

export function cephFill(nearfullRatio: number): CephFill {
  return { warning: Math.round((nearfullRatio - EARLY_WARNING_MARGIN) * 100) / 100, nearfull: nearfullRatio };
}

/** A ratio as a whole percentage, for alert and panel texts. */
export const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;

/** Ceph's raw use as a stat panel, orange at the warning and red at the nearfull ratio. */
export function cephUsedStat(fill: CephFill, title: string, width: number): Panel {
  return { kind: 'stat', title, width, height: 4, unit: 'percentunit', thresholds: [fill.warning, fill.nearfull], queries: [{ expr: 'max(ceph_cluster_total_used_raw_bytes) / max(ceph_cluster_total_bytes)' }] };
}
