import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APPLICATION_HEALTH_LUA, ARGOCD_SSO_SECRET, ArgoCd, argocdChart, type ArgoCdChartProps, type ArgoCdProps } from '../../../charts/platform/argocd';
import { INGRESS_CONTROLLER } from '../../../charts/lib/network';
import { loadDefaultPlatform } from '../../../config';
import { CHARTS } from '../../../config/versions';

const CHART: ArgoCdChartProps = {
  host: 'argocd.example.com',
  node: 'node-a',
  adminEnabled: true,
  oidcIssuer: 'https://git.example.com',
  ssoGroups: { admin: 'ops/admins', viewer: 'ops/viewers' },
};
// Its own declared connections are the plan its namespace renders policies from.
const PROPS: ArgoCdProps = {
  host: 'argocd.example.com',
  issuer: 'letsencrypt-prod',
  plan: { connections: ArgoCd.registration.connections!(loadDefaultPlatform()) },
};

function objects(props: ArgoCdProps = PROPS): any[] {
  const chart = Testing.chart();
  new ArgoCd(chart, 'argocd', props);
  return Testing.synth(chart);
}
const find = (kind: string, name: string) => objects().find((o) => o.kind === kind && o.metadata.name === name);

describe('Argo CD managing itself', () => {
  it('GIVEN its registration WHEN the app-of-apps reads it THEN it installs the pinned argo-cd chart first (wave -5) as release argocd', () => {
    expect(argocdChart(CHART)).toMatchObject({ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', version: CHARTS.argocd.version, releaseName: 'argocd' });
    expect(ArgoCd.registration).toMatchObject({ name: 'argocd', namespace: 'argocd', syncWave: -5 });
    expect(ArgoCd.registration.helm!(loadDefaultPlatform()).customResourceGroups).toEqual(['argoproj.io']);
  });

  it('GIVEN admin login on or off in the model WHEN the values are rendered THEN it reconciles every 180 s exactly, restores the Application health check and follows the switch', () => {
    const cm = argocdChart(CHART).values.configs.cm;
    expect(cm['timeout.reconciliation']).toBe('180s');
    expect(cm['timeout.reconciliation.jitter']).toBe('0s');
    expect(cm['resource.customizations.health.argoproj.io_Application']).toBe(APPLICATION_HEALTH_LUA);
    expect(APPLICATION_HEALTH_LUA).toContain('hs.status = obj.status.health.status');
    expect(cm['admin.enabled']).toBe('true');
    expect(argocdChart({ ...CHART, adminEnabled: false }).values.configs.cm['admin.enabled']).toBe('false');
  });

  it('GIVEN a host and a node WHEN the values are rendered THEN it runs on that node, behind our NetworkPolicies, TLS ending at the ingress controller', () => {
    const values = argocdChart(CHART).values;
    expect(values.global).toEqual({ domain: 'argocd.example.com', nodeSelector: { 'platform-synthesizer.io/node': 'node-a' }, networkPolicy: { create: false } });
    expect(values.configs.params['server.insecure']).toBe(true);
    expect(values.dex).toEqual({ enabled: false });
  });

  it('GIVEN the model WHEN the registration reads it THEN the chart gets the seed host and the node the model assigns', () => {
    const values = ArgoCd.registration.helm!(loadDefaultPlatform()).values as ReturnType<typeof argocdChart>['values'];
    expect(values.global).toEqual({ domain: 'argocd.lumetium.com', nodeSelector: { 'platform-synthesizer.io/node': 'k3s-worker-01' }, networkPolicy: { create: false } });
  });

  it('GIVEN a host WHEN rendered THEN it serves it through an Ingress with TLS from the given issuer', () => {
    const ingress = find('Ingress', 'argocd-server');
    expect(ingress.metadata.namespace).toBe('argocd');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['argocd.example.com'], secretName: 'argocd-server-tls' }],
      rules: [{ host: 'argocd.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { number: 80 } } } }] } }],
    });
  });

  it('GIVEN its own connections WHEN rendered THEN it labels its namespace restricted and isolates it', () => {
    const namespace = find('Namespace', 'argocd');
    for (const mode of ['enforce', 'audit', 'warn']) expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    const names = objects().filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'argocd').map((o) => o.metadata.name).sort();
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

  it('GIVEN GitLab as issuer and two groups WHEN the values are rendered THEN the server signs in through GitLab with the secret by reference, and only the groups get a role', () => {
    const { cm, rbac } = argocdChart(CHART).values.configs;
    // Argo CD reads oidc.config as YAML (sigs.k8s.io/yaml); the client id and secret are references.
    expect(parse(cm['oidc.config'], { version: '1.1' })).toEqual({
      name: 'GitLab',
      issuer: 'https://git.example.com',
      clientID: `$${ARGOCD_SSO_SECRET}:client_id`,
      clientSecret: `$${ARGOCD_SSO_SECRET}:client_secret`,
      // Not Argo CD's default, which adds `groups`: GitLab refuses a scope it does not know.
      requestedScopes: ['openid', 'profile', 'email'],
    });
    expect(rbac['policy.default']).toBe('');
    expect(rbac['policy.csv'].trim().split('\n').map((line) => line.split(/,\s*/))).toEqual([
      ['g', 'ops/admins', 'role:admin'],
      ['g', 'ops/viewers', 'role:readonly'],
    ]);
    expect(rbac.scopes).toBe('[groups_direct]');
  });

  it('GIVEN the model WHEN its connections are read THEN the server may reach GitLab through the ingress controller, optional until GitLab runs', () => {
    const toIngress = ArgoCd.registration.connections!(loadDefaultPlatform()).filter((c) => 'workload' in c.from && c.from.workload.name === 'argocd-server' && 'workload' in c.to && c.to.workload === INGRESS_CONTROLLER);
    expect(toIngress).toHaveLength(1);
    expect(toIngress[0].optionalAtStart).toBe(true);
  });

  it('WHEN rendered THEN it holds the locked default project', () => {
    expect(find('AppProject', 'default')).toBeDefined();
  });
});
