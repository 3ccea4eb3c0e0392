/**
 * Prometheus: what it scrapes (every platform component that exposes metrics), that the network
 * lets it, the least-privilege RBAC behind its discovery, its storage and retention from the
 * model, and `promtool check config` on the rendered prometheus.yml with its rules.
 */
import { Testing } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { renderPlatform } from '../../../cli/render';
import { PLATFORM_SERVICES, allServices } from '../../../charts/catalogue';
import { servicePlan } from '../../../charts/synth';
import { serviceMeshEnabled } from '../../../charts/lib/service-mesh';
import { PROMETHEUS, type Connection, type Workload } from '../../../charts/lib/network';
import { Prometheus, PrometheusDiscovery, platformRuleGroups, prometheusConfig, retentionSize, type PrometheusProps } from '../../../charts/observability/prometheus';
import { HOST_NETWORK_TARGETS, discoveryNamespaces, podTargets, scrapeJobs, VELERO } from '../../../charts/observability/targets';
import { VAULT_SERVER } from '../../../charts/lib/vault';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { NetworkPolicyEvaluator } from '../../support/network-evaluator';
import { hasPromtool, promtoolCheckConfig } from '../../support/promtool';
import { IMAGES } from '../../../config/versions';
import { validateCoreObject } from '../../support/schemas';

const platform = loadDefaultPlatform();
const plan = { connections: PLATFORM_SERVICES.flatMap((s) => s.connections?.(platform) ?? []) };
const objects = () => kubeObjects(defaultRender()).map(({ object }) => object as any);
const find = (kind: string, name: string, namespace?: string) =>
  objects().find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
const configMapData = (files: Map<string, string>, name: string) => (parse(files.get(`k8s/platform/prometheus/configmap-${name}.yaml`)!) as any).data as Record<string, string>;
const jobs = scrapeJobs(platform, plan);
const jobNames = jobs.map((j) => j.job_name);

/** Prometheus alone, with small props of its own and the seed's jobs and rules. */
const PROPS: PrometheusProps = {
  node: 'node-a',
  retentionDays: 15,
  storageGiB: 20,
  scrapeInterval: '30s',
  cluster: 'example.com',
  scrapeJobs: jobs,
  ruleGroups: platformRuleGroups(platform, plan),
  plan,
};
function alone(props: PrometheusProps = PROPS): any[] {
  const chart = Testing.chart();
  new Prometheus(chart, 'prometheus', props);
  return Testing.synth(chart);
}
const findAlone = (kind: string, name: string) => alone().find((o) => o.kind === kind && o.metadata.name === name);

const isScrape = (c: Connection) => 'workload' in c.from && c.from.workload.namespace === PROMETHEUS.namespace && c.from.workload.name === PROMETHEUS.name;

describe('Prometheus', () => {
  it('scrapes at least 21 targets: every platform component that exposes metrics', () => {
    expect(jobNames).toEqual([
      'alertmanager',
      'apiserver',
      'argocd-application-controller',
      'argocd-applicationset-controller',
      'argocd-repo-server',
      'argocd-server',
      'cadvisor',
      'cainjector',
      'ceph-mgr',
      'cert-manager',
      'core',
      'coredns',
      'exporter',
      'fluent-bit',
      'gitaly',
      'gitlab-exporter',
      'grafana',
      'haproxy',
      'headscale',
      'jenkins',
      'jobservice',
      'kube-state-metrics',
      'kube-state-metrics-telemetry',
      'kubelet',
      'kured',
      'loki',
      'metallb',
      'nginx-ingress',
      'node-exporter',
      'nodeplugin',
      'postgresql',
      'prometheus',
      'provisioner',
      'redis',
      'registry',
      'sidekiq',
      'snapshot-controller',
      'vault',
      'velero',
      'webhook',
      'webservice',
      'webservice-workhorseMetrics',
      // Linkerd's control plane, when the seed turns the mesh on; the proxies' job comes from the
      // render's derived plan, not from the services' own connections (test/charts/observability/mesh.test.ts).
      ...(serviceMeshEnabled(platform) ? ['destination', 'identity', 'proxy-injector'] : []),
    ].sort());
    expect(jobNames.length).toBeGreaterThanOrEqual(21);
  });

  it('fails when a component that exposes metrics is not scraped', () => {
    // Every metrics port any service declares (scrapedBy) is a job of its own, on that port.
    const declared = plan.connections.filter((c) => isScrape(c) && c.purpose === 'metrics scrape');
    expect(declared.length).toBeGreaterThan(15);
    const targets = podTargets(plan);
    for (const c of declared) {
      const w = (c.to as { workload: Workload }).workload;
      for (const { port } of c.ports) {
        expect(targets.some((t) => t.workload.namespace === w.namespace && t.workload.name === w.name && t.port === port), `${w.namespace}/${w.name}:${port}`).toBe(true);
      }
    }
    // Every platform service that runs workloads has at least one of them scraped (a new service
    // that forgets `scrapedBy` fails here).
    // Vault and Velero are scraped through their Services (static jobs), not by pod discovery.
    const scrapedNamespaces = new Set([...targets.map((t) => t.workload.namespace), VAULT_SERVER.namespace, VELERO.namespace]);
    for (const service of PLATFORM_SERVICES) {
      const own = (service.connections?.(platform) ?? []).flatMap((c) => [c.from, c.to]).filter((p): p is { workload: Workload } => 'workload' in p && p.workload.namespace === service.namespace);
      // A service whose pods accept no connection at all (backup CronJobs) has nothing to scrape.
      if (own.length === 0 || own.every((p) => p.workload.receivesNothing)) continue;
      expect(scrapedNamespaces.has(service.namespace), `service ${service.name} (${service.namespace}) is not scraped`).toBe(true);
    }
    // What runs outside the pod network or comes with other issues.
    expect(jobNames).toEqual(expect.arrayContaining(['kubelet', 'cadvisor', 'apiserver', 'coredns', 'vault', 'velero', 'ceph-mgr', 'haproxy', 'headscale', 'prometheus']));
    // The three nodes' exporters: the DaemonSet runs on every node, and node-exporter is scraped per pod.
    expect(find('DaemonSet', 'node-exporter').spec.template.spec.tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('addresses the external targets from the model: Ceph managers, the gateway over the mesh, Vault and Velero by Service', () => {
    const byName = Object.fromEntries(jobs.map((j) => [j.job_name, j as any]));
    expect(byName['ceph-mgr'].static_configs).toEqual([{ targets: ['192.168.10.21:9283', '192.168.10.22:9283', '192.168.10.23:9283'] }]);
    expect(byName.haproxy.static_configs).toEqual([{ targets: ['100.64.0.1:8405'], labels: { instance: 'gateway' } }]);
    expect(byName.headscale).toMatchObject({ metrics_path: '/headscale/metrics', static_configs: [{ targets: ['100.64.0.1:8405'] }] });
    expect(byName.vault).toMatchObject({
      scheme: 'https',
      metrics_path: '/v1/sys/metrics',
      params: { format: ['prometheus'] },
      tls_config: { server_name: 'vault.lumetium.com' },
      static_configs: [{ targets: ['vault.vault.svc:8200'] }],
    });
    expect(byName.velero.static_configs).toEqual([{ targets: ['velero.velero.svc:8085'] }]);
    expect(byName.kubelet).toMatchObject({ scheme: 'https', metrics_path: '/metrics', kubernetes_sd_configs: [{ role: 'node' }] });
    expect(byName.cadvisor.metrics_path).toBe('/metrics/cadvisor');
    expect(byName['cert-manager'].kubernetes_sd_configs).toEqual([
      { role: 'pod', namespaces: { names: ['cert-manager'] }, selectors: [{ role: 'pod', label: 'app.kubernetes.io/name=cert-manager' }] },
    ]);
    expect(byName.provisioner.kubernetes_sd_configs[0].selectors).toEqual([{ role: 'pod', label: 'component=provisioner' }]);
    expect(byName['fluent-bit'].metrics_path).toBe('/api/v2/metrics/prometheus');
  });

  it('may reach every target: the NetworkPolicies allow each scrape and nothing else of Prometheus', () => {
    const evaluator = new NetworkPolicyEvaluator(objects());
    const prometheusPod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.1.50' };
    const podOf = (w: Workload, ip: string) => ({ pod: { namespace: w.namespace, labels: { [w.selectorLabel ?? 'app.kubernetes.io/name']: w.name }, ip } });
    let n = 60;
    for (const target of podTargets(plan)) {
      expect(evaluator.allows({ from: { pod: prometheusPod }, to: podOf(target.workload, `10.42.2.${n++}`), port: target.port }), target.job).toBe(true);
    }
    const outside: [string, number][] = [['192.168.10.21', 9283], ['100.64.0.1', 8405], ['100.64.0.10', 10250], ['100.64.0.12', 9100], ['192.168.10.11', 10250]];
    for (const [ip, port] of outside) expect(evaluator.allows({ from: { pod: prometheusPod }, to: { ip }, port }), `${ip}:${port}`).toBe(true);
    // Not the internet, not the Ceph OSDs, not SSH on the nodes.
    for (const [ip, port] of [['8.8.8.8', 443], ['192.168.10.21', 6800], ['100.64.0.10', 22]] as [string, number][]) {
      expect(evaluator.allows({ from: { pod: prometheusPod }, to: { ip }, port }), `${ip}:${port}`).toBe(false);
    }
  });

  it('reaches the host-network targets at every node address on exactly their metrics ports (MetalLB speaker, ceph-csi node plugin)', () => {
    // GIVEN pods on the node's network are found by pod discovery at the node's address, where
    // NetworkPolicy cannot select them, THEN Prometheus' egress must allow the node addresses on
    // each such target's scraped port.
    const evaluator = new NetworkPolicyEvaluator(objects());
    const prometheusPod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ip: '10.42.1.50' };
    const nodeIps = Object.values(platform.nodes).flatMap((n) => [n.meshAddress, n.lanAddress]);
    const hostTargets = podTargets(plan).filter((t) => t.workload.hostNetwork);
    expect(hostTargets.map((t) => `${t.workload.namespace}/${t.workload.name}`).sort()).toEqual(['ceph-csi/nodeplugin', 'metallb-system/metallb', 'node-exporter/node-exporter']);
    for (const target of hostTargets) {
      for (const ip of nodeIps) expect(evaluator.allows({ from: { pod: prometheusPod }, to: { ip }, port: target.port }), `${target.job} at ${ip}:${target.port}`).toBe(true);
    }
    // Only those ports (and the kubelet's and node-exporter's): not SSH, etcd or the read-only kubelet port.
    const opened = new Set([...hostTargets.map((t) => t.port), 10250, 9100]);
    for (const port of [22, 2379, 8081, 10255]) {
      if (opened.has(port)) continue;
      for (const ip of nodeIps) expect(evaluator.allows({ from: { pod: prometheusPod }, to: { ip }, port }), `${ip}:${port}`).toBe(false);
    }
    // The declared list and the workloads agree: a scraped host-network workload missing from it fails above.
    expect(HOST_NETWORK_TARGETS.every((w) => w.hostNetwork)).toBe(true);
  });

  it('scrapes MetalLB 0.16 over HTTPS with its token (controller-runtime secure metrics)', () => {
    const job = jobs.find((j) => j.job_name === 'metallb') as any;
    expect(job).toMatchObject({ scheme: 'https', authorization: { credentials_file: '/var/run/secrets/kubernetes.io/serviceaccount/token' }, tls_config: { insecure_skip_verify: true } });
    expect(findAlone('ClusterRole', 'prometheus').rules).toContainEqual({ nonResourceURLs: ['/metrics'], verbs: ['get'] });
  });

  it('discovers with least privilege: pods only in its targets\' namespaces, nodes and their metrics, the API server\'s /metrics', () => {
    expect(findAlone('ClusterRole', 'prometheus').rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    expect(findAlone('ClusterRole', 'prometheus-discovery').rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }]);
    // Granted per namespace only: RoleBindings, no ClusterRoleBinding for pods.
    expect(objects().filter((o) => o.kind === 'ClusterRoleBinding' && o.roleRef.name === 'prometheus-discovery')).toEqual([]);
    const bindings = objects().filter((o) => o.kind === 'RoleBinding' && o.roleRef.name === 'prometheus-discovery');
    const namespaces = new Set(objects().filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
    // The render's plan: with the mesh on it also holds the scrapes of the proxies (derived in servicePlan).
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(discoveryNamespaces(servicePlan(platform, allServices(platform))));
    for (const binding of bindings) {
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'prometheus-discovery' });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);
      expect(namespaces.has(binding.metadata.namespace), binding.metadata.namespace).toBe(true);
    }
  });

  it('GIVEN a node, retention and volume size WHEN rendered THEN it runs as a StatefulSet on ceph-rbd on that node, keeping that long and at most 80% of the volume', () => {
    const objects = alone();
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    const pod = sts.spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-a' });
    expect(pod.containers[0].image).toBe(IMAGES.prometheus);
    expect(pod.containers[0].args).toEqual(expect.arrayContaining(['--storage.tsdb.retention.time=15d', '--storage.tsdb.retention.size=16GB']));
    expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-rbd', resources: { requests: { storage: '20Gi' } } });
    expect(objects.find((o) => o.kind === 'Service').spec.clusterIP).toBe('None');
    // Discovery and the kubelet scrapes use its token.
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(retentionSize(20)).toBe('16GB');
    const config = parse(objects.find((o) => o.metadata.name === 'prometheus-config').data['prometheus.yml']);
    expect(config.global).toEqual({ scrape_interval: '30s', evaluation_interval: '30s', scrape_timeout: '10s', external_labels: { cluster: 'example.com' } });
    expect(config.alerting).toEqual({ alertmanagers: [{ static_configs: [{ targets: ['alertmanager.monitoring.svc:9093'] }] }] });
    expect(config.scrape_configs.map((j: any) => j.job_name)).toEqual(jobNames);
    expect(Object.keys(objects.find((o) => o.metadata.name === 'prometheus-rules').data).sort()).toEqual(PROPS.ruleGroups.map((g) => `${g.name}.yaml`).sort());
  });

  it('GIVEN the seed render WHEN the catalogue builds it THEN its node and retention come from the model', () => {
    const sts = find('StatefulSet', 'prometheus');
    expect(sts.spec.template.spec.nodeSelector).toEqual({ 'platform-synthesizer.io/node': platform.services.prometheus.node });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${platform.observability.prometheus.storageGiB}Gi`);
  });

  it('GIVEN a plan WHEN the discovery grants are rendered THEN each namespace of a pod target gets one RoleBinding to the discovery role, and every object is schema-valid', () => {
    const chart = Testing.chart();
    new PrometheusDiscovery(chart, 'discovery', { plan });
    const bindings = Testing.synth(chart);
    expect(bindings.map((b: any) => b.metadata.namespace).sort()).toEqual([...new Set(podTargets(plan).map((t) => t.workload.namespace))].sort());
    for (const object of [...bindings, ...alone()]) expect(validateCoreObject(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('promtool check config accepts the rendered prometheus.yml and its rules (default and one-node platforms)', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    for (const files of [defaultRender(), renderPlatform(single)]) {
      const result = promtoolCheckConfig(configMapData(files, 'prometheus-config')['prometheus.yml'], configMapData(files, 'prometheus-rules'));
      expect(result.output).toContain('is valid prometheus config file syntax');
      expect(result.output).toContain(`SUCCESS: ${Object.keys(configMapData(files, 'prometheus-rules')).length} rule files found`);
      expect(Object.keys(configMapData(files, 'prometheus-rules')).length).toBeGreaterThanOrEqual(12);
      expect(result.status, result.output).toBe(0);
    }
    expect(prometheusConfig({ scrapeInterval: single.observability.scrapeInterval, cluster: single.domain, scrapeJobs: scrapeJobs(single, plan) }).global).toMatchObject({ scrape_interval: '1m', scrape_timeout: '10s', external_labels: { cluster: 'example.net' } });
  });

  it('promtool check config rejects a broken scrape config (the check is not a no-op)', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const result = promtoolCheckConfig('scrape_configs:\n  - job_name: a\n    scrape_interval: often\n', {});
    expect(result.status).not.toBe(0);
  });
});
