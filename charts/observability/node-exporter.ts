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
import { ApiObject, type Chart } from 'cdk8s';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { PlatformNamespace } from '../lib/namespace';
import { scrapedBy, type Connection, type NetworkPlan } from '../lib/network';
import { policyExceptions } from '../../common/policy-exceptions';
import type { ServiceDefinition } from '../lib/service';
import { RESTRICTED_CONTAINER_SECURITY, containerPorts, podLabels, resources, restrictedPodSecurity, selectorOf, serviceAccount } from './pod';
import { NODE_EXPORTER, NODE_EXPORTER_NAMESPACE } from './workloads';

const NAME = NODE_EXPORTER.name;
const UID = 65534;

export const nodeExporter: ServiceDefinition = {
  name: 'node-exporter',
  namespace: NODE_EXPORTER_NAMESPACE,
  syncWave: 3,
  connections: (): Connection[] => [scrapedBy(NODE_EXPORTER)],
  build(chart: Chart, _platform: Platform, plan: NetworkPlan) {
    const ns = NODE_EXPORTER_NAMESPACE;
    new PlatformNamespace(chart, 'namespace', {
      name: ns,
      podSecurity: 'privileged',
      exceptionReason: 'node-exporter reads host metrics with hostNetwork and hostPID and read-only hostPath mounts of /proc, /sys and /, and only it runs here',
      workloads: [NODE_EXPORTER],
      plan,
    });
    serviceAccount(chart, 'service-account', { name: NAME, namespace: ns, automountToken: false });
    const port = NODE_EXPORTER.ports!.metrics;
    new ApiObject(chart, 'daemonset', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: {
        name: NAME,
        namespace: ns,
        labels: podLabels(NODE_EXPORTER, 'metrics'),
        annotations: policyExceptions({
          'K8S-SEC-01': 'host metrics need the host network (interfaces) and PID namespace (processes), as upstream runs it',
          'K8S-SEC-08': 'reads /proc, /sys and / of the host, read-only, as upstream mounts them',
        }),
      },
      spec: {
        selector: selectorOf(NODE_EXPORTER),
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: podLabels(NODE_EXPORTER, 'metrics') },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: false,
            hostNetwork: true,
            hostPID: true,
            securityContext: restrictedPodSecurity(UID),
            // Metrics of every node, the control plane included.
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            containers: [
              {
                name: 'node-exporter',
                image: IMAGES.nodeExporter,
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
                ports: containerPorts(NODE_EXPORTER, ['metrics']),
                readinessProbe: { httpGet: { path: '/', port: 'metrics' }, periodSeconds: 10 },
                livenessProbe: { tcpSocket: { port: 'metrics' }, periodSeconds: 15, failureThreshold: 6 },
                resources: resources('25m', '32Mi', '250m', '128Mi'),
                securityContext: RESTRICTED_CONTAINER_SECURITY,
                volumeMounts: [
                  { name: 'proc', mountPath: '/host/proc', readOnly: true },
                  { name: 'sys', mountPath: '/host/sys', readOnly: true },
                  { name: 'root', mountPath: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' },
                ],
              },
            ],
            volumes: [
              { name: 'proc', hostPath: { path: '/proc' } },
              { name: 'sys', hostPath: { path: '/sys' } },
              { name: 'root', hostPath: { path: '/' } },
            ],
          },
        },
      },
    });
  },
};
