/**
 * The Ceph fill levels the alert and the dashboards show, from the model's `ceph.nearfullRatio`
 * (Ceph's `mon_osd_nearfull_ratio`, at which Ceph itself reports HEALTH_WARN): the platform warns
 * ten points earlier, so there is time to act before Ceph does.
 * @see https://docs.ceph.com/en/latest/rados/configuration/mon-config-ref/#storage-capacity
 */

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
