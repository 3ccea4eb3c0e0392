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
import type { Platform } from '../../config';
import { CHARTS, IMAGES } from '../../config/versions';
// Types only: the render path loads no generated classes it does not need.
import type { BackupStorageLocationSpec } from '../../imports/velero-backupstoragelocation-velero.io';
import type { ScheduleSpec } from '../../imports/velero-schedule-velero.io';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, CRD, resources } from '../lib/kinds';
import { standardLabels } from '../lib/labels';
import { PlatformNamespace } from '../lib/namespace';
import { INTERNET, dnsAccess, hosts, kubeApiAccess, type Connection, type Workload } from '../lib/network';
import type { RenderSummary, ServiceDefinition, ServicePlan } from '../lib/service';
import { RESTRICTED_CONTAINER_SECURITY, RUNTIME_DEFAULT_SECCOMP, restrictedPodValues } from '../lib/security-context';
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
export const VELERO_WORKERS: Workload = { namespace: VELERO_NAMESPACE, name: 'velero-data-mover', receivesNothing: true };

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

/** The RADOS Gateway as the NetworkPolicy and the storage location need it. */
export function rgwEndpoint(platform: Platform): { url: string; address: string; port: number } {
  const url = platform.ceph.rgw.endpoint;
  const match = /^(https?):\/\/(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(url);
  if (!match) {
    throw new Error(`ceph.rgw.endpoint: "${url}": must be http(s)://<IPv4 address>[:port], e.g. "http://192.168.10.21:7480"`);
  }
  return { url, address: match[2], port: match[3] ? Number(match[3]) : match[1] === 'https' ? 443 : 80 };
}

/** The bucket Velero's one storage location uses: off site when the model names one. */
export function storageBucket(platform: Platform): string {
  return platform.backups.offsite?.bucket ?? platform.ceph.rgw.bucket;
}

/**
 * The AWS plugin's location config (vmware-tanzu/velero-plugin-for-aws backupstoragelocation.md,
 * branch release-1.14 at 673d828: `region`, `s3Url`, `s3ForcePathStyle`, `kmsKeyId`): AWS S3 needs
 * only the region, and encrypts with the bucket's default KMS key (the `backup` stack), so no
 * `kmsKeyId` here; the RADOS Gateway needs its URL and serves buckets by path, not by virtual host.
 */
export function storageConfig(platform: Platform): Record<string, string> {
  const offsite = platform.backups.offsite;
  if (offsite) return { region: offsite.region };
  return { region: platform.backups.region, s3ForcePathStyle: 'true', s3Url: rgwEndpoint(platform).url };
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

/**
 * The node agent's container: root as upstream runs it (Velero v1.18 pkg/install/daemonset.go,
 * RunAsUser 0), but with no host path (`disableHostPath`: only file-system backup needs the
 * kubelet's pod folder, install.go `--node-agent-disable-host-path`), no capability, no
 * privilege, and a read-only root: the data mover runs in its own pods.
 */
const NODE_AGENT_CONTAINER_SECURITY = { ...RESTRICTED_CONTAINER_SECURITY, privileged: false } as const;

/**
 * The generated values type knows only the keys the chart's values.yaml shows; values.schema.json
 * (velero-12.1.0) leaves both objects open (no `additionalProperties: false`), and the chart
 * copies them whole (toYaml, toPrettyJson). Declared apart so the extra keys pass the type check.
 */
const NODE_AGENT_POD_SECURITY = { runAsUser: 0, seccompProfile: RUNTIME_DEFAULT_SECCOMP } as const;
/** Velero v1.18 pkg/types/repo_maintenance.go: `podLabels` of the maintenance Jobs' pods. */
const MAINTENANCE_GLOBAL = { podLabels: { 'app.kubernetes.io/name': VELERO_WORKERS.name }, podResources: DATA_MOVER_RESOURCES } as const;

/** An emptyDir on /tmp: Velero writes the storage location's credentials file there (internal/credentials). */
const TMP = { volume: { name: 'tmp', emptyDir: {} }, mount: { name: 'tmp', mountPath: '/tmp' } } as const;

export const velero: ServiceDefinition = {
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
        podSecurityContext: NODE_AGENT_POD_SECURITY,
        containerSecurityContext: NODE_AGENT_CONTAINER_SECURITY,
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
  build(chart: Chart, _platform: Platform, plan: ServicePlan) {
    new PlatformNamespace(chart, 'namespace', {
      name: VELERO_NAMESPACE,
      workloads: [VELERO_SERVER, VELERO_WORKERS],
      plan,
      podSecurity: 'baseline',
      exceptionReason:
        'the node agent runs as root (upstream) and the data mover pods it creates run as root without seccomp or dropped capabilities (Velero v1.18 pkg/exposer/csi_snapshot.go), with no host path, host namespace or privilege',
    });
    // One key only: the node agent refuses a ConfigMap with more (Velero v1.18 pkg/nodeagent/node_agent.go GetConfigs).
    new ApiObject(chart, 'node-agent-config', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: NODE_AGENT_CONFIG, namespace: VELERO_NAMESPACE, labels: standardLabels(NODE_AGENT_CONFIG, 'node-agent-config') },
      data: {
        'node-agent-config.json': JSON.stringify({ podLabels: { 'app.kubernetes.io/name': VELERO_WORKERS.name }, podResources: DATA_MOVER_RESOURCES }, null, 2),
      },
    });
  },
};

export const veleroConfig: ServiceDefinition = {
  name: 'velero-config',
  namespace: VELERO_NAMESPACE,
  // After the chart's CRDs.
  syncWave: 5,
  build(chart: Chart, platform: Platform) {
    const location: Omit<BackupStorageLocationSpec, 'accessMode'> & { accessMode: 'ReadWrite' } = {
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: storageBucket(platform) },
      credential: { ...VELERO_CREDENTIALS },
      config: storageConfig(platform),
    };
    new ApiObject(chart, 'location', {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: STORAGE_LOCATION, namespace: VELERO_NAMESPACE, labels: standardLabels(STORAGE_LOCATION, 'backup-storage-location') },
      spec: location,
    });
  },
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
