import { Chart, Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { cephCsi, cephCsiConfig, snapshotController } from '../../../charts/core/ceph-csi';
import type { ServiceDefinition } from '../../../charts/lib/service';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';

const platform = loadDefaultPlatform();
const objects = () => kubeObjects(defaultRender());
const find = (kind: string, name: string) => objects().find(({ object }) => object.kind === kind && object.metadata.name === name)?.object as any;
const app = (name: string) => find('Application', name);
const helmSource = (name: string) => (app(name).spec.sources ?? [app(name).spec.source]).find((s: any) => s.chart);
const valuesOf = (name: string) => helmSource(name).helm.valuesObject;

function synth(service: ServiceDefinition) {
  const chart = new Chart(Testing.app(), 'test');
  service.build(chart, platform, { connections: [] });
  return Testing.synth(chart);
}

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

  it('Ceph: the cluster from the model, a default expandable StorageClass bound on first consumer, a snapshot class, no credentials', () => {
    const values = valuesOf('ceph-csi');
    expect(values.csiConfig).toEqual([{ clusterID: platform.ceph.clusterId, monitors: platform.ceph.monitors }]);
    expect(values.secret).toEqual({ create: false });
    expect(values.storageClass).toEqual({ create: false });
    const sc = find('StorageClass', 'ceph-rbd');
    expect(sc.metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    expect(sc.provisioner).toBe('rbd.csi.ceph.com');
    expect(sc.allowVolumeExpansion).toBe(true);
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    expect(sc.parameters).toMatchObject({ clusterID: platform.ceph.clusterId, pool: 'kubernetes', 'csi.storage.k8s.io/provisioner-secret-name': 'csi-rbd-secret' });
    const snap = find('VolumeSnapshotClass', 'ceph-rbd');
    expect(snap).toMatchObject({ driver: 'rbd.csi.ceph.com', deletionPolicy: 'Delete', parameters: { clusterID: platform.ceph.clusterId } });
    expect(find('Namespace', 'ceph-csi').metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-SEC-11: the ceph-csi RBD node plugin/);
  });

  it('follows the model: a one-node platform gets one provisioner and one ingress controller (one per node)', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    expect((cephCsi.helm!(single).values as any).provisioner.replicaCount).toBe(1);
  });

  it('builds each service standalone without a plan it does not need', () => {
    expect(synth(cephCsiConfig).map((o) => o.kind)).toEqual(['StorageClass', 'VolumeSnapshotClass']);
    expect(snapshotController.syncWave).toBeLessThan(cephCsi.syncWave);
  });
});
