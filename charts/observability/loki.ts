/**
 * Loki in single-binary mode (`-target=all`), rendered as plain YAML: one replica in a
 * StatefulSet, chunks and the TSDB index on a `ceph-rbd` volume, retention from the model
 * (the compactor deletes older chunks). No multi-tenancy: the log shipper and Grafana are its
 * only clients, and only they may reach it (NetworkPolicy).
 *
 * @see https://grafana.com/docs/loki/latest/configure/
 * @see https://grafana.com/docs/loki/latest/operations/storage/retention/
 */
import { ApiObject, type Chart } from 'cdk8s';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { standardLabels } from '../lib/labels';
import { dnsAccess, scrapedBy, type Connection } from '../lib/network';
import { STORAGE_CLASS, nodeSelectorFor } from '../lib/placement';
import type { ServiceDefinition } from '../lib/service';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  RESTRICTED_CONTAINER_SECURITY,
  configChecksum,
  configMap,
  containerPorts,
  podLabels,
  resources,
  restrictedPodSecurity,
  selectorOf,
  serviceAccount,
  workloadService,
} from './pod';
import { LOKI, MONITORING_NAMESPACE } from './workloads';

const NAME = LOKI.name;
/** The `loki` user of the upstream image. */
const UID = 10001;
const DATA_DIR = '/var/loki';
/** The first day of the TSDB/v13 schema; a later schema change adds an entry with a later date. */
export const SCHEMA_FROM = '2026-01-01';

export function lokiConfig(platform: Platform): Record<string, unknown> {
  const { retentionDays } = platform.observability.loki;
  return {
    auth_enabled: false,
    server: { http_listen_port: LOKI.ports!.http, grpc_listen_port: 9095, log_level: 'info' },
    common: {
      path_prefix: DATA_DIR,
      replication_factor: 1,
      // One process: the ring lives in memory and the components talk over loopback.
      ring: { instance_addr: '127.0.0.1', kvstore: { store: 'inmemory' } },
      storage: { filesystem: { chunks_directory: `${DATA_DIR}/chunks`, rules_directory: `${DATA_DIR}/rules` } },
    },
    schema_config: {
      configs: [{ from: SCHEMA_FROM, store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
    },
    limits_config: {
      retention_period: `${retentionDays * 24}h`,
      reject_old_samples: true,
      reject_old_samples_max_age: '168h',
      ingestion_rate_mb: 8,
      ingestion_burst_size_mb: 16,
      max_query_lookback: `${retentionDays * 24}h`,
    },
    compactor: {
      working_directory: `${DATA_DIR}/compactor`,
      retention_enabled: true,
      retention_delete_delay: '2h',
      delete_request_store: 'filesystem',
    },
    analytics: { reporting_enabled: false },
  };
}

export const loki: ServiceDefinition = {
  name: 'loki',
  namespace: MONITORING_NAMESPACE,
  syncWave: 4,
  connections: (): Connection[] => [dnsAccess(LOKI), scrapedBy(LOKI, 'http')],
  build(chart: Chart, platform: Platform) {
    const ns = MONITORING_NAMESPACE;
    const config = { 'loki.yaml': toYaml(lokiConfig(platform)) };
    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: false });
    configMap(chart, 'config', { name: `${NAME}-config`, namespace: ns, data: config });
    workloadService(chart, 'service', LOKI, ['http'], { headless: true });
    new ApiObject(chart, 'statefulset', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: NAME, namespace: ns, labels: podLabels(LOKI, 'logs') },
      spec: {
        replicas: 1,
        serviceName: NAME,
        selector: selectorOf(LOKI),
        template: {
          metadata: { labels: podLabels(LOKI, 'logs'), annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(config) } },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: false,
            nodeSelector: nodeSelectorFor(platform, 'loki'),
            securityContext: restrictedPodSecurity(UID, { fsGroup: UID }),
            // Lets the ingester flush its in-memory chunks to the volume.
            terminationGracePeriodSeconds: 120,
            containers: [
              {
                name: 'loki',
                image: IMAGES.loki,
                args: ['-config.file=/etc/loki/loki.yaml', '-target=all'],
                ports: containerPorts(LOKI, ['http']),
                readinessProbe: { httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 10 },
                livenessProbe: { tcpSocket: { port: 'http' }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
                resources: resources('100m', '256Mi', '1', '1Gi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/loki', readOnly: true },
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${NAME}-config` } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: standardLabels(NAME, 'storage') },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: STORAGE_CLASS,
              resources: { requests: { storage: `${platform.observability.loki.storageGiB}Gi` } },
            },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
  },
};
