import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { GITLAB_SECRETS, GitLab, gitlabChart, type GitLabChartProps, type GitLabProps } from '../../../charts/source/gitlab';
import { allServices } from '../../../charts/catalogue';
import { Databases } from '../../../charts/data/databases';
import { Postgresql } from '../../../charts/data/postgresql';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { ROOT } from '../../support/render';
import { CHARTS } from '../../../config/versions';

const CHART_PROPS: GitLabChartProps = {
  domain: 'example.com',
  host: 'git.example.com',
  gitalyNode: 'node-g',
  gitlabNode: 'node-w',
  gitalyStorageGiB: 40,
  bucketPrefix: 'code',
  backupRetentionDays: 7,
};
const values = (props: Partial<GitLabChartProps> = {}) => gitlabChart({ ...CHART_PROPS, ...props }).values as any;

/** GitLab's own objects, with the network plan of its own connections in the default model (RGW at 192.168.10.21). */
function objects(props: Partial<GitLabProps> = {}): any[] {
  const chart = Testing.chart();
  const plan = { connections: GitLab.registration.connections!(loadDefaultPlatform()) };
  new GitLab(chart, 'gitlab', { host: 'git.example.com', issuer: 'letsencrypt-prod', plan, ...props });
  return Testing.synth(chart);
}

describe('GitLab CE', () => {
  it('GIVEN the registration THEN it installs the pinned official chart as release gitlab into namespace gitlab, after the databases', () => {
    const chart = gitlabChart(CHART_PROPS);
    expect(chart).toMatchObject({ repoURL: 'https://charts.gitlab.io', chart: 'gitlab', version: CHARTS.gitlab.version, releaseName: 'gitlab' });
    expect(GitLab.registration).toMatchObject({ name: 'gitlab', namespace: 'gitlab' });
    expect(GitLab.registration.syncWave).toBeGreaterThan(Postgresql.registration.syncWave);
    expect(Postgresql.registration.syncWave).toBeGreaterThan(Databases.registration.syncWave);
    expect(values().global.edition).toBe('ce');
  });

  it('GIVEN the chart values THEN they use our PostgreSQL and Redis, with passwords from Secrets copied from Vault, and GitLab renders no Secret', () => {
    expect(values().global.psql).toEqual({
      host: 'postgresql.databases.svc',
      port: 5432,
      username: 'gitlab',
      database: 'gitlabhq_production',
      password: { useSecret: true, secret: 'gitlab-postgresql-password', key: 'password' },
    });
    expect(values().global.redis).toEqual({
      host: 'redis.databases.svc',
      port: 6379,
      database: 10,
      user: 'gitlab',
      auth: { enabled: true, secret: 'gitlab-redis-password', key: 'password' },
    });
    expect(GITLAB_SECRETS.postgresql.vaultPath).toBe('secret/postgresql/gitlab');
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('GIVEN the chart values THEN every bundled component the platform provides otherwise is off, and the registry', () => {
    const v = values();
    expect(v.installCertmanager).toBe(false);
    expect(v['nginx-ingress']).toEqual({ enabled: false });
    expect(v.prometheus).toEqual({ install: false });
    expect(v.redis).toEqual({ install: false });
    expect(v.postgresql).toEqual({ install: false });
    expect(v['gitlab-runner']).toEqual({ install: false });
    expect(v.registry).toEqual({ enabled: false });
    expect(v.global.registry).toEqual({ enabled: false });
    expect(v.global.minio).toEqual({ enabled: false });
    expect(v.global.ingress).toEqual({ enabled: false, configureCertmanager: false });
    expect(v.gitlab['gitlab-shell']).toEqual({ enabled: false });
    expect(v.upgradeCheck).toEqual({ enabled: false });
  });

  it('GIVEN nodes, a size and a bucket prefix WHEN the values are rendered THEN Gitaly runs on its node on ceph-rbd and object storage uses the prefixed buckets', () => {
    const v = values();
    expect(v.gitlab.gitaly.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'node-g' });
    expect(v.gitlab.gitaly.persistence).toEqual({ enabled: true, storageClass: 'ceph-rbd', size: '40Gi' });
    for (const component of ['webservice', 'sidekiq', 'toolbox', 'gitlab-exporter', 'migrations']) {
      expect(v.gitlab[component].nodeSelector, component).toEqual({ 'platform-synthesizer.io/node': 'node-w' });
    }
    expect(v.global.appConfig.object_store.connection).toEqual({ secret: 'gitlab-object-storage', key: 'connection' });
    expect(v.global.appConfig.artifacts).toEqual({ bucket: 'code-artifacts' });
    expect(v.global.appConfig.backups).toEqual({ bucket: 'code-backups', tmpBucket: 'code-tmp' });
    expect(v.gitlab.toolbox.backups.cron.extraArgs).toBe('--maximum-backups 7');
  });

  it('GIVEN a model WHEN the registration renders the chart THEN it reads the model’s host, nodes, size and buckets', () => {
    const platform = loadDefaultPlatform();
    const v = GitLab.registration.helm!(platform).values as any;
    expect(v.gitlab.gitaly.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-02' });
    expect(v.gitlab.gitaly.persistence.size).toBe(`${platform.gitlab.gitalyStorageGiB}Gi`);
    expect(v.gitlab.webservice.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-01' });
    expect(v.global.appConfig.artifacts).toEqual({ bucket: 'gitlab-artifacts' });
    const single = GitLab.registration.helm!(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'))).values as any;
    expect(single.gitlab.gitaly.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'solo' });
    expect(single.global.appConfig.lfs).toEqual({ bucket: 'code-lfs' });
    expect(single.global.hosts.gitlab.name).toBe('code.example.net');
  });

  it('GIVEN a host WHEN rendered THEN one TLS Ingress serves it to Workhorse, without a body limit', () => {
    const ingresses = objects().filter((o) => o.kind === 'Ingress' && o.spec.rules.some((r: any) => r.host === 'git.example.com'));
    expect(ingresses).toHaveLength(1);
    const [ingress] = ingresses;
    expect(ingress.metadata.namespace).toBe('gitlab');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ hosts: ['git.example.com'], secretName: 'gitlab-tls' }]);
    expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-prod');
    expect(ingress.metadata.annotations['nginx.org/client-max-body-size']).toBe('0');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'gitlab-webservice-default', port: { number: 8181 } });
    expect(values().global.hosts).toEqual({ domain: 'example.com', https: true, gitlab: { name: 'git.example.com', https: true } });
  });

  it('GIVEN its connections WHEN rendered THEN only the ingress controller reaches Workhorse, only GitLab reaches Gitaly, and of the LAN only RGW', () => {
    const evaluator = new NetworkPolicyEvaluator(objects());
    let ip = 20;
    const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ pod: { namespace, labels, ip: `10.42.9.${ip++}` } });
    const webservice = pod('gitlab', { app: 'webservice' });
    const gitaly = pod('gitlab', { app: 'gitaly' });
    const controller = pod('nginx-ingress', { 'app.kubernetes.io/name': 'nginx-ingress' });
    expect(evaluator.allows({ from: controller, to: webservice, port: 8181 })).toBe(true);
    expect(evaluator.allows({ from: controller, to: webservice, port: 8080 })).toBe(false);
    expect(evaluator.allows({ from: pod('harbor', { component: 'core' }), to: webservice, port: 8181 })).toBe(false);
    expect(evaluator.allows({ from: gitaly, to: webservice, port: 8181 })).toBe(true);
    for (const app of ['webservice', 'sidekiq', 'toolbox', 'migrations']) expect(evaluator.allows({ from: pod('gitlab', { app }), to: gitaly, port: 8075 }), app).toBe(true);
    expect(evaluator.allows({ from: pod('gitlab', { app: 'gitlab-exporter' }), to: gitaly, port: 8075 })).toBe(false);
    expect(evaluator.allows({ from: controller, to: gitaly, port: 8075 })).toBe(false);
    // Object storage on Ceph RGW (the model's endpoint), and nothing else on the LAN.
    expect(evaluator.allows({ from: pod('gitlab', { app: 'sidekiq' }), to: { ip: '192.168.10.21' }, port: 7480 })).toBe(true);
    expect(evaluator.allows({ from: pod('gitlab', { app: 'sidekiq' }), to: { ip: '192.168.10.22' }, port: 7480 })).toBe(false);
    expect(evaluator.allows({ from: gitaly, to: { ip: '8.8.8.8' }, port: 443 })).toBe(false);
  });

  it('GIVEN a webhook to Jenkins by its host WHEN Sidekiq sends it THEN it stays in the cluster: Sidekiq reaches the ingress controller, which reaches Jenkins (decision 0101)', () => {
    // Two services of the catalogue, with the plan of every service's connections: the path
    // crosses GitLab's egress, and Jenkins' ingress policy.
    const platform = loadDefaultPlatform();
    const services = allServices(platform);
    const plan = { connections: services.flatMap((service) => service.connections?.(platform) ?? []) };
    const chart = Testing.chart();
    for (const name of ['gitlab', 'jenkins']) services.find((service) => service.name === name)!.build(chart, platform, plan);
    const evaluator = new NetworkPolicyEvaluator(Testing.synth(chart));
    const sidekiq: Endpoint = { pod: { namespace: 'gitlab', labels: { app: 'sidekiq' }, ip: '10.42.9.40' } };
    const controller: Endpoint = { pod: { namespace: 'nginx-ingress', labels: { 'app.kubernetes.io/name': 'nginx-ingress' }, ip: '10.42.9.41' } };
    const jenkins: Endpoint = { pod: { namespace: 'jenkins', labels: { 'app.kubernetes.io/name': 'jenkins' }, ip: '10.42.9.42' } };
    // The host resolves in the cluster to the controller (coredns-custom), which kube-proxy hands to a controller pod.
    expect(evaluator.allows({ from: sidekiq, to: controller, port: 443 })).toBe(true);
    expect(evaluator.allows({ from: controller, to: jenkins, port: 8080 })).toBe(true);
    // Jenkins is isolated (its own policies render here): the controller reaches its web port only.
    expect(evaluator.allows({ from: controller, to: jenkins, port: 50000 })).toBe(false);
    // Only Sidekiq sends webhooks: the web pods do not get the path.
    expect(evaluator.allows({ from: { pod: { namespace: 'gitlab', labels: { app: 'gitlab-exporter' }, ip: '10.42.9.43' } }, to: controller, port: 443 })).toBe(false);
  });
});
