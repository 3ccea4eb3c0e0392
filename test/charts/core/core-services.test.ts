/**
 * The cluster core as the whole render installs it: the Applications' waves and pinned charts, and
 * the properties no single service can check (no other LoadBalancer, no Secret in Git). Each
 * service's own behaviour is tested alone in its file (cert-manager, metallb, nginx-ingress, ceph-csi).
 */
import { describe, expect, it } from 'vitest';
import { CHARTS } from '../../../config/versions';
import { defaultRender, kubeObjects } from '../../support/render';

const objects = () => kubeObjects(defaultRender());
const find = (kind: string, name: string) => objects().find(({ object }) => object.kind === kind && object.metadata.name === name)?.object as any;
const app = (name: string) => find('Application', name);
const helmSource = (name: string) => (app(name).spec.sources ?? [app(name).spec.source]).find((s: any) => s.chart);

describe('the cluster core services', () => {
  it('install every operator from its pinned chart, in sync waves: operators before their custom resources', () => {
    const expected: [string, { chart: string; version: string } | undefined, number][] = [
      ['argocd', CHARTS.argocd, -5],
      ['cert-manager', CHARTS.certManager, 0],
      ['metallb', CHARTS.metallb, 0],
      ['snapshot-controller', CHARTS.snapshotController, 0],
      ['ceph-csi', CHARTS.cephCsiRbd, 1],
      ['cert-manager-config', undefined, 1],
      ['metallb-config', undefined, 1],
      ['nginx-ingress', CHARTS.nginxIngress, 2],
      ['ceph-csi-config', undefined, 2],
    ];
    for (const [name, chart, wave] of expected) {
      expect(app(name).metadata.annotations['argocd.argoproj.io/sync-wave'], name).toBe(String(wave));
      if (chart) expect({ chart: helmSource(name).chart, version: helmSource(name).targetRevision }, name).toEqual({ chart: chart.chart, version: chart.version });
      else expect(helmSource(name), name).toBeUndefined();
    }
  });

  it('has one LoadBalancer, the ingress controller\'s (a chart value): no Service of ours is a LoadBalancer or a NodePort', () => {
    for (const { object } of objects().filter(({ object }) => object.kind === 'Service')) {
      expect(['LoadBalancer', 'NodePort']).not.toContain((object.spec as any).type);
    }
  });

  it('keeps every credential out of Git: no Secret anywhere in dist/ (the Cloudflare token and the Ceph key are created by hand)', () => {
    expect(objects().filter(({ object }) => object.kind === 'Secret')).toEqual([]);
  });
});
