/**
 * The Ceph fill levels follow the model's `ceph.nearfullRatio` (Ceph's mon_osd_nearfull_ratio):
 * the alert ten points earlier, the dashboards' orange and red at the alert and at Ceph's ratio.
 */
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { cephRules } from '../../../charts/observability/rules/platform';
import { platformDashboards } from '../../../charts/observability/dashboards';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const seed = loadDefaultPlatform();
/** The thresholds of every panel whose query reads Ceph's raw use, by dashboard uid. */
function cephPanels(dashboards: Record<string, Json>) {
  return Object.entries(dashboards).flatMap(([uid, board]) =>
    (board.panels as Json[])
      .filter((panel) => JSON.stringify(panel.targets ?? []).includes('ceph_cluster_total_used_raw_bytes) / max(ceph_cluster_total_bytes)'))
      .map((panel) => ({ uid, steps: panel.fieldConfig.defaults.thresholds.steps.map((step: Json) => step.value) })),
  );
}

describe('Ceph fill levels', () => {
  it('GIVEN ceph.nearfullRatio 0.8 WHEN the rules render THEN CephClusterNearFull fires above 0.7 and names both levels', () => {
    const model = { ...seed, ceph: { ...seed.ceph, nearfullRatio: 0.8 } };
    const rule = cephRules({ platform: model, jobs: [] }).rules.find((r) => 'alert' in r && r.alert === 'CephClusterNearFull')!;
    expect(rule.expr).toMatch(/ > 0\.7$/);
    expect(JSON.stringify(rule)).toContain('Ceph warns at 80% (ceph.nearfullRatio)');
  });

  it('GIVEN ceph.nearfullRatio 0.8 WHEN the dashboards render THEN the Ceph and Backups capacity panels turn orange at 0.7 and red at 0.8, and the nearfull line sits at 0.8', () => {
    const dashboards = platformDashboards({ cephNearfullRatio: 0.8 });
    const panels = cephPanels(dashboards);
    expect(panels.map((p) => p.uid).sort()).toEqual(['platform-backups', 'platform-ceph']);
    for (const panel of panels) expect(panel.steps.slice(-2), panel.uid).toEqual([0.7, 0.8]);
    expect(JSON.stringify(dashboards['platform-ceph'])).toContain('0.8 * max(ceph_cluster_total_bytes)');
  });
});
