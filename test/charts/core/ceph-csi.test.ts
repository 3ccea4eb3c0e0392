import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile, type Platform } from '../../../config';
import { CHARTS } from '../../../config/versions';
import { CephCsi, CephCsiConfig, SnapshotController, type CephCsiConfigProps } from '../../../charts/core/ceph-csi';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { validateCoreObject } from '../../support/schemas';
import { ROOT } from '../../support/render';

const platform = loadDefaultPlatform();
const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
const cephValues = (model = platform) => CephCsi.registration.helm!(model).values as any;

const CLASSES: CephCsiConfigProps = { clusterId: 'c0ffee00-0000-4000-8000-000000000001', rbdPool: 'volumes' };

/** Builds the catalogue's entry `name` from a model, as the render does (these entries need no plan). */
function fromCatalogue(name: string, model: Platform): any[] {
  const chart = Testing.chart();
  PLATFORM_SERVICES.find((s) => s.name === name)!.build(chart, model, { connections: [] });
  return Testing.synth(chart);
}

function synthClasses(props: CephCsiConfigProps = CLASSES): any[] {
  const chart = Testing.chart();
  new CephCsiConfig(chart, 'ceph-csi-config', props);
  return Testing.synth(chart);
}

function synthCephCsi(): any[] {
  const chart = Testing.chart();
  new CephCsi(chart, 'ceph-csi', { plan: { connections: CephCsi.registration.connections!(platform) } });
  return Testing.synth(chart);
}

const semver = (version: string) => version.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map(Number);
const atLeast = (version: string, floor: string) => {
  const [a, b] = [semver(version), semver(floor)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
};

describe('snapshot-controller', () => {
  it('GIVEN its conversion webhook is off WHEN rendered THEN the chart is a version that renders no conversion stanza and no self-signed Secret for it', () => {
    // Before 5.2.0 the chart pointed volumegroupsnapshotcontents' conversion at the missing webhook
    // Service and generated a fresh certificate on every render: never in sync under Argo CD.
    const helm = SnapshotController.registration.helm!(platform);
    expect((helm.values as any).webhook).toEqual({ enabled: false });
    expect(atLeast(helm.version, '5.2.0'), `snapshot-controller chart ${helm.version}`).toBe(true);
  });

  it('GIVEN its registration WHEN ordered THEN it installs the snapshot CRDs before ceph-csi, whose snapshotter sidecar needs them', () => {
    expect(SnapshotController.registration.helm!(platform).customResourceGroups).toEqual(['snapshot.storage.k8s.io']);
    expect(SnapshotController.registration.syncWave).toBeLessThan(CephCsi.registration.syncWave);
  });
});

describe('ceph-csi', () => {
  it('GIVEN the model WHEN installed THEN the pinned chart knows the Ceph cluster and creates neither a StorageClass nor credentials', () => {
    const helm = CephCsi.registration.helm!(platform);
    expect({ chart: helm.chart, version: helm.version }).toEqual({ chart: CHARTS.cephCsiRbd.chart, version: CHARTS.cephCsiRbd.version });
    expect(cephValues().csiConfig).toEqual([{ clusterID: platform.ceph.clusterId, monitors: platform.ceph.monitors }]);
    expect(cephValues().secret).toEqual({ create: false });
    expect(cephValues().storageClass).toEqual({ create: false });
  });

  it('GIVEN a one-node platform WHEN installed THEN it runs one provisioner (hard anti-affinity per node)', () => {
    expect(cephValues(single).provisioner.replicaCount).toBe(1);
  });

  it('GIVEN its own connections as the plan WHEN rendered THEN its namespace is privileged with the node plugin as the reason, and valid', () => {
    const objects = synthCephCsi();
    const namespace = objects.find((o) => o.kind === 'Namespace');
    expect(namespace.metadata.name).toBe('ceph-csi');
    expect(namespace.metadata.annotations['policy.platform-synthesizer.io/exceptions']).toMatch(/^K8S-SEC-11: the ceph-csi RBD node plugin/);
    for (const object of objects) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });
});

describe('ceph-csi-config', () => {
  it('GIVEN a cluster and a pool WHEN rendered THEN a default expandable StorageClass bound on first consumer, and a snapshot class, reference them', () => {
    const objects = synthClasses();
    expect(objects.map((o) => o.kind)).toEqual(['StorageClass', 'VolumeSnapshotClass']);
    const [sc, snap] = objects;
    expect(sc.metadata.name).toBe('ceph-rbd');
    expect(sc.metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    expect(sc.provisioner).toBe('rbd.csi.ceph.com');
    expect(sc.allowVolumeExpansion).toBe(true);
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    expect(sc.parameters).toMatchObject({ clusterID: CLASSES.clusterId, pool: 'volumes', 'csi.storage.k8s.io/provisioner-secret-name': 'csi-rbd-secret' });
    expect(snap.metadata.name).toBe('ceph-rbd');
    expect(snap).toMatchObject({ driver: 'rbd.csi.ceph.com', deletionPolicy: 'Delete', parameters: { clusterID: CLASSES.clusterId } });
    expect(snap.metadata.labels['velero.io/csi-volumesnapshot-class']).toBe('true');
  });

  it('GIVEN the classes WHEN checked THEN they name the hand-made Secret and never render one', () => {
    const objects = synthClasses();
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const prefix of ['provisioner', 'controller-expand', 'node-stage']) {
      expect(objects[0].parameters[`csi.storage.k8s.io/${prefix}-secret-name`]).toBe('csi-rbd-secret');
      expect(objects[0].parameters[`csi.storage.k8s.io/${prefix}-secret-namespace`]).toBe('ceph-csi');
    }
    expect(validateCoreObject(objects[0])).toBeUndefined();
  });

  it('GIVEN the seed model WHEN the catalogue builds ceph-csi-config THEN the classes use ceph.clusterId and ceph.rbdPool', () => {
    const [sc, snap] = fromCatalogue('ceph-csi-config', platform);
    expect(sc.parameters).toMatchObject({ clusterID: platform.ceph.clusterId, pool: platform.ceph.rbdPool });
    expect(snap.parameters.clusterID).toBe(platform.ceph.clusterId);
  });
});
