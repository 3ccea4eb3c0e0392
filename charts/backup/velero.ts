/**
 * Velero: daily backups kept `backups.retentionDays` on the Ceph RADOS Gateway (S3).
 *  - `velero` (wave 4): the official chart with the S3 (AWS) plugin, CSI snapshot support and
 *    metrics; no node agent, no credentials Secret: the S3 keys come from Vault (agent sidecar).
 *  - `velero-config` (wave 5): our BackupStorageLocation on `ceph.rgw` (path-style addressing) and
 *    the daily Schedule, whose namespaces are derived from the render: every namespace with a
 *    PersistentVolumeClaim, a StatefulSet volume claim template, or a chart that creates claims.
 *
 * Volumes are backed up as CSI snapshots of the `ceph-rbd` volumes (the VolumeSnapshotClass is
 * labelled for Velero); the objects and the snapshot records go to the bucket.
 * See docs/decisions/0022-velero-csi-snapshots.md and 0023-secrets-from-vault-and-by-hand.md.
 *
 * @see https://velero.io/docs/v1.18/
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
import { dnsAccess, hosts, kubeApiAccess, type Connection, type Workload } from '../lib/network';
import type { RenderSummary, ServiceDefinition, ServicePlan } from '../lib/service';
import { secretFile, secretPath, vaultAgentPod, type SecretConsumer, type VaultSecret } from '../lib/vault';
import { RESTRICTED_CONTAINER_SECURITY, restrictedPodValues } from '../lib/security-context';
import type { VeleroValues } from '../../imports/charts';

export const VELERO_NAMESPACE = 'velero';
/** The Helm release: names the Deployment, its ServiceAccount and the metrics Service `velero`. */
export const VELERO_RELEASE = 'velero';
/** The one backup storage location, the default for every backup. */
export const STORAGE_LOCATION = 'default';
/** The daily Schedule; its backups are labelled `velero.io/schedule-name: daily`. */
export const SCHEDULE_NAME = 'daily';
/** How long Velero waits for a CSI snapshot to be ready before the backup fails. */
const CSI_SNAPSHOT_TIMEOUT = '10m0s';

/** The Velero server (the chart labels it `app.kubernetes.io/name: velero`); metrics on 8085. */
export const VELERO_SERVER: Workload = { namespace: VELERO_NAMESPACE, name: 'velero', ports: { metrics: 8085 } };

const RGW_SECRET = { name: 'rgw', keys: ['access_key_id', 'secret_access_key'] } as const satisfies VaultSecret;
const RGW_PATH = secretPath({ name: 'velero' }, RGW_SECRET);

/**
 * Velero reads its RADOS Gateway keys from Vault, as an AWS credentials file the agent renders.
 * It starts without waiting for them (`prePopulate: false`): Velero must run while Vault is
 * down, to restore Vault itself (README restore runbook).
 */
export const VELERO_CONSUMER: SecretConsumer = {
  name: 'velero',
  namespace: VELERO_NAMESPACE,
  serviceAccount: VELERO_RELEASE,
  workload: VELERO_SERVER,
  prePopulate: false,
  secrets: [
    {
      ...RGW_SECRET,
      template: `{{- with secret "${RGW_PATH}" -}}\n[default]\naws_access_key_id={{ .Data.data.access_key_id }}\naws_secret_access_key={{ .Data.data.secret_access_key }}\n{{- end }}\n`,
    },
  ],
};

/** The RADOS Gateway as the NetworkPolicy and the storage location need it. */
export function rgwEndpoint(platform: Platform): { url: string; address: string; port: number } {
  const url = platform.ceph.rgw.endpoint;
  const match = /^(https?):\/\/(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(url);
  if (!match) {
    throw new Error(`ceph.rgw.endpoint: "${url}": must be http(s)://<IPv4 address>[:port], e.g. "http://192.168.10.21:7480"`);
  }
  return { url, address: match[2], port: match[3] ? Number(match[3]) : match[1] === 'https' ? 443 : 80 };
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

export const velero: ServiceDefinition = {
  name: 'velero',
  namespace: VELERO_NAMESPACE,
  // After Vault (its credentials) and ceph-csi (the snapshot class).
  syncWave: 4,
  helm: (platform: Platform) => {
    const agent = vaultAgentPod(VELERO_CONSUMER, platform);
    return {
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
        podLabels: agent.labels,
        podAnnotations: agent.annotations,
        extraVolumes: agent.volumes,
        serviceAccount: { server: { create: true, name: agent.serviceAccountName } },
        // Velero restores any kind of object: it keeps upstream's cluster-admin binding.
        rbac: { create: true, clusterAdministrator: true },
        // No Secret with the keys: the agent renders them from Vault into this file.
        credentials: { useSecret: false },
        configuration: {
          // Ours are rendered in velero-config; volumes are CSI snapshots (no snapshot location).
          backupStorageLocation: [],
          volumeSnapshotLocation: [],
          features: 'EnableCSI',
          defaultVolumesToFsBackup: false,
          defaultSnapshotMoveData: false,
          // A list of container EnvVars: the chart declares `configuration.extraEnvVars` an array
          // in values.schema.json and copies it with toYaml into the server's `env:`
          // (vmware-tanzu/helm-charts, tag velero-12.1.0, charts/velero/values.schema.json and
          // templates/deployment.yaml). A map fails Helm's schema check and the chart never renders.
          extraEnvVars: [{ name: 'AWS_SHARED_CREDENTIALS_FILE', value: secretFile(VELERO_CONSUMER.secrets[0]) }],
        },
        backupsEnabled: false,
        snapshotsEnabled: false,
        deployNodeAgent: false,
        metrics: { enabled: true, serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
        // Argo CD applies the chart's CRDs itself; the hook Jobs would need a kubectl image.
        upgradeCRDs: false,
        cleanUpCRDs: false,
        schedules: {},
      } satisfies VeleroValues,
      clusterResources: [CRD, CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
      customResourceGroups: ['velero.io'],
    };
  },
  secretConsumers: () => [VELERO_CONSUMER],
  connections: (platform: Platform): Connection[] => {
    const rgw = rgwEndpoint(platform);
    return [
      dnsAccess(VELERO_SERVER),
      ...kubeApiAccess(VELERO_SERVER, platform),
      { from: { workload: VELERO_SERVER }, to: { network: hosts('ceph rados gateway', [rgw.address]) }, ports: [{ port: rgw.port }], purpose: 'backup storage (RADOS Gateway, S3)' },
      // Prometheus scrapes Velero's metrics Service; the observability targets declare that connection.
    ];
  },
  build(chart: Chart, _platform: Platform, plan: ServicePlan) {
    new PlatformNamespace(chart, 'namespace', { name: VELERO_NAMESPACE, workloads: [VELERO_SERVER], plan });
  },
};

export const veleroConfig: ServiceDefinition = {
  name: 'velero-config',
  namespace: VELERO_NAMESPACE,
  // After the chart's CRDs.
  syncWave: 5,
  build(chart: Chart, platform: Platform) {
    const rgw = rgwEndpoint(platform);
    const location: Omit<BackupStorageLocationSpec, 'accessMode'> & { accessMode: 'ReadWrite' } = {
      provider: 'aws',
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: platform.ceph.rgw.bucket },
      // The RADOS Gateway serves buckets by path, not by virtual host.
      config: { region: platform.backups.region, s3ForcePathStyle: 'true', s3Url: rgw.url },
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
        // Volumes as CSI snapshots, kept as snapshots (no copy through a node agent).
        snapshotVolumes: true,
        defaultVolumesToFsBackup: false,
        snapshotMoveData: false,
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
