/**
 * node-exporter on every node, as upstream's chart runs it and no broader (POLICY-RULES section
 * 3): its own privileged namespace, the host's network and PID namespaces (host metrics), the
 * host's /proc, /sys and / mounted read-only, and otherwise restricted: user 65534, no
 * privilege, no capabilities, read-only root filesystem, no API token.
 *
 * It listens on the node's own address only (the mesh address k3s registers), not on every
 * interface of the host.
 *
 * @see https://github.com/prometheus/node_exporter#docker
 */
import { Construct } from 'constructs';
import { IMAGES } from '../../config/versions';
import { resources } from '../lib/kinds';
import { PlatformNamespace } from '../lib/namespace';
import { scrapedBy, type NetworkPlan } from '../lib/network';
import { policyExceptions } from '../../common/policy-exceptions';
import type { ServiceRegistration } from '../lib/service';
import { WorkloadDaemonSet, WorkloadVolume } from '../lib/workload';
import { NODE_EXPORTER, NODE_EXPORTER_NAMESPACE } from './workloads';

const UID = 65534;

/** What node-exporter reads of the render: nothing of the model, the plan for its namespace's policies. */
export interface NodeExporterProps {
  /** Every connection of the render: its namespace renders its half of each. */
  readonly plan: NetworkPlan;
}

/** node-exporter: a DaemonSet on every node in its own privileged namespace. */
export class NodeExporter extends Construct {
  static readonly registration: ServiceRegistration = {
    name: 'node-exporter',
    namespace: NODE_EXPORTER_NAMESPACE,
    syncWave: 3,
    connections: () => [scrapedBy(NODE_EXPORTER)],
  };

  constructor(scope: Construct, id: string, props: NodeExporterProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', {
      name: NODE_EXPORTER_NAMESPACE,
      podSecurity: 'privileged',
      exceptionReason: 'node-exporter reads host metrics with hostNetwork and hostPID and read-only hostPath mounts of /proc, /sys and /, and only it runs here',
      workloads: [NODE_EXPORTER],
      plan: props.plan,
    });
    const port = NODE_EXPORTER.ports!.metrics;
    new WorkloadDaemonSet(this, 'node-exporter', {
      workload: NODE_EXPORTER,
      component: 'metrics',
      image: IMAGES.nodeExporter,
      identity: { uid: UID },
      annotations: policyExceptions({
        'K8S-SEC-01': 'host metrics need the host network (interfaces) and PID namespace (processes), as upstream runs it',
        'K8S-SEC-08': 'reads /proc, /sys and / of the host, read-only, as upstream mounts them',
      }),
      // Scraped on the node's address by Prometheus' node discovery: no Service.
      service: false,
      hostNetwork: true,
      hostPid: true,
      // Metrics of every node, the control plane included.
      tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
      args: [
        '--path.procfs=/host/proc',
        '--path.sysfs=/host/sys',
        '--path.rootfs=/host/root',
        '--path.udev.data=/host/root/run/udev/data',
        `--web.listen-address=$(HOST_IP):${port}`,
        // Container and kubelet mounts are not the node's filesystems.
        '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s|var/lib/kubelet/.+|var/lib/rancher/k3s/.+)($|/)',
      ],
      env: [{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
      readinessProbe: { httpGet: { path: '/', port: 'metrics' }, periodSeconds: 10 },
      livenessProbe: { tcpPort: 'metrics', periodSeconds: 15, failureThreshold: 6 },
      resources: resources('25m', '32Mi', '250m', '128Mi'),
      volumes: [
        WorkloadVolume.hostPath('proc', '/proc', { mountPath: '/host/proc' }),
        WorkloadVolume.hostPath('sys', '/sys', { mountPath: '/host/sys' }),
        WorkloadVolume.hostPath('root', '/', { mountPath: '/host/root', mountPropagation: 'HostToContainer' }),
      ],
    });
  }
}
