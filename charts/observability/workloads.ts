/**
 * The observability workloads, their namespaces and ports: one place, so the NetworkPolicies,
 * Services, probes and the scrape configuration all read the same numbers.
 *
 * Prometheus keeps the name and namespace the core already assumes (charts/lib/network.ts
 * `PROMETHEUS`): every metrics port declared by the core lets `monitoring/prometheus` in.
 */
import { PROMETHEUS, type Workload } from '../lib/network';
import { PROMETHEUS_SERVER } from '../lib/prometheus';


export const MONITORING_NAMESPACE = PROMETHEUS.namespace;
/** node-exporter shares the host's namespaces: its own privileged namespace (POLICY-RULES section 3). */
export const NODE_EXPORTER_NAMESPACE = 'node-exporter';
/** The log shipper mounts host log directories: its own privileged namespace (POLICY-RULES section 3). */
export const LOGGING_NAMESPACE = 'logging';

/** One replica: no gossip cluster port. */
export const ALERTMANAGER: Workload = { namespace: MONITORING_NAMESPACE, name: 'alertmanager', ports: { http: 9093 } };
export const GRAFANA: Workload = { namespace: MONITORING_NAMESPACE, name: 'grafana', ports: { http: 3000 } };
/** Single-binary Loki: the HTTP API (push, query, metrics) is the only port anything reaches. */
export const LOKI: Workload = { namespace: MONITORING_NAMESPACE, name: 'loki', ports: { http: 3100 } };
export const KUBE_STATE_METRICS: Workload = { namespace: MONITORING_NAMESPACE, name: 'kube-state-metrics', ports: { metrics: 8080, telemetry: 8081 } };
/** Runs on the host network (its port is the node's): NetworkPolicies do not apply to it. It opens no connection. */
export const NODE_EXPORTER: Workload = { namespace: NODE_EXPORTER_NAMESPACE, name: 'node-exporter', ports: { metrics: 9100 }, sendsNothing: true, hostNetwork: true };
/** Fluent Bit, the log shipper (`app.kubernetes.io/name: fluent-bit`, as policy/exceptions.ts expects). */
export const LOG_SHIPPER: Workload = { namespace: LOGGING_NAMESPACE, name: 'fluent-bit', ports: { http: 2020 } };

/** Every workload of the monitoring namespace, for its NetworkPolicies. */
export const MONITORING_WORKLOADS: readonly Workload[] = [PROMETHEUS_SERVER, ALERTMANAGER, GRAFANA, LOKI, KUBE_STATE_METRICS];

/** The in-cluster DNS name of a workload's Service (each workload has one Service of its own name). */
export function serviceHost(workload: Workload): string {
  return `${workload.name}.${workload.namespace}.svc`;
}

/** `http://<service>:<port>` of a workload's named port. */
export function serviceUrl(workload: Workload, portName: string): string {
  const port = workload.ports?.[portName];
  if (port === undefined) throw new Error(`workload ${workload.namespace}/${workload.name}: no port named "${portName}"`);
  return `http://${serviceHost(workload)}:${port}`;
}
