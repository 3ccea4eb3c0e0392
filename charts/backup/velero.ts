/**
 * Velero: daily backups kept `backups.retentionDays` in an S3 bucket: off site in AWS
 * (`backups.offsite`, the `backup` Terraform stack), or else the Ceph RADOS Gateway.
 *  - `velero` (wave 4): the official chart with the S3 (AWS) plugin, CSI snapshot support,
 *    metrics, and the node agent that runs Velero's data mover; the node agent's ConfigMap.
 *  - `velero-config` (wave 5): our BackupStorageLocation (the off-site bucket, or `ceph.rgw` with
 *    path-style addressing) and the daily Schedule, whose namespaces are derived from the render: every namespace with a
 *    PersistentVolumeClaim, a StatefulSet volume claim template, or a chart that creates claims.
 *
 * Volumes are CSI snapshots of the `ceph-rbd` volumes, and the data mover copies each snapshot
 * with kopia into the bucket, then deletes the snapshot: the volume data leaves the RBD pool it
 * protects. See docs/decisions/0022-velero-csi-snapshots.md, 0102-velero-data-mover.md and
 * 0104-off-site-backups-and-restore.md.
 *
 * @see https://velero.io/docs/v1.18/csi-snapshot-data-movement/
 */
import { ApiObject, type Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { Platform } from '../../config';
import { CHARTS, IMAGES } from '../../config/versions';
// Types only: the render path loads no generated classes it does not need; the custom resources
// are ApiObjects whose spec is the generated type (a misspelt field fails the type check).
import type { BackupStorageLocationSpec } from '../../imports/velero-backupstoragelocation-velero.io';
import type { ScheduleSpec } from '../../imports/velero-schedule-velero.io';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, resources } from '../lib/kinds';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { INTERNET, dnsAccess, hosts, kubeApiAccess, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import type { RenderSummary, ServiceRegistration } from '../lib/service';
import {
  RESTRICTED_CONTAINER_SECURITY,
  VELERO_NODE_AGENT_CONTAINER_SECURITY,
  VELERO_NODE_AGENT_POD_SECURITY,
  restrictedPodValues,
} from '../lib/security-context';
import type { VeleroValues } from '../../imports/charts';
import { VELERO_SCHEDULE } from '../lib/backup-jobs';

export const VELERO_NAMESPACE = 'velero';
/** The Helm release: names the Deployment, its ServiceAccount and the metrics Service `velero`. */
export const VELERO_RELEASE = 'velero';
/** The one backup storage location, the default for every backup. */
export const STORAGE_LOCATION = 'default';
/** The daily Schedule; its backups are labelled `velero.io/schedule-name: daily`. */
export const SCHEDULE_NAME = VELERO_SCHEDULE;
/** How long Velero waits for a CSI snapshot to be ready before the backup fails. */
const CSI_SNAPSHOT_TIMEOUT = '10m0s';

/**
 * The Velero server and its node agent: the chart labels both `app.kubernetes.io/name: velero`
 * (templates/deployment.yaml and templates/node-agent-daemonset.yaml, vmware-tanzu/helm-charts
 * tag velero-12.1.0), so one NetworkPolicy covers both; both serve metrics on 8085.
 */
export const VELERO_SERVER: Workload = { namespace: VELERO_NAMESPACE, name: 'velero', ports: { metrics: 8085 } };

/**
 * The pods Velero starts itself: the data mover pods the node agent creates for each volume
 * (labelled from the node agent's ConfigMap `podLabels`) and the kopia repository maintenance
 * Jobs the server creates (labelled from the maintenance ConfigMap's `global.podLabels`). They
 * read the API server and the bucket, and accept no connection.
 * Velero v1.18: pkg/types/node_agent.go and pkg/types/repo_maintenance.go (PodLabels),
 * pkg/controller/data_upload_controller.go and pkg/repository/maintenance/maintenance.go (applied).
 */
export const VELERO_WORKERS: Workload = {
  namespace: VELERO_NAMESPACE,
  name: 'velero-data-mover',
  receivesNothing: true,
  // Data mover pods inherit the node agent's ServiceAccount (pkg/exposer: `ServiceAccountName: podInfo.serviceAccount`),
  // which the chart sets to the server's (charts/velero/templates/node-agent-daemonset.yaml `velero.serverServiceAccount`);
  // maintenance Jobs run as the server's too.
  serviceAccount: VELERO_RELEASE,
};

/**
 * The storage location's keys (the off-site bucket's IAM user `velero-backup`, or the RADOS
 * Gateway user), an AWS credentials file under the key `cloud`, in a Secret the operator creates
 * by hand from the AWS CLI or the password manager (README, Backups). The storage location
 * names it (`spec.credential`): Velero, its node agent, its data mover pods and the maintenance
 * Jobs read it through the API server. A Vault agent cannot serve them: the data mover pods copy
 * only the node agent's pod template (Velero v1.18 pkg/exposer/image.go getInheritedPodInfo), not
 * what an admission webhook injects. Decision 0102.
 */
export const VELERO_CREDENTIALS = { name: 'velero-credentials', key: 'cloud' } as const;

/** The node agent's data-path configuration (read once at its start, `--node-agent-configmap`). */
export const NODE_AGENT_CONFIG = 'velero-node-agent';

/** What one data mover pod may use: kopia hashes and compresses one volume at a time per node. */
const DATA_MOVER_RESOURCES = { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '1Gi' } as const;

/**
 * The RADOS Gateway as the NetworkPolicy and the storage location need it: its URL, address and
 * port. The model guarantees an http(s) URL without a path whose host is an IPv4 address
 * (config/schema.ts, `ceph.rgw.endpoint`), so this only reads it.
 */
export function rgwEndpoint(platform: Platform): { url: string; address: string; port: number } {
  const url = platform.ceph.rgw.endpoint;
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { url, address: parsed.hostname, port };
}

/** Where Velero's one storage location keeps the backups. */
export interface BackupStorage {
  /** The bucket (`backups.offsite.bucket`, or else `ceph.rgw.bucket`). */
  readonly bucket: string;
  /** The bucket's region (`backups.offsite.region`, or else `backups.region`). */
  readonly region: string;
  /**
   * The RADOS Gateway's URL (`ceph.rgw.endpoint`), addressed by path.
   * @default - AWS S3, addressed by virtual host in `region`
   */
  readonly s3Url?: string;
}

/** The storage location the model names: the off-site bucket when there is one, or else the RADOS Gateway. */
export function backupStorage(platform: Platform): BackupStorage {
  const offsite = platform.backups.offsite;
  if (offsite) return { bucket: offsite.bucket, region: offsite.region };
  return { bucket: platform.ceph.rgw.bucket, region: platform.backups.region, s3Url: rgwEndpoint(platform).url };
}

/**
 * The AWS plugin's location config (vmware-tanzu/velero-plugin-for-aws backupstoragelocation.md,
 * branch release-1.14 at 673d828: `region`, `s3Url`, `s3ForcePathStyle`, `kmsKeyId`): AWS S3 needs
 * only the region, and encrypts with the bucket's default KMS key (the `backup` stack), so no
 * `kmsKeyId` here; the RADOS Gateway needs its URL and serves buckets by path, not by virtual host.
 */
export function storageConfig(storage: BackupStorage): Record<string, string> {
  if (storage.s3Url === undefined) return { region: storage.region };
  return { region: storage.region, s3ForcePathStyle: 'true', s3Url: storage.s3Url };
}

/** Velero's duration format for the backup TTL: `retentionDays` in hours ("720h0m0s" for 30 days). */
export function backupTtl(platform: Platform): string {
  return `${platform.backups.retentionDays * 24}h0m0s`;
}

/**
 * The namespaces that hold state, from the render: a PersistentVolumeClaim or a StatefulSet
 * with volumeClaimTemplates among the rendered objects, or a chart that creates claims.
 */
export function statefulNamespaces(render: RenderSummary): string[] {
  const namespaces = new Set<string>();
  for (const { service, objects, chartHoldsState } of render.services) {
    if (chartHoldsState) namespaces.add(service.namespace);
    for (const object of objects) {
      const spec = object.spec as { volumeClaimTemplates?: unknown[] } | undefined;
      const claims = object.kind === 'PersistentVolumeClaim' || (object.kind === 'StatefulSet' && (spec?.volumeClaimTemplates?.length ?? 0) > 0);
      if (claims && object.metadata.namespace) namespaces.add(object.metadata.namespace);
    }
  }
  return [...namespaces].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const CONTAINER_SECURITY_CONTEXT = RESTRICTED_CONTAINER_SECURITY;

/*
 * The node agent's pod and container run as Velero's documented root variant
 * (charts/lib/security-context.ts, VELERO_NODE_AGENT_*): root as upstream runs it, but with no
 * host path (`disableHostPath`: only file-system backup needs the kubelet's pod folder, install.go
 * `--node-agent-disable-host-path`), no capability, no privilege, and a read-only root. The
 * generated values type knows only the keys the chart's values.yaml shows; values.schema.json
 * (velero-12.1.0) leaves both objects open (no `additionalProperties: false`), and the chart
 * copies them whole (toYaml, toPrettyJson).
 */
/** Velero v1.18 pkg/types/repo_maintenance.go: `podLabels` of the maintenance Jobs' pods. */
const MAINTENANCE_GLOBAL = { podLabels: { 'app.kubernetes.io/name': VELERO_WORKERS.name }, podResources: DATA_MOVER_RESOURCES } as const;

/** An emptyDir on /tmp: Velero writes the storage location's credentials file there (internal/credentials). */
const TMP = { volume: { name: 'tmp', emptyDir: {} }, mount: { name: 'tmp', mountPath: '/tmp' } } as const;

/** What the Velero service reads: only the render's plan. */
export interface VeleroProps {
  /** Every connection of the render: the velero namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/**
 * Velero's chart (server, node agent, CRDs) with its values, its namespace and the node agent's
 * data-path ConfigMap.
 */
export class Velero extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'velero',
    namespace: VELERO_NAMESPACE,
    // After ceph-csi (the snapshot class).
    syncWave: 4,
    helm: () => ({
      ...CHARTS.velero,
      releaseName: VELERO_RELEASE,
      values: {
        // The S3 object store plugin, copied into the server's plugin folder.
        initContainers: [
          {
            name: 'velero-plugin-for-aws',
            image: IMAGES.veleroPluginForAws,
            imagePullPolicy: 'IfNotPresent',
            volumeMounts: [{ mountPath: '/target', name: 'plugins' }],
            securityContext: CONTAINER_SECURITY_CONTEXT,
            resources: resources('10m', '32Mi', '100m', '64Mi'),
          },
        ],
        podSecurityContext: restrictedPodValues({ uid: 65532, fsGroup: 65532, fsGroupChangeOnRootMismatch: false }),
        // With a read-only root the chart mounts an emptyDir on /tmp.
        containerSecurityContext: CONTAINER_SECURITY_CONTEXT,
        resources: resources('100m', '128Mi', '1', '512Mi'),
        serviceAccount: { server: { create: true, name: VELERO_RELEASE } },
        // Velero restores any kind of object: it keeps upstream's cluster-admin binding.
        rbac: { create: true, clusterAdministrator: true },
        // No Secret from the chart: the storage location names the one the operator creates.
        credentials: { useSecret: false },
        configuration: {
          // Ours are rendered in velero-config; volumes are CSI snapshots (no snapshot location).
          backupStorageLocation: [],
          volumeSnapshotLocation: [],
          features: 'EnableCSI',
          defaultVolumesToFsBackup: false,
          // The data mover: every CSI snapshot is copied into the storage location with kopia
          // (the uploader Velero's data mover supports), then the snapshot is deleted.
          defaultSnapshotMoveData: true,
          uploaderType: 'kopia',
          // Kopia's repository maintenance Jobs carry the workers' label (their NetworkPolicy).
          repositoryMaintenanceJob: {
            repositoryConfigData: {
              name: 'velero-repo-maintenance',
              global: MAINTENANCE_GLOBAL,
            },
          },
        },
        backupsEnabled: false,
        snapshotsEnabled: false,
        deployNodeAgent: true,
        nodeAgent: {
          disableHostPath: true,
          podSecurityContext: VELERO_NODE_AGENT_POD_SECURITY,
          containerSecurityContext: VELERO_NODE_AGENT_CONTAINER_SECURITY,
          resources: resources('50m', '128Mi', '500m', '512Mi'),
          extraVolumes: [TMP.volume],
          extraVolumeMounts: [TMP.mount],
          extraArgs: [`--node-agent-configmap=${NODE_AGENT_CONFIG}`],
        },
        metrics: { enabled: true, serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
        // Argo CD applies the chart's CRDs itself; the hook Jobs would need a kubectl image.
        upgradeCRDs: false,
        cleanUpCRDs: false,
        schedules: {},
      } satisfies VeleroValues,
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
      customResourceGroups: ['velero.io'],
    }),
    connections: (platform: Platform): Connection[] => {
      const offsite = platform.backups.offsite;
      const storage = (workload: Workload): Connection => {
        // S3 has no address range of its own to name: the regional endpoint over HTTPS.
        if (offsite) return { from: { workload }, to: { network: INTERNET }, ports: [{ port: 443 }], purpose: `off-site backup bucket (S3 in ${offsite.region})` };
        const rgw = rgwEndpoint(platform);
        return { from: { workload }, to: { network: hosts('ceph rados gateway', [rgw.address]) }, ports: [{ port: rgw.port }], purpose: 'backup storage (RADOS Gateway, S3)' };
      };
      return [VELERO_SERVER, VELERO_WORKERS].flatMap((workload) => [dnsAccess(workload), ...kubeApiAccess(workload, platform), storage(workload)]);
      // Prometheus scrapes Velero's metrics Service; the observability targets declare that connection.
    },
  };

  constructor(scope: Construct, id: string, props: VeleroProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: VELERO_NAMESPACE,
      workloads: [VELERO_SERVER, VELERO_WORKERS],
      plan: props.plan,
      podSecurity: 'baseline',
      exceptionReason:
        'the node agent runs as root (upstream) and the data mover pods it creates run as root without seccomp or dropped capabilities (Velero v1.18 pkg/exposer/csi_snapshot.go), with no host path, host namespace or privilege',
    });
    // One key only: the node agent refuses a ConfigMap with more (Velero v1.18 pkg/nodeagent/node_agent.go GetConfigs).
    new k8s.KubeConfigMap(this, 'node-agent-config', {
      metadata: { name: NODE_AGENT_CONFIG, namespace: VELERO_NAMESPACE, labels: standardLabels(NODE_AGENT_CONFIG, 'node-agent-config') },
      data: {
        'node-agent-config.json': JSON.stringify({ podLabels: { 'app.kubernetes.io/name': VELERO_WORKERS.name }, podResources: DATA_MOVER_RESOURCES }, null, 2),
      },
    });
  }
}

/** What velero-config reads: where the storage location keeps the backups. */
export interface VeleroConfigProps {
  /** The bucket, region and endpoint of the one storage location (`backupStorage(platform)`). */
  readonly storage: BackupStorage;
}

/**
 * Velero's custom resources: the one BackupStorageLocation, and (once every service has rendered)
 * the daily Schedule over every namespace that holds state.
 */
export class VeleroConfig extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'velero-config',
    namespace: VELERO_NAMESPACE,
    // After the chart's CRDs.
    syncWave: 5,
    afterRender(chart: Chart, platform: Platform, render: RenderSummary) {
      const namespaces = statefulNamespaces(render);
      if (namespaces.length === 0) {
        // An empty list would mean "every namespace" to Velero.
        throw new Error('backups: no rendered service holds state (no PersistentVolumeClaim, volume claim template or chart with claims); nothing for the daily backup to cover');
      }
      const schedule: ScheduleSpec = {
        schedule: platform.backups.schedule,
        useOwnerReferencesInBackup: false,
        template: {
          includedNamespaces: namespaces,
          storageLocation: STORAGE_LOCATION,
          ttl: backupTtl(platform),
          // Volumes as CSI snapshots whose data the node agent moves into the bucket (decision 0102).
          snapshotVolumes: true,
          defaultVolumesToFsBackup: false,
          snapshotMoveData: true,
          csiSnapshotTimeout: CSI_SNAPSHOT_TIMEOUT,
        },
      };
      new ApiObject(chart, 'schedule', {
        apiVersion: 'velero.io/v1',
        kind: 'Schedule',
        metadata: { name: SCHEDULE_NAME, namespace: VELERO_NAMESPACE, labels: standardLabels(SCHEDULE_NAME, 'backup-schedule') },
        spec: schedule,
      });
    },
  };

  constructor(scope: Construct, id: string, props: VeleroConfigProps) {
    super(scope, id);
    const location: Omit<BackupStorageLocationSpec, 'accessMode'> & { accessMode: 'ReadWrite' } = {
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: props.storage.bucket },
      credential: { ...VELERO_CREDENTIALS },
      config: storageConfig(props.storage),
    };
    new ApiObject(this, 'location', {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: STORAGE_LOCATION, namespace: VELERO_NAMESPACE, labels: standardLabels(STORAGE_LOCATION, 'backup-storage-location') },
      spec: location,
    });
  }
}
