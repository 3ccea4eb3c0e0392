import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { GITLAB_SECRETS, gitlab } from '../../../charts/source/gitlab';
import { NetworkPolicyEvaluator, type Endpoint } from '../../support/network-evaluator';
import { ROOT, defaultRender, kubeObjects } from '../../support/render';
import { CHARTS } from '../../../config/versions';

const objects = kubeObjects(defaultRender()).map(({ object }) => object as any);
const find = (kind: string, name: string, namespace?: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));

describe('GitLab CE', () => {
  const application = () => find('Application', 'gitlab', 'argocd');
  const values = () => application().spec.sources[0].helm.valuesObject;

  it('installs the pinned official chart next to its own folder, after the databases', () => {
    expect(application().spec.sources[0]).toMatchObject({ repoURL: 'https://charts.gitlab.io', chart: 'gitlab', targetRevision: CHARTS.gitlab.version, helm: { releaseName: 'gitlab' } });
    expect(application().spec.sources[1].path).toBe('dist/k8s/platform/gitlab');
    expect(application().spec.destination.namespace).toBe('gitlab');
    const wave = (name: string) => Number(find('Application', name, 'argocd').metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect(wave('gitlab')).toBeGreaterThan(wave('postgresql'));
    expect(wave('postgresql')).toBeGreaterThan(wave('databases'));
    expect(values().global.edition).toBe('ce');
  });

  it('uses our PostgreSQL and Redis, with passwords from Secrets copied from Vault', () => {
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
    // No Secret with data is rendered anywhere in GitLab's folder.
    expect(objects.filter((o) => o.kind === 'Secret' && o.metadata.namespace === 'gitlab')).toEqual([]);
  });

  it('turns off every bundled component the platform provides otherwise, and the registry', () => {
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

  it('runs Gitaly on the node the model places it, on ceph-rbd; object storage in the model buckets', () => {
    expect(values().gitlab.gitaly.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-02' });
    expect(values().gitlab.gitaly.persistence).toEqual({ enabled: true, storageClass: 'ceph-rbd', size: `${loadDefaultPlatform().gitlab.gitalyStorageGiB}Gi` });
    expect(values().gitlab.webservice.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'k3s-worker-01' });
    expect(values().global.appConfig.object_store.connection).toEqual({ secret: 'gitlab-object-storage', key: 'connection' });
    expect(values().global.appConfig.artifacts).toEqual({ bucket: 'gitlab-artifacts' });
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const other = gitlab.helm!(single).values as any;
    expect(other.gitlab.gitaly.nodeSelector).toEqual({ 'platform-synthesizer.io/node': 'solo' });
    expect(other.global.appConfig.lfs).toEqual({ bucket: 'code-lfs' });
    expect(other.global.hosts.gitlab.name).toBe('code.example.net');
  });

  it('serves git.<domain> through our one TLS Ingress to Workhorse, without a body limit', () => {
    const ingresses = objects.filter((o) => o.kind === 'Ingress' && o.spec.rules.some((r: any) => r.host === 'git.lumetium.com'));
    expect(ingresses).toHaveLength(1);
    const [ingress] = ingresses;
    expect(ingress.metadata.namespace).toBe('gitlab');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ hosts: ['git.lumetium.com'], secretName: 'gitlab-tls' }]);
    expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-prod');
    expect(ingress.metadata.annotations['nginx.org/client-max-body-size']).toBe('0');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'gitlab-webservice-default', port: { number: 8181 } });
    expect(values().global.hosts).toEqual({ domain: 'lumetium.com', https: true, gitlab: { name: 'git.lumetium.com', https: true } });
  });

  it('lets only the ingress controller reach Workhorse, and only GitLab reach Gitaly', () => {
    const evaluator = new NetworkPolicyEvaluator(objects);
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
    const evaluator = new NetworkPolicyEvaluator(objects);
    const sidekiq: Endpoint = { pod: { namespace: 'gitlab', labels: { app: 'sidekiq' }, ip: '10.42.9.40' } };
    const controller: Endpoint = { pod: { namespace: 'nginx-ingress', labels: { 'app.kubernetes.io/name': 'nginx-ingress' }, ip: '10.42.9.41' } };
    const jenkins: Endpoint = { pod: { namespace: 'jenkins', labels: { 'app.kubernetes.io/name': 'jenkins' }, ip: '10.42.9.42' } };
    // The host resolves in the cluster to the controller (coredns-custom), which kube-proxy hands to a controller pod.
    expect(evaluator.allows({ from: sidekiq, to: controller, port: 443 })).toBe(true);
    expect(evaluator.allows({ from: controller, to: jenkins, port: 8080 })).toBe(true);
    // Only Sidekiq sends webhooks: the web pods do not get the path.
    expect(evaluator.allows({ from: { pod: { namespace: 'gitlab', labels: { app: 'gitlab-exporter' }, ip: '10.42.9.43' } }, to: controller, port: 443 })).toBe(false);
  });
});
