/**
 * The scraped workloads whose pods run (some or all) on the node's network. They live here, below
 * the services, because two sides need them: the service that installs each one (its namespace,
 * its connections) and Prometheus, which finds them by pod discovery at the node's address, where
 * no podSelector reaches, and so opens its egress to the nodes on exactly their metrics ports
 * (charts/observability/targets.ts). Same reason as `INGRESS_CONTROLLER` in ./network.ts
 * (docs/decisions/0110-host-network-scrape-targets.md).
 */
import type { Workload } from './network';

/**
 * MetalLB's controller and speaker: the chart labels both `app.kubernetes.io/name: metallb`; the
 * speaker runs on the host network, where NetworkPolicies do not apply, so one policy covers both.
 * Metrics: chart 0.16.1 serves them on `prometheus.metricsPort` 9120, HTTPS with a self-signed
 * certificate behind controller-runtime's authentication and authorization filter
 * (metallb/metallb metallb-chart-0.16.1: charts/metallb/values.yaml, internal/k8s/k8s.go).
 */
export const METALLB: Workload = { namespace: 'metallb-system', name: 'metallb', ports: { metrics: 9120, webhook: 9443 }, hostNetwork: true };

/**
 * ceph-csi's RBD node plugin (the chart labels pods `component: nodeplugin`, not the recommended
 * labels). Runs on the host network (policies are moot for it, Prometheus scrapes it at the node's
 * address) but is still selected, for completeness. Metrics on `nodeplugin.httpMetrics.containerPort`
 * (ceph/csi-charts, docs/rbd/ceph-csi-rbd-3.17.0.tgz: values.yaml, templates/nodeplugin-daemonset.yaml).
 */
export const CEPH_CSI_NODEPLUGIN: Workload = { namespace: 'ceph-csi', name: 'nodeplugin', selectorLabel: 'component', ports: { metrics: 8080 }, hostNetwork: true };
