/**
 * Loki in single-binary mode (`-target=all`), rendered as plain YAML: one replica in a
 * StatefulSet, chunks and the TSDB index on a `ceph-rbd` volume, retention from the model
 * (the compactor deletes older chunks). No multi-tenancy: the log shipper and Grafana are its
 * only clients, and only they may reach it (NetworkPolicy).
 *
 * @see https://grafana.com/docs/loki/latest/configure/
 * @see https://grafana.com/docs/loki/latest/operations/storage/retention/
 */
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { STORAGE_CLASS } from '../lib/placement';
import { dnsAccess, scrapedBy } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { WorkloadStatefulSet, WorkloadVolume } from '../lib/workload';
import { LOKI, MONITORING_NAMESPACE } from './workloads';

/** The `loki` user of the upstream image. */
const UID = 10001;
const DATA_DIR = '/var/loki';
/** The first day of the TSDB/v13 schema; a later schema change adds an entry with a later date. */
export const SCHEMA_FROM = '2026-01-01';

/** What Loki reads of the model (`observability.loki`, `services.loki.node`). */
export interface LokiProps {
  /** The node Loki runs on (its volume follows it). */
  readonly node: string;
  /** Days logs are kept; the compactor deletes older chunks. */
  readonly retentionDays: number;
  /** Size of the volume holding chunks and index, in GiB. */
  readonly storageGiB: number;
}

/** Loki's configuration file (loki.yaml). */
export function lokiConfig(props: Pick<LokiProps, 'retentionDays'>): Record<string, unknown> {
  const { retentionDays } = props;
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

/** Loki, one binary in a StatefulSet of one replica with its own volume. */
export class Loki extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'loki',
    namespace: MONITORING_NAMESPACE,
    syncWave: 4,
    connections: () => [dnsAccess(LOKI), scrapedBy(LOKI, 'http')],
  };

  constructor(scope: Construct, id: string, props: LokiProps) {
    super(scope, id);
    new WorkloadStatefulSet(this, 'loki', {
      workload: LOKI,
      component: 'logs',
      image: IMAGES.loki,
      identity: { uid: UID, fsGroup: UID },
      args: ['-config.file=/etc/loki/loki.yaml', '-target=all'],
      readinessProbe: { httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 10 },
      livenessProbe: { tcpPort: 'http', initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
      resources: resources('100m', '256Mi', '1', '1Gi'),
      node: props.node,
      // Lets the ingester flush its in-memory chunks to the volume.
      terminationGracePeriodSeconds: 120,
      volumes: [
        WorkloadVolume.configFiles('config', { 'loki.yaml': toYaml(lokiConfig(props)) }, [{ mountPath: '/etc/loki' }]),
        WorkloadVolume.dataClaim('data', DATA_DIR, { storage: `${props.storageGiB}Gi`, storageClassName: STORAGE_CLASS }),
        WorkloadVolume.emptyDir('tmp', '/tmp', '256Mi'),
      ],
    });
  }
}
