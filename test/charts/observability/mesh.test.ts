/**
 * The service mesh's observability (issue 18 item 5, docs/decisions/0125): what Prometheus scrapes
 * of the proxies and the control plane, the NetworkPolicy halves and discovery grants that follow
 * from the plan, the recording rules and alerts under promtool, the dashboard's queries, and that
 * none of it exists when the mesh is off.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allServices } from '../../../charts/catalogue';
import { servicePlan } from '../../../charts/synth';
import type { Connection, Workload } from '../../../charts/lib/network';
import { isAlertingRule, type AlertingRule } from '../../../charts/lib/rule-group';
import { PROMETHEUS_SERVER } from '../../../charts/lib/prometheus';
import { PROXY_PORTS } from '../../../charts/lib/service-mesh';
import {
  CONTROL_PLANE_TARGETS,
  IDENTITY_ISSUER_CERTIFICATE,
  PROXY_JOB,
  PROXY_SCRAPE_PURPOSE,
  TRUST_ANCHOR_CERTIFICATE,
  proxyScrapeConnections,
  proxyTargets,
  unwatchedMeshCertificates,
} from '../../../charts/observability/mesh';
import { platformRuleGroups, ruleFiles } from '../../../charts/observability/prometheus';
import { RECORDED } from '../../../charts/observability/rules/mesh';
import { kubeObjects, meshRender, platformWithMesh, renderWithMesh } from '../../support/render';
import { NetworkPolicyEvaluator } from '../../support/network-evaluator';
import { hasPromtool, promtoolCheckConfig, promtoolCheckRules, promtoolTestRules } from '../../support/promtool';
import { recordedNames, renderedQueries, undeclaredMetrics } from '../../support/promql';

const on = platformWithMesh(true);
const off = platformWithMesh(false);
const planOf = (platform: typeof on) => servicePlan(platform, allServices(platform));
const meshPlan = planOf(on);
const data = (files: Map<string, string>, path: string) => (parse(files.get(path)!) as { data: Record<string, string> }).data;
const PROMETHEUS_CONFIG = 'k8s/platform/prometheus/configmap-prometheus-config.yaml';
const PROMETHEUS_RULES = 'k8s/platform/prometheus/configmap-prometheus-rules.yaml';
const GRAFANA_DASHBOARDS = 'k8s/platform/grafana/configmap-grafana-dashboards.yaml';
const scrapeConfigs = (files: Map<string, string>) => (parse(data(files, PROMETHEUS_CONFIG)['prometheus.yml']) as { scrape_configs: Record<string, any>[] }).scrape_configs;
const key = (w: Workload) => `${w.namespace}/${w.name}`;
const sel = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

// ---- a small relabelling evaluator (Prometheus' replace, keep and drop) ----------------------

type Labels = Record<string, string>;
interface Relabel {
  source_labels?: string[];
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: 'replace' | 'keep' | 'drop';
}

/**
 * The target's labels after `relabel_configs`, or undefined when it is dropped. Prometheus'
 * semantics (prometheus/prometheus model/relabel/relabel.go): source values joined by `;`, the
 * regex anchored at both ends, replace sets the target label when the regex matches (an empty
 * result removes it); labels starting with `__` are gone after relabelling.
 */
function relabel(target: Labels, rules: readonly Relabel[]): Labels | undefined {
  const labels = { ...target };
  for (const rule of rules) {
    const value = (rule.source_labels ?? []).map((l) => labels[l] ?? '').join(';');
    const match = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(value);
    const action = rule.action ?? 'replace';
    if (action === 'keep' && !match) return undefined;
    if (action === 'drop' && match) return undefined;
    if (action === 'replace' && match) {
      const result = (rule.replacement ?? '$1').replace(/\$(\d)/g, (_, i: string) => match[Number(i)] ?? '');
      if (result === '') delete labels[rule.target_label!];
      else labels[rule.target_label!] = result;
    }
  }
  return Object.fromEntries(Object.entries(labels).filter(([name]) => !name.startsWith('__')));
}

/** The discovery labels of one container port of a pod (Prometheus' kubernetes_sd, role pod). */
function discovered(namespace: string, podLabels: Labels, container: string, portName: string): Labels {
  const meta = Object.fromEntries(Object.entries(podLabels).map(([k, v]) => [`__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`, v]));
  return {
    ...meta,
    __meta_kubernetes_namespace: namespace,
    __meta_kubernetes_pod_name: 'pod-0',
    __meta_kubernetes_pod_node_name: 'k3s-worker-01',
    __meta_kubernetes_pod_phase: 'Running',
    __meta_kubernetes_pod_container_name: container,
    __meta_kubernetes_pod_container_port_name: portName,
  };
}

describe('GIVEN the mesh off', () => {
  // The seed's render is dist/; when the seed turns the mesh on, the off case is rendered (once per worker).
  const files = renderWithMesh(false);

  it('WHEN the platform is rendered THEN nothing of the mesh\'s observability exists: no proxy scrape, job, rule group, dashboard, proxy port or grant', () => {
    const plan = planOf(off);
    expect(plan.connections.filter((c) => c.purpose === PROXY_SCRAPE_PURPOSE)).toEqual([]);
    expect(platformRuleGroups(off, plan).map((g) => g.name).filter((n) => n.startsWith('service-mesh'))).toEqual([]);
    const jobs = scrapeConfigs(files).map((j) => j.job_name);
    for (const job of [PROXY_JOB, ...CONTROL_PLANE_TARGETS.map(([w]) => w.name)]) expect(jobs).not.toContain(job);
    expect(Object.keys(data(files, GRAFANA_DASHBOARDS))).not.toContain('platform-service-mesh.json');
    expect([...files].filter(([, text]) => text.includes(`port: ${PROXY_PORTS.admin}`)).map(([path]) => path)).toEqual([]);
    expect([...files.keys()].filter((path) => path.includes('rolebinding-prometheus-discovery-linkerd'))).toEqual([]);
  });
});

describe('GIVEN the mesh on', () => {
  const files = meshRender();
  const objects = kubeObjects(files).map(({ object }) => object as any);
  const targets = proxyTargets(meshPlan.connections);

  it('WHEN the plan is derived THEN every meshed workload that accepts connections gets one proxy scrape, and no unmeshed, host-network or call-only workload does', () => {
    const ns = (namespace: string, name: string, extra: Partial<Workload> = {}): Workload => ({ namespace, name, ports: { http: 8080 }, ...extra });
    const app = ns('shop', 'web');
    const db = ns('shop', 'db');
    const job = ns('shop', 'migrate', { receivesNothing: true });
    const host = ns('node-exporter', 'node-exporter', { hostNetwork: true });
    const dns = ns('kube-system', 'kube-dns', { selectorLabel: 'k8s-app' });
    const declared: Connection[] = [
      { from: { workload: app }, to: { workload: db }, ports: [{ port: 5432 }], purpose: 'db' },
      { from: { workload: job }, to: { workload: db }, ports: [{ port: 5432 }], purpose: 'migration' },
      { from: { workload: app }, to: { workload: dns }, ports: [{ port: 53 }], purpose: 'DNS' },
      { from: { workload: PROMETHEUS_SERVER }, to: { workload: host }, ports: [{ port: 9100 }], purpose: 'metrics scrape' },
    ];
    const derived = proxyScrapeConnections(on, declared);
    expect(derived.map((c) => `${'workload' in c.to ? key(c.to.workload) : '?'}:${c.ports.map((p) => p.port).join(',')}`)).toEqual([
      'monitoring/prometheus:4191',
      'shop/db:4191',
      'shop/web:4191',
    ]);
    expect(derived.every((c) => 'workload' in c.from && key(c.from.workload) === 'monitoring/prometheus' && c.optionalAtStart)).toBe(true);
    expect(proxyScrapeConnections(off, declared)).toEqual([]);
  });

  it('WHEN the NetworkPolicies are rendered THEN Prometheus, and only Prometheus, reaches each scraped proxy\'s admin port, and a call-only workload\'s proxy stays closed', () => {
    const evaluator = new NetworkPolicyEvaluator(objects);
    const prometheus = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.1.50' };
    const grafana = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'grafana' }, ip: '10.42.1.51' };
    const pod = (w: Workload, ip: string) => ({ namespace: w.namespace, labels: { [w.selectorLabel ?? 'app.kubernetes.io/name']: w.name }, ip });
    expect(targets.length).toBeGreaterThan(20);
    const closed = targets.filter((w) => !evaluator.allows({ from: { pod: prometheus }, to: { pod: pod(w, '10.42.2.20') }, port: PROXY_PORTS.admin }));
    expect(closed.map(key)).toEqual([]);
    // Not a blanket rule: another pod of the monitoring namespace is refused at the same port.
    const gitlab = targets.find((w) => w.namespace === 'gitlab')!;
    expect(evaluator.allows({ from: { pod: grafana }, to: { pod: pod(gitlab, '10.42.2.21') }, port: PROXY_PORTS.admin })).toBe(false);
    const callOnly = meshPlan.connections.flatMap((c) => ('workload' in c.from && c.from.workload.receivesNothing ? [c.from.workload] : [])).find((w) => w.namespace !== 'kube-system')!;
    expect(callOnly, 'a workload that only calls out').toBeDefined();
    expect(evaluator.allows({ from: { pod: prometheus }, to: { pod: pod(callOnly, '10.42.2.22') }, port: PROXY_PORTS.admin })).toBe(false);
  });

  it('WHEN the discovery grants are rendered THEN Prometheus may list pods in every namespace of a scraped proxy and in the control plane\'s', () => {
    const granted = new Set(objects.filter((o) => o.kind === 'RoleBinding' && o.roleRef.name === 'prometheus-discovery').map((o) => o.metadata.namespace));
    expect([...new Set([...targets.map((w) => w.namespace), 'linkerd'])].filter((ns) => !granted.has(ns))).toEqual([]);
  });

  it('WHEN the linkerd-proxy job relabels what discovery finds THEN it keeps the proxy admin port of planned workloads only, labelled with their workload', () => {
    const job = scrapeConfigs(files).find((j) => j.job_name === PROXY_JOB)!;
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: [...new Set(targets.map((w) => w.namespace))].sort() } }]);
    const grafana = { 'app.kubernetes.io/name': 'grafana', 'linkerd.io/proxy-deployment': 'grafana' };
    expect(relabel(discovered('monitoring', grafana, 'linkerd-proxy', 'linkerd-admin'), job.relabel_configs)).toEqual({
      namespace: 'monitoring',
      pod: 'pod-0',
      node: 'k3s-worker-01',
      workload: 'grafana',
      workload_kind: 'deployment',
    });
    const webservice = { app: 'webservice', 'linkerd.io/proxy-deployment': 'gitlab-webservice-default' };
    expect(relabel(discovered('gitlab', webservice, 'linkerd-proxy', 'linkerd-admin'), job.relabel_configs)).toMatchObject({ workload: 'gitlab-webservice-default', workload_kind: 'deployment' });
    const postgres = { 'app.kubernetes.io/name': 'postgresql', 'linkerd.io/proxy-statefulset': 'postgresql' };
    expect(relabel(discovered('databases', postgres, 'linkerd-proxy', 'linkerd-admin'), job.relabel_configs)).toMatchObject({ workload: 'postgresql', workload_kind: 'statefulset' });
    // The application's own port, a pod the plan does not name, and a planned name in another namespace are dropped.
    expect(relabel(discovered('monitoring', grafana, 'grafana', 'http'), job.relabel_configs)).toBeUndefined();
    expect(relabel(discovered('monitoring', { 'app.kubernetes.io/name': 'debug-shell' }, 'linkerd-proxy', 'linkerd-admin'), job.relabel_configs)).toBeUndefined();
    expect(relabel(discovered('gitlab', grafana, 'linkerd-proxy', 'linkerd-admin'), job.relabel_configs)).toBeUndefined();
  });

  it('WHEN the control plane is scraped THEN destination, identity and the proxy injector each have a job on their admin port in linkerd', () => {
    const jobs = scrapeConfigs(files);
    for (const [workload, port] of CONTROL_PLANE_TARGETS) {
      const job = jobs.find((j) => j.job_name === workload.name)!;
      expect(job.kubernetes_sd_configs[0]).toEqual({ role: 'pod', namespaces: { names: ['linkerd'] }, selectors: [{ role: 'pod', label: `linkerd.io/control-plane-component=${workload.name}` }] });
      expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(workload.ports![port]), action: 'keep' });
    }
  });

  it.runIf(hasPromtool())('WHEN promtool checks the rendered prometheus.yml and rule files THEN both are valid', () => {
    const result = promtoolCheckConfig(data(files, PROMETHEUS_CONFIG)['prometheus.yml'], data(files, PROMETHEUS_RULES));
    expect(result.output).toContain('is valid prometheus config file syntax');
    expect(result.status, result.output).toBe(0);
  });

  it('WHEN the dashboards and rules name metrics THEN each is declared for a rendered job or recorded by a rendered rule', () => {
    const rules = data(files, PROMETHEUS_RULES);
    const jobs = scrapeConfigs(files).map((j) => j.job_name);
    const dashboards = data(files, GRAFANA_DASHBOARDS);
    expect(Object.keys(dashboards)).toContain('platform-service-mesh.json');
    const queries = renderedQueries({ 'platform-service-mesh.json': dashboards['platform-service-mesh.json'] });
    expect(queries.length).toBeGreaterThan(8);
    expect(undeclaredMetrics(queries, jobs, recordedNames(rules))).toEqual([]);
    const meshRules = parse(rules['service-mesh-traffic.yaml']).groups[0].rules.map((r: any) => ({ dashboard: 'service-mesh-traffic.yaml', panel: r.record, expr: r.expr }));
    expect(undeclaredMetrics(meshRules, jobs)).toEqual([]);
    // The check can fail: without the proxy job, the proxies' families are undeclared.
    expect(undeclaredMetrics(meshRules, jobs.filter((j) => j !== PROXY_JOB))).toContain(`service-mesh-traffic.yaml / ${RECORDED.requests}: request_total`);
  });

  it.runIf(hasPromtool())('WHEN promtool parses every mesh dashboard query THEN all are valid PromQL', () => {
    const queries = renderedQueries({ mesh: data(files, GRAFANA_DASHBOARDS)['platform-service-mesh.json'] }).filter((q) => !q.panel.startsWith('variable '));
    const result = promtoolCheckRules({ 'q.yaml': JSON.stringify({ groups: [{ name: 'q', rules: queries.map((q, i) => ({ record: `q:${i}`, expr: q.expr })) }] }) });
    expect(result.status, result.output).toBe(0);
  });

  it('WHEN the trust chain\'s Certificates are compared with the watched ones THEN they agree, and a renamed or unwatched one is reported', () => {
    const chain = unwatchedMeshCertificates(objects);
    // Once the install renders its Certificates (issue 18 item 2), the names must agree.
    if (objects.some((o) => o.kind === 'Certificate' && o.metadata.namespace === 'linkerd')) expect(chain).toEqual({ unwatched: [], missing: [] });
    const cert = (namespace: string, name: string, isCA = true) => ({ kind: 'Certificate', metadata: { namespace, name }, spec: { isCA } });
    const webhook = cert('linkerd', 'linkerd-proxy-injector', false);
    expect(unwatchedMeshCertificates([cert('linkerd', 'linkerd-identity-issuer'), cert('linkerd', 'linkerd-trust-anchor'), webhook])).toEqual({ unwatched: [], missing: [] });
    expect(unwatchedMeshCertificates([cert('linkerd', 'identity-issuer'), cert('linkerd', 'linkerd-trust-anchor'), cert('monitoring', 'grafana-tls'), webhook])).toEqual({
      unwatched: ['linkerd/identity-issuer'],
      missing: ['linkerd/linkerd-identity-issuer'],
    });
  });
});

// ---- the rules under promtool ---------------------------------------------------------------

const groups = platformRuleGroups(on, meshPlan);
const files = ruleFiles(groups);
const alerts = new Map(groups.flatMap((g) => g.rules.filter(isAlertingRule).map((r) => [r.alert, r] as const)));
const proxy = { job: PROXY_JOB, namespace: 'gitlab', pod: 'webservice-0', workload: 'webservice', workload_kind: 'deployment', direction: 'inbound' };
const issuer = { job: 'cert-manager', namespace: IDENTITY_ISSUER_CERTIFICATE.namespace, name: IDENTITY_ISSUER_CERTIFICATE.name, issuer_name: 'linkerd-identity-issuer', issuer_kind: 'ClusterIssuer', issuer_group: 'cert-manager.io' };
const anchor = { ...issuer, namespace: TRUST_ANCHOR_CERTIFICATE.namespace, name: TRUST_ANCHOR_CERTIFICATE.name, issuer_name: 'linkerd-trust-root-issuer', issuer_kind: 'Issuer' };
const expiry = (labels: Record<string, string>) => sel('certmanager_certificate_expiration_timestamp_seconds', labels);
const renewal = (labels: Record<string, string>) => sel('certmanager_certificate_renewal_timestamp_seconds', labels);

/** Prometheus' template expansion for what our annotations use: `{{ $labels.<name> }}`. */
const expand = (template: string, labels: Record<string, string>) => template.replace(/\{\{ \$labels\.([a-zA-Z_]+) \}\}/g, (_, name: string) => labels[name] ?? '<no value>');

function alertCase(name: string, series: Record<string, string>, at: string, labels: Record<string, string> | undefined) {
  const rule = alerts.get(name) as AlertingRule;
  expect(rule, name).toBeDefined();
  const all = { ...labels, severity: rule.labels.severity };
  return {
    interval: '1m',
    input_series: Object.entries(series).map(([s, values]) => ({ series: s, values })),
    alert_rule_test: [{ eval_time: at, alertname: name, exp_alerts: labels ? [{ exp_labels: all, exp_annotations: { summary: expand(rule.annotations.summary, all), description: expand(rule.annotations.description, all) } }] : [] }],
  };
}

const runTests = (file: string, tests: unknown[]) => promtoolTestRules({ [file]: files[file] }, { evaluation_interval: '1m', tests });

/**
 * Each alert's cases: a short renewal window (1 h, renewal at 600 s, expiry at 4200 s) so the
 * late shares are reached within an hour; healthy and not-yet-scheduled certificates stay quiet.
 */
const ALERT_CASES = () => [
  // 10 % of the window late (from 960 s on) for 15 min: fires at 31 min.
  alertCase('MeshCertificateRenewalOverdue', { [expiry(issuer)]: '4200x60', [renewal(issuer)]: '600x60' }, '35m', issuer),
  alertCase('MeshCertificateRenewalOverdue', { [expiry(anchor)]: '4200x60', [renewal(anchor)]: '600x60' }, '35m', anchor),
  alertCase('MeshCertificateRenewalOverdue', { [expiry(issuer)]: '4200x60', [renewal(issuer)]: '600x60' }, '25m', undefined),
  alertCase('MeshCertificateRenewalOverdue', { [expiry(issuer)]: '100000x60', [renewal(issuer)]: '10000x60' }, '50m', undefined),
  // cert-manager has scheduled no renewal (0): no window to measure against.
  alertCase('MeshCertificateRenewalOverdue', { [expiry(issuer)]: '2000x60', [renewal(issuer)]: '0x60' }, '50m', undefined),
  // Half the window late (from 2400 s on) for 5 min: fires at 45 min.
  alertCase('MeshCertificateExpiring', { [expiry(issuer)]: '4200x60', [renewal(issuer)]: '600x60' }, '50m', issuer),
  alertCase('MeshCertificateExpiring', { [expiry(issuer)]: '4200x60', [renewal(issuer)]: '600x60' }, '35m', undefined),
  alertCase('MeshIdentityIssuerCertificateMissing', {}, '40m', { namespace: issuer.namespace, name: issuer.name }),
  alertCase('MeshIdentityIssuerCertificateMissing', { [expiry(issuer)]: '100000x60' }, '40m', undefined),
  ...CONTROL_PLANE_TARGETS.flatMap(([w]) => {
    const name = `Linkerd${w.name.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('')}Down`;
    const up = sel('up', { job: w.name, instance: '10.42.0.9:9990', namespace: 'linkerd', pod: `${w.name}-0` });
    return [alertCase(name, { [up]: '0x10' }, '7m', {}), alertCase(name, {}, '7m', {}), alertCase(name, { [up]: '1x10' }, '7m', undefined)];
  }),
];

describe('GIVEN the mesh on WHEN promtool evaluates its rules', () => {
  it('THEN the groups are present and promtool accepts them', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['service-mesh.yaml', 'service-mesh-traffic.yaml']));
    const result = promtoolCheckRules({ 'service-mesh.yaml': files['service-mesh.yaml'], 'service-mesh-traffic.yaml': files['service-mesh-traffic.yaml'] });
    expect(result.status, result.output).toBe(0);
  });

  it('THEN every mesh alert fires on its case and stays quiet on healthy series', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const cases = ALERT_CASES();
    const covered = new Set(cases.map((c) => c.alert_rule_test[0].alertname));
    expect([...alerts.keys()].filter((a) => /^(Mesh|Linkerd)/.test(a) && !covered.has(a))).toEqual([]);
    const result = runTests('service-mesh.yaml', cases);
    expect(result.output).toContain('SUCCESS');
    expect(result.status, result.output).toBe(0);
  });

  it('fails when the expected alert carries a wrong label (the identity issuer misnamed)', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const wrong = alertCase('MeshCertificateExpiring', { [expiry(issuer)]: '4200x60', [renewal(issuer)]: '600x60' }, '50m', { ...issuer, name: 'linkerd-identity-issuers' });
    const result = runTests('service-mesh.yaml', [wrong]);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('MeshCertificateExpiring');
  });

  it('THEN the recording rules give each workload its inbound rate, success ratio and latency quantiles, outbound traffic aside', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const out = { ...proxy, direction: 'outbound' };
    const workload = { namespace: 'gitlab', workload: 'webservice', workload_kind: 'deployment' };
    // 1 request/s, 90 % successful; half the responses within 10 ms (p50 = 10), 90 % within 100 ms, so
    // p95 and p99 fall into the +Inf bucket and report its lower bound (100).
    const test = {
      interval: '1m',
      input_series: [
        { series: sel('request_total', proxy), values: '0+60x10' },
        { series: sel('response_total', { ...proxy, classification: 'success' }), values: '0+54x10' },
        { series: sel('response_total', { ...proxy, classification: 'failure' }), values: '0+6x10' },
        { series: sel('response_total', { ...out, classification: 'failure' }), values: '0+600x10' },
        { series: sel('response_latency_ms_bucket', { ...proxy, le: '10' }), values: '0+30x10' },
        { series: sel('response_latency_ms_bucket', { ...proxy, le: '100' }), values: '0+54x10' },
        { series: sel('response_latency_ms_bucket', { ...proxy, le: '+Inf' }), values: '0+60x10' },
      ],
      promql_expr_test: [
        { expr: RECORDED.requests, eval_time: '10m', exp_samples: [{ labels: sel(RECORDED.requests, workload), value: 1 }] },
        { expr: RECORDED.success, eval_time: '10m', exp_samples: [{ labels: sel(RECORDED.success, workload), value: 0.9 }] },
        { expr: `${RECORDED.responses}{classification="failure"}`, eval_time: '10m', exp_samples: [{ labels: sel(RECORDED.responses, { ...workload, classification: 'failure' }), value: 0.1 }] },
        {
          expr: RECORDED.latency,
          eval_time: '10m',
          exp_samples: [
            { labels: sel(RECORDED.latency, { ...workload, quantile: '0.5' }), value: 10 },
            { labels: sel(RECORDED.latency, { ...workload, quantile: '0.95' }), value: 100 },
            { labels: sel(RECORDED.latency, { ...workload, quantile: '0.99' }), value: 100 },
          ],
        },
      ],
    };
    const result = runTests('service-mesh-traffic.yaml', [test]);
    expect(result.status, result.output).toBe(0);
  });

  it('THEN the generic certificate alerts leave the short-lived trust chain to the mesh\'s own alerts, and still watch the others', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const grafana = { job: 'cert-manager', namespace: 'monitoring', name: 'grafana-tls', issuer_name: 'letsencrypt-prod' };
    // The identity issuer lives 48 h: one day left is normal for it, and a day is too short for a public certificate.
    const rule = alerts.get('CertificateExpiresInDays')!;
    const labels = { ...grafana, severity: rule.labels.severity };
    const test = {
      interval: '1m',
      input_series: [{ series: expiry(issuer), values: '86400x40' }, { series: expiry(grafana), values: '86400x40' }],
      alert_rule_test: [
        { eval_time: '30m', alertname: 'CertificateExpiresInDays', exp_alerts: [{ exp_labels: labels, exp_annotations: { summary: expand(rule.annotations.summary, labels), description: expand(rule.annotations.description, labels) } }] },
      ],
    };
    const result = runTests('certificates.yaml', [test]);
    expect(result.status, result.output).toBe(0);
  });
});
