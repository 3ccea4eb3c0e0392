/**
 * The log shipper: Fluent Bit as a DaemonSet in its own `logging` namespace, reading the pod
 * logs (/var/log/pods, CRI format) and the systemd journal (k3s, the kernel) of its node from
 * read-only host mounts, and pushing them to Loki. Labels come from the log file's path
 * (namespace, pod, container), so it needs no Kubernetes API access at all.
 *
 * The read-only host mounts are the POLICY-RULES section-3 exception (K8S-SEC-08) for the log
 * shipper; everything else is restricted: it runs as a non-root user whose supplementary groups
 * are those that may read the files (root group: containerd writes pod logs 0640 root:root;
 * `adm`: the journal's ACL on Debian and Ubuntu). See docs/decisions/0028.
 *
 * @see https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/yaml
 */
import { Construct } from 'constructs';
import { toYaml } from '../../common/yaml';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { PlatformNamespace } from '../lib/namespace';
import { connect, dnsAccess, scrapedBy, type NetworkPlan } from '../lib/network';
import { policyExceptions } from '../../common/policy-exceptions';
import type { ServiceRegistration } from '../lib/service';
import { WorkloadDaemonSet, WorkloadVolume } from '../lib/workload';
import { LOG_SHIPPER, LOGGING_NAMESPACE, LOKI, serviceHost } from './workloads';

const UID = 10001;
/** Supplementary groups that may read the host's log files: root (pod logs), adm (4, the journal's ACL). */
export const LOG_READER_GROUPS = [0, 4];
const STATE_DIR = '/var/lib/fluent-bit';

/** The host paths it reads, each mounted read-only at the same path. */
export const HOST_LOG_PATHS = { pods: '/var/log/pods', journal: '/var/log/journal', machineId: '/etc/machine-id' } as const;

/** Loki stream labels of pod logs and of the journal (Grafana's dashboards query them). */
export const LOG_JOBS = { pods: 'pods', journal: 'node-journal' } as const;

export function fluentBitConfig(): Record<string, unknown> {
  const loki = { name: 'loki', host: serviceHost(LOKI), port: LOKI.ports!.http, line_format: 'json', retry_limit: 10 };
  return {
    service: {
      flush: 1,
      log_level: 'info',
      http_server: 'on',
      http_listen: '0.0.0.0',
      http_port: LOG_SHIPPER.ports!.http,
      // /api/v1/health turns unhealthy after repeated output errors (readiness probe).
      health_check: 'on',
      hc_errors_count: 5,
      hc_retry_failure_count: 5,
      hc_period: 60,
    },
    parsers: [
      {
        // /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log
        name: 'pod-log-path',
        format: 'regex',
        regex: '^/var/log/pods/(?<namespace>[^_/]+)_(?<pod>[^_/]+)_(?<pod_uid>[^/]+)/(?<container>[^/]+)/[^/]+$',
      },
    ],
    pipeline: {
      inputs: [
        {
          name: 'tail',
          tag: 'pods.*',
          path: `${HOST_LOG_PATHS.pods}/*/*/*.log`,
          path_key: 'log_path',
          'multiline.parser': 'cri',
          // Positions survive container restarts (not pod replacement: an emptyDir, see the decision record).
          db: `${STATE_DIR}/pods.db`,
          'db.locking': true,
          mem_buf_limit: '32MB',
          skip_long_lines: 'on',
          refresh_interval: 10,
        },
        {
          name: 'systemd',
          tag: 'journal.*',
          path: HOST_LOG_PATHS.journal,
          db: `${STATE_DIR}/journal.db`,
          read_from_tail: 'on',
          strip_underscores: 'on',
        },
      ],
      filters: [{ name: 'parser', match: 'pods.*', key_name: 'log_path', parser: 'pod-log-path', reserve_data: 'on' }],
      outputs: [
        {
          ...loki,
          match: 'pods.*',
          labels: `job=${LOG_JOBS.pods}, node=\${NODE_NAME}, $namespace, $pod, $container, $stream`,
          // The line is the message alone; its stream metadata is in the labels.
          remove_keys: 'log_path, pod_uid, namespace, pod, container, stream, _p, time',
          drop_single_key: 'raw',
        },
        { ...loki, match: 'journal.*', labels: `job=${LOG_JOBS.journal}, node=\${NODE_NAME}, unit=$SYSTEMD_UNIT` },
      ],
    },
  };
}

/** What the log shipper reads of the render: nothing of the model, the plan for its namespace's policies. */
export interface LogShipperProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/** Fluent Bit on every node, in its own privileged `logging` namespace. */
export class LogShipper extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'log-shipper',
    namespace: LOGGING_NAMESPACE,
    syncWave: 4,
    connections: () => [dnsAccess(LOG_SHIPPER), connect({ workload: LOG_SHIPPER }, LOKI, ['http'], 'log push'), scrapedBy(LOG_SHIPPER, 'http')],
  };

  constructor(scope: Construct, id: string, props: LogShipperProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: LOGGING_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason: 'the log shipper reads node and pod logs from read-only hostPath mounts, which Pod Security baseline forbids, and only it runs here',
      workloads: [LOG_SHIPPER],
      plan: props.plan,
    });
    new WorkloadDaemonSet(this, 'fluent-bit', {
      workload: LOG_SHIPPER,
      component: 'log-shipper',
      image: IMAGES.fluentBit,
      identity: { uid: UID, supplementalGroups: LOG_READER_GROUPS },
      annotations: policyExceptions({ 'K8S-SEC-08': 'reads the node and pod logs (/var/log/pods, /var/log/journal, /etc/machine-id) from read-only host mounts' }),
      // Scraped through pod discovery; nothing else reaches it.
      service: false,
      // Logs of every node, the control plane included.
      tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
      command: ['/fluent-bit/bin/fluent-bit'],
      args: ['--config=/fluent-bit/etc/fluent-bit.yaml'],
      env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      readinessProbe: { httpGet: { path: '/api/v1/health', port: 'http' }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 15, failureThreshold: 6 },
      resources: resources('25m', '64Mi', '500m', '256Mi'),
      volumes: [
        WorkloadVolume.configFiles('config', { 'fluent-bit.yaml': toYaml(fluentBitConfig()) }, [{ mountPath: '/fluent-bit/etc/fluent-bit.yaml', subPath: 'fluent-bit.yaml' }]),
        WorkloadVolume.emptyDir('state', STATE_DIR, '256Mi'),
        WorkloadVolume.hostPath('pod-logs', HOST_LOG_PATHS.pods, { type: 'Directory' }),
        // The nodes keep a persistent journal (README); the pod waits for the directory rather than creating it.
        WorkloadVolume.hostPath('journal', HOST_LOG_PATHS.journal, { type: 'Directory' }),
        WorkloadVolume.hostPath('machine-id', HOST_LOG_PATHS.machineId, { type: 'File' }),
      ],
    });
  }
}
