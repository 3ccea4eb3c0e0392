import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { APPLICATION_HEALTH_LUA, argocd } from '../../../charts/platform/argocd';
import { defaultRender, kubeObjects, ROOT } from '../../support/render';
import { CHARTS } from '../../../config/versions';

const find = (kind: string, name: string) =>
  kubeObjects(defaultRender()).find(({ object }) => object.kind === kind && object.metadata.name === name)?.object as any;

describe('Argo CD managing itself', () => {
  const application = () => find('Application', 'argocd');
  const chartSource = () => application().spec.sources[0];

  it('installs the pinned argo-cd chart next to its own folder', () => {
    expect(chartSource()).toMatchObject({ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', targetRevision: CHARTS.argocd.version, helm: { releaseName: 'argocd' } });
    expect(application().spec.sources[1].path).toBe('dist/k8s/platform/argocd');
    expect(application().metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-5');
  });

  it('reconciles every 180 s exactly, restores the Application health check and keeps admin login a model switch', () => {
    const cm = chartSource().helm.valuesObject.configs.cm;
    expect(cm['timeout.reconciliation']).toBe('180s');
    expect(cm['timeout.reconciliation.jitter']).toBe('0s');
    expect(cm['resource.customizations.health.argoproj.io_Application']).toBe(APPLICATION_HEALTH_LUA);
    expect(APPLICATION_HEALTH_LUA).toContain('hs.status = obj.status.health.status');
    expect(cm['admin.enabled']).toBe('true');
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    expect((argocd.helm!(single).values as any).configs.cm['admin.enabled']).toBe('false');
  });

  it('runs on the node the model assigns, behind our NetworkPolicies, TLS ending at the ingress controller', () => {
    const values = chartSource().helm.valuesObject;
    expect(values.global).toEqual({ domain: 'argocd.lumetium.com', nodeSelector: { 'platform-synthesizer.io/node': 'k3s-worker-01' }, networkPolicy: { create: false } });
    expect(values.configs.params['server.insecure']).toBe(true);
    expect(values.dex).toEqual({ enabled: false });
  });

  it('serves argocd.<domain> through an Ingress with TLS from the production issuer', () => {
    const ingress = find('Ingress', 'argocd-server');
    expect(ingress.metadata.namespace).toBe('argocd');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['argocd.lumetium.com'], secretName: 'argocd-server-tls' }],
      rules: [{ host: 'argocd.lumetium.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { number: 80 } } } }] } }],
    });
  });

  it('labels its namespace restricted and isolates it', () => {
    const namespace = find('Namespace', 'argocd');
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    const names = kubeObjects(defaultRender()).filter(({ object }) => object.kind === 'NetworkPolicy' && object.metadata.namespace === 'argocd').map(({ object }) => object.metadata.name).sort();
    expect(names).toEqual([
      'allow-argocd-application-controller',
      'allow-argocd-applicationset-controller',
      'allow-argocd-redis',
      'allow-argocd-redis-secret-init',
      'allow-argocd-repo-server',
      'allow-argocd-server',
      'default-deny',
    ]);
  });

  it('fails when the model gives Argo CD no host', () => {
    const platform = loadDefaultPlatform();
    const noHost = { ...platform, services: { ...platform.services, argocd: { node: 'k3s-worker-01' } } };
    expect(() => argocd.helm!(noHost)).toThrow('services.argocd.host: (missing): Argo CD needs a public host for its UI and API, e.g. "argocd.example.com"');
  });
});
