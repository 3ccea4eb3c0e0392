/**
 * Ceph RBD volumes through CSI, on the external Ceph cluster of `ceph`:
 *  - `snapshot-controller` (wave 0): the VolumeSnapshot CRDs and controller, which k3s does not
 *    ship; ceph-csi's snapshotter sidecar and the VolumeSnapshotClass need them;
 *  - `ceph-csi` (wave 1): the official ceph-csi-rbd chart (provisioner and node plugin);
 *  - `ceph-csi-config` (wave 2): our default StorageClass `ceph-rbd` and VolumeSnapshotClass.
 * The Ceph user's key is a Secret created by hand (README runbook), never rendered.
 *
 * @see https://github.com/ceph/ceph-csi/blob/devel/docs/deploy-rbd.md
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { Platform } from '../../config';
import { CHARTS } from '../../config/versions';
import { standardLabels } from '../lib/labels';
import { CEPH_CSI_NODEPLUGIN } from '../lib/host-network';
import { PlatformNamespace } from '../lib/namespace';
import {
  dnsAccess,
  hosts,
  kubeApiAccess,
  scrapedBy,
  type Connection,
  type NetworkPlan,
  type Workload,
} from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, CSI_DRIVER, resources } from '../lib/kinds';
import { STORAGE_CLASS } from '../lib/placement';
import { RESTRICTED_CONTAINER_VALUES, restrictedPodValues } from '../lib/security-context';
import type { CephCsiRbdValues, SnapshotControllerValues } from '../../imports/charts';

export const CEPH_CSI_NAMESPACE = CEPH_CSI_NODEPLUGIN.namespace;
export const SNAPSHOT_NAMESPACE = 'snapshot-controller';
export const CSI_DRIVER_NAME = 'rbd.csi.ceph.com';
/** The Secret (created by hand, see the README) with the Ceph client's `userID` and `userKey`. */
export const CEPH_SECRET = 'csi-rbd-secret';

/** ceph-csi's chart labels pods `component: provisioner|nodeplugin`, not the recommended labels. */
/**
 * The release `ceph-csi` does not contain the chart's name `ceph-csi-rbd`, so the chart names the
 * provisioner's ServiceAccount `<release>-<chart>-provisioner` (charts/ceph-csi-rbd/templates/_helpers.tpl
 * `ceph-csi-rbd.provisioner.fullname`, `ceph-csi-rbd.serviceAccountName.provisioner`).
 */
export const PROVISIONER: Workload = { namespace: CEPH_CSI_NAMESPACE, name: 'provisioner', selectorLabel: 'component', ports: { metrics: 8080 }, serviceAccount: 'ceph-csi-ceph-csi-rbd-provisioner' };
/** The node plugin: on the host network, so Prometheus' side of it lives in charts/lib (decision 0110). */
export const NODEPLUGIN = CEPH_CSI_NODEPLUGIN;
export const SNAPSHOT_CONTROLLER: Workload = { namespace: SNAPSHOT_NAMESPACE, name: 'snapshot-controller', ports: { http: 8080 } };

/** Ceph's monitor ports (msgr2, msgr1) and the OSD/MGR port range. */
const CEPH_PORTS = [{ port: 3300 }, { port: 6789 }, { port: 6800, endPort: 7300 }];

/** The Ceph hosts: the monitor addresses (the seed's three Ceph nodes also run the OSDs). */
function cephHosts(platform: Platform) {
  return hosts('ceph cluster', platform.ceph.monitors.map((monitor) => monitor.split(':')[0]));
}

/** What a service of this file reads of the render for its namespace: nothing of the model, the plan for its policies. */
export interface CephNamespaceProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/** The VolumeSnapshot CRDs and controller (piraeus' chart), in their own namespace. */
export class SnapshotController extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'snapshot-controller',
    namespace: SNAPSHOT_NAMESPACE,
    syncWave: 0,
    helm: () => ({
      ...CHARTS.snapshotController,
      values: {
        controller: {
          replicaCount: 2,
          podSecurityContext: restrictedPodValues({ uid: 65532 }),
          securityContext: RESTRICTED_CONTAINER_VALUES,
          resources: resources('10m', '32Mi', '200m', '128Mi'),
        },
        // The chart's only webhook is the VolumeGroupSnapshotContent conversion webhook (v1beta1/
        // v1beta2 group snapshots, which this platform never created). Off, chart 5.2.0 renders no
        // conversion stanza in the CRDs, no webhook Deployment/Service and no TLS Secret; before
        // 5.2.0 it still pointed the CRD at the missing Service and generated a new self-signed
        // Secret (genSelfSignedCert, `lookup` is empty under Argo CD) on every render
        // (piraeusdatastore/helm-charts, tag snapshot-controller-5.2.0,
        // charts/snapshot-controller/templates/crds.yaml, Makefile, values.yaml).
        webhook: { enabled: false },
      } satisfies SnapshotControllerValues,
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
      customResourceGroups: ['snapshot.storage.k8s.io'],
    }),
    connections: (platform: Platform): Connection[] => [
      dnsAccess(SNAPSHOT_CONTROLLER),
      ...kubeApiAccess(SNAPSHOT_CONTROLLER, platform),
      scrapedBy(SNAPSHOT_CONTROLLER, 'http'),
    ],
  };

  constructor(scope: Construct, id: string, props: CephNamespaceProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: SNAPSHOT_NAMESPACE, workloads: [SNAPSHOT_CONTROLLER], plan: props.plan });
  }
}

/** ceph-csi's RBD provisioner and node plugin from the official chart, in their privileged namespace. */
export class CephCsi extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'ceph-csi',
    namespace: CEPH_CSI_NAMESPACE,
    // After snapshot-controller: the provisioner's snapshotter sidecar needs the snapshot CRDs.
    syncWave: 1,
    helm: (platform: Platform) => ({
      ...CHARTS.cephCsiRbd,
      values: {
        csiConfig: [{ clusterID: platform.ceph.clusterId, monitors: [...platform.ceph.monitors] }],
        // Ours are rendered in ceph-csi-config; the credentials are created by hand.
        storageClass: { create: false },
        secret: { create: false },
        driverName: CSI_DRIVER_NAME,
        // k3s keeps the kubelet's default root directory.
        kubeletDir: '/var/lib/kubelet',
        logLevel: 1,
        provisioner: {
          // Upstream runs three with hard anti-affinity per node: never more than there are nodes.
          replicaCount: Math.min(3, Object.keys(platform.nodes).length),
          provisioner: { resources: resources('25m', '64Mi', '500m', '256Mi') },
          attacher: { resources: resources('10m', '32Mi', '200m', '128Mi') },
          resizer: { resources: resources('10m', '32Mi', '200m', '128Mi') },
          snapshotter: { resources: resources('10m', '32Mi', '200m', '128Mi') },
        },
        nodeplugin: {
          registrar: { resources: resources('10m', '32Mi', '100m', '64Mi') },
          // Chart 3.17.0 also gives these to the provisioner pod's three cephcsi containers
          // (csi-rbdplugin, csi-rbdplugin-controller, liveness-prometheus): it has no
          // provisioner-side key for them (templates/provisioner-deployment.yaml).
          plugin: { resources: resources('50m', '128Mi', '1', '1Gi') },
        },
      } satisfies CephCsiRbdValues,
      clusterResources: [CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CSI_DRIVER],
    }),
    connections: (platform: Platform): Connection[] =>
      [PROVISIONER, NODEPLUGIN].flatMap((workload) => [
        dnsAccess(workload),
        ...kubeApiAccess(workload, platform),
        { from: { workload }, to: { network: cephHosts(platform) }, ports: CEPH_PORTS, purpose: 'Ceph monitors and OSDs' },
        scrapedBy(workload),
      ]),
  };

  constructor(scope: Construct, id: string, props: CephNamespaceProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: CEPH_CSI_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason:
        'the ceph-csi RBD node plugin maps block devices: privileged containers, hostNetwork, hostPID and host paths (/dev, /sys, kubelet dirs), and the provisioner mounts /dev, /sys and /lib/modules',
      workloads: [PROVISIONER, NODEPLUGIN],
      plan: props.plan,
    });
  }
}

/** What `ceph-csi-config` reads of the model (`ceph.clusterId`, `ceph.rbdPool`). */
export interface CephCsiConfigProps {
  /** The Ceph cluster's fsid, as ceph-csi's `csiConfig` names it. */
  readonly clusterId: string;
  /** The RBD pool the volumes' images live in. */
  readonly rbdPool: string;
}

/**
 * The fields of a VolumeSnapshotClass (snapshot.storage.k8s.io/v1), which neither cdk8s-plus-28
 * nor imports/ types: kubernetes-csi/external-snapshotter, client/config/crd/
 * snapshot.storage.k8s.io_volumesnapshotclasses.yaml.
 */
interface VolumeSnapshotClassFields {
  readonly driver: string;
  readonly deletionPolicy: 'Delete' | 'Retain';
  readonly parameters?: Readonly<Record<string, string>>;
}

/** Our default StorageClass `ceph-rbd` and the VolumeSnapshotClass of the same name. */
export class CephCsiConfig extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'ceph-csi-config',
    namespace: CEPH_CSI_NAMESPACE,
    syncWave: 2,
  };

  constructor(scope: Construct, id: string, props: CephCsiConfigProps) {
    super(scope, id);
    const secretParameters = (prefix: string) => ({
      [`csi.storage.k8s.io/${prefix}-secret-name`]: CEPH_SECRET,
      [`csi.storage.k8s.io/${prefix}-secret-namespace`]: CEPH_CSI_NAMESPACE,
    });
    new k8s.KubeStorageClass(this, 'storage-class', {
      metadata: {
        name: STORAGE_CLASS,
        labels: standardLabels(STORAGE_CLASS, 'storage-class'),
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: CSI_DRIVER_NAME,
      parameters: {
        clusterID: props.clusterId,
        pool: props.rbdPool,
        imageFeatures: 'layering',
        'csi.storage.k8s.io/fstype': 'ext4',
        ...secretParameters('provisioner'),
        ...secretParameters('controller-expand'),
        ...secretParameters('node-stage'),
      },
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      // RBD images are network volumes: binding waits for the pod, so the volume is created for
      // the node the scheduler picks (the node the model places the service on).
      volumeBindingMode: 'WaitForFirstConsumer',
      mountOptions: ['discard'],
    });
    const snapshotClass: VolumeSnapshotClassFields = {
      driver: CSI_DRIVER_NAME,
      deletionPolicy: 'Delete',
      parameters: { clusterID: props.clusterId, ...secretParameters('snapshotter') },
    };
    new ApiObject(this, 'snapshot-class', {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: {
        name: STORAGE_CLASS,
        labels: {
          ...standardLabels(STORAGE_CLASS, 'volume-snapshot-class'),
          // Velero's CSI support picks the class with this label for the driver's volumes.
          'velero.io/csi-volumesnapshot-class': 'true',
        },
        annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
      },
      ...snapshotClass,
    });
  }
}
