/**
 * The service mesh dashboard (issue 18 item 5): per meshed workload, the inbound success rate,
 * request rate and p50/p95/p99 latency the proxies measure (the recorded series of
 * rules/mesh.ts), and the control plane's targets. Provisioned only when the mesh is on.
 */
import type { DashboardSpec } from './builder';
import { CONTROL_PLANE_TARGETS, PROXY_JOB } from '../mesh';
import { RECORDED } from '../rules/mesh';

const scope = 'namespace=~"$namespace", workload=~"$workload"';
const byWorkload = '{{namespace}}/{{workload}}';
const controlPlaneJobs = CONTROL_PLANE_TARGETS.map(([w]) => w.name).join('|');

export const MESH: DashboardSpec = {
  uid: 'platform-service-mesh',
  title: 'Service mesh',
  tags: ['platform', 'service-mesh', 'linkerd'],
  description: 'Linkerd: inbound success rate, request rate and latency of every meshed workload (its proxy), and the control plane.',
  variables: { namespace: `label_values(${RECORDED.requests}, namespace)`, workload: `label_values(${RECORDED.requests}, workload)` },
  rows: [
    [
      { kind: 'stat', title: 'Control plane targets up', width: 6, height: 4, queries: [{ expr: `sum(up{job=~"${controlPlaneJobs}"})` }] },
      { kind: 'stat', title: 'Proxies up', width: 6, height: 4, queries: [{ expr: `sum(up{job="${PROXY_JOB}"})` }] },
      {
        kind: 'stat',
        title: 'Lowest success rate',
        width: 6,
        height: 4,
        unit: 'percentunit',
        description: 'The meshed workload with the lowest share of successful inbound responses (5 min).',
        queries: [{ expr: `min(${RECORDED.success}{${scope}})` }],
      },
      { kind: 'stat', title: 'Inbound requests per second', width: 6, height: 4, unit: 'reqps', queries: [{ expr: `sum(${RECORDED.requests}{${scope}})` }] },
    ],
    [
      { kind: 'timeseries', title: 'Success rate by workload', unit: 'percentunit', queries: [{ expr: `${RECORDED.success}{${scope}}`, legend: byWorkload }] },
      { kind: 'timeseries', title: 'Request rate by workload', unit: 'reqps', queries: [{ expr: `${RECORDED.requests}{${scope}}`, legend: byWorkload }] },
    ],
    [
      { kind: 'timeseries', title: 'Failed responses by workload', unit: 'reqps', queries: [{ expr: `${RECORDED.responses}{${scope}, classification="failure"}`, legend: byWorkload }] },
      { kind: 'timeseries', title: 'Latency p50', unit: 'ms', queries: [{ expr: `${RECORDED.latency}{${scope}, quantile="0.5"}`, legend: byWorkload }] },
    ],
    [
      { kind: 'timeseries', title: 'Latency p95', unit: 'ms', queries: [{ expr: `${RECORDED.latency}{${scope}, quantile="0.95"}`, legend: byWorkload }] },
      { kind: 'timeseries', title: 'Latency p99', unit: 'ms', queries: [{ expr: `${RECORDED.latency}{${scope}, quantile="0.99"}`, legend: byWorkload }] },
    ],
    [{ kind: 'table', title: 'Success rate and latency (p99) per workload', width: 24, queries: [{ expr: `${RECORDED.success}{${scope}}` }, { expr: `${RECORDED.latency}{${scope}, quantile="0.99"}` }] }],
  ],
};
