/**
 * Prometheus' server as its clients outside the monitoring namespace know it: kured asks it for
 * active alerts before a reboot. Below the service charts, so a client reads its address without
 * importing the observability charts (docs/decisions/0094, test/architecture.test.ts).
 */
import { PROMETHEUS, portOf, type Workload } from './network';

/** Prometheus' server: the name and namespace the core assumes (`PROMETHEUS`), its HTTP API port. */
export const PROMETHEUS_SERVER: Workload = { ...PROMETHEUS, ports: { http: 9090 } };

/** Prometheus' address inside the cluster (its Service is named after the workload). */
export function prometheusUrl(): string {
  return `http://${PROMETHEUS_SERVER.name}.${PROMETHEUS_SERVER.namespace}.svc:${portOf(PROMETHEUS_SERVER, 'http')}`;
}
