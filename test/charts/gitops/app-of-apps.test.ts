import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { servicesOf } from '../../../charts/catalogue';
import { AppOfApps, buildAppOfApps, type AppOfAppsMember, type AppOfAppsProps } from '../../../charts/gitops/app-of-apps';

const GIT = { repoURL: 'https://git.example.com/platform/platform.git', targetRevision: 'main' };
const member = (name: string, namespace: string, extra: Partial<AppOfAppsMember> = {}): AppOfAppsMember => ({
  name,
  namespace,
  syncWave: 0,
  namespaces: [namespace],
  clusterResources: [],
  helmRepos: [],
  hasManifests: true,
  ...extra,
});
const PLATFORM: readonly AppOfAppsMember[] = [
  member('argocd', 'argocd', { syncWave: -5, clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }] }),
  member('vault', 'vault', { syncWave: 3, helmRepos: ['https://helm.releases.hashicorp.com'] }),
];

/** The wiring of the given environments, each synthesized on its own, the projects in one chart. */
function wiring(envs: Record<string, readonly AppOfAppsMember[]>) {
  const app = Testing.app();
  const projectsChart = new Chart(app, 'projects');
  const byEnv = Object.entries(envs).map(([env, services]) => {
    const props: AppOfAppsProps = { env, git: GIT, services, projects: projectsChart };
    const { apps, bootstrap } = new AppOfApps(app, env, props);
    return [env, { apps: Testing.synth(apps), bootstrap: Testing.synth(bootstrap) }] as const;
  });
  return { envs: Object.fromEntries(byEnv), projects: Testing.synth(projectsChart) };
}
const seed = () => wiring({ platform: PLATFORM, dev: [member('hello', 'hello-dev')], prod: [member('hello', 'hello-prod')] });
const applications = (objects: any[]) => objects.filter((o) => o.kind === 'Application');

describe('the app-of-apps', () => {
  it('GIVEN environments WHEN wired THEN each has a bootstrap root that points at its own apps folder, in the platform project', () => {
    const { envs } = seed();
    for (const env of ['platform', 'dev', 'prod']) {
      const roots = applications(envs[env].bootstrap);
      expect(roots.map((o) => o.metadata.name)).toEqual([`${env}-root`]);
      const spec = roots[0].spec;
      expect(spec.source.path).toBe(`dist/k8s/${env}/apps`);
      expect(spec.source.repoURL).toBe(GIT.repoURL);
      expect(spec.source.targetRevision).toBe('main');
      // Roots write Applications into argocd: only the platform project may.
      expect(spec.project).toBe('platform');
    }
  });

  it('GIVEN environments WHEN wired THEN each root is managed from its own apps folder too, identical to the bootstrap copy', () => {
    const { envs } = seed();
    for (const env of ['platform', 'dev', 'prod']) {
      const root = (objects: any[]) => objects.find((o) => o.kind === 'Application' && o.metadata.name === `${env}-root`);
      expect(root(envs[env].apps)).toEqual(root(envs[env].bootstrap));
    }
  });

  it('GIVEN the platform WHEN wired THEN its project is bootstrapped before the first root needs it', () => {
    const { envs, projects } = seed();
    const platformProject = projects.find((o) => o.kind === 'AppProject' && o.metadata.name === 'platform');
    expect(envs.platform.bootstrap.find((o: any) => o.kind === 'AppProject')).toEqual(platformProject);
  });

  it('GIVEN platform services WHEN wired THEN each gets a child Application in the platform project pointing at its folder, in its wave', () => {
    const children = applications(seed().envs.platform.apps).filter((o) => !o.metadata.name.endsWith('-root'));
    expect(children.map((o) => o.metadata.name)).toEqual(['argocd', 'vault']);
    for (const object of children) {
      const spec = object.spec as { project: string; source?: { path: string }; sources?: { path?: string }[] };
      expect(spec.project).toBe('platform');
      const paths = spec.source ? [spec.source.path] : (spec.sources ?? []).flatMap((s) => (s.path ? [s.path] : []));
      expect(paths).toEqual([`dist/k8s/platform/${object.metadata.name}`]);
    }
    expect(children.map((o) => o.metadata.annotations['argocd.argoproj.io/sync-wave'])).toEqual(['-5', '3']);
  });

  it('GIVEN a chart-only service WHEN wired THEN its Application syncs the chart and no folder', () => {
    const model = loadDefaultPlatform();
    const helm = servicesOf('platform', model).find((s) => s.name === 'vault')!.helm!(model);
    const { envs } = wiring({ platform: [member('vault', 'vault', { helm, hasManifests: false })] });
    const vault = applications(envs.platform.apps).find((o) => o.metadata.name === 'vault');
    expect(vault.spec.sources ?? [vault.spec.source]).toHaveLength(1);
    expect((vault.spec.sources ?? [vault.spec.source])[0]).toMatchObject({ repoURL: helm.repoURL, chart: helm.chart });
  });

  it("GIVEN the seed model WHEN the render wires it THEN the roots read the model's repository and revision", () => {
    const model = loadDefaultPlatform();
    const app = Testing.app();
    const service = servicesOf('platform', model).find((s) => s.name === 'argocd')!;
    const rendered = [{ env: 'platform', service, namespaces: ['argocd'], clusterResources: [], helmRepos: [], hasManifests: true }];
    const charts = buildAppOfApps(app, model, ['platform'], rendered, new Chart(app, 'projects'));
    const [root] = applications(Testing.synth(charts.get('platform')!.bootstrap));
    expect(root.spec.source).toMatchObject({ repoURL: 'https://git.lumetium.com/platform/platform.git', targetRevision: 'main' });
    const [, argocd] = applications(Testing.synth(charts.get('platform')!.apps));
    expect(argocd.spec.sources[0]).toMatchObject({ chart: 'argo-cd', helm: { releaseName: 'argocd' } });
  });

  it('GIVEN environments WHEN wired THEN no Application uses the default project', () => {
    const { envs } = seed();
    for (const { apps, bootstrap } of Object.values(envs)) {
      for (const object of applications([...apps, ...bootstrap])) expect(object.spec.project).not.toBe('default');
    }
  });

  it('GIVEN an app in several environments WHEN wired THEN each environment gives it its own project: its namespace only, no cluster-scoped kind', () => {
    const { projects } = seed();
    expect(projects.filter((o) => o.kind === 'AppProject').map((o) => o.metadata.name).sort()).toEqual(['hello-dev', 'hello-prod', 'platform']);
    for (const env of ['dev', 'prod']) {
      const spec = projects.find((o) => o.kind === 'AppProject' && o.metadata.name === `hello-${env}`).spec;
      expect(spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual([`hello-${env}`]);
      expect(spec.clusterResourceWhitelist).toEqual([]);
      expect(spec.sourceRepos).toEqual([GIT.repoURL]);
    }
    const platform = projects.find((o) => o.kind === 'AppProject' && o.metadata.name === 'platform').spec;
    expect(platform.destinations.map((d: { namespace: string }) => d.namespace)).toEqual(expect.arrayContaining(['argocd', 'vault']));
    expect(platform.sourceRepos).toEqual([GIT.repoURL, 'https://helm.releases.hashicorp.com']);
  });

  it("GIVEN the catalogue's platform services WHEN wired THEN each Application ignores exactly the fields operators and the runbook write at run time, and keeps them on sync", () => {
    // Sources: the chart templates cited next to each declaration (vault.ts, metallb.ts,
    // cert-manager.ts, harbor.ts, mesh/trust.ts, mesh/linkerd.ts); the other charts render no webhook, no CRD conversion and no
    // generated Secret with the values we set.
    const model = loadDefaultPlatform();
    const services = servicesOf('platform', model).map((s) => member(s.name, s.namespace, { syncWave: s.syncWave, helm: s.helm?.(model) }));
    const caBundles = ['.webhooks[]?.clientConfig.caBundle'];
    const expected: Record<string, unknown[]> = {
      'cert-manager': [
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'cert-manager-webhook', jqPathExpressions: caBundles },
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', name: 'cert-manager-webhook', jqPathExpressions: caBundles },
      ],
      metallb: [
        { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', name: 'bgppeers.metallb.io', jsonPointers: ['/spec/conversion/webhook/clientConfig/caBundle'] },
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'metallb-webhook-configuration', jqPathExpressions: caBundles },
        { group: '', kind: 'Secret', name: 'metallb-webhook-cert', namespace: 'metallb-system', jsonPointers: ['/data'] },
      ],
      vault: [
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', name: 'vault-agent-injector-cfg', jqPathExpressions: caBundles },
        { group: '', kind: 'Secret', name: 'vault-injector-certs', namespace: 'vault', jsonPointers: ['/data'] },
      ],
      harbor: [{ group: '', kind: 'Secret', name: 'harbor-trivy', namespace: 'harbor', jsonPointers: ['/data/redisURL'] }],
      // The service mesh (charts/mesh/): cainjector fills the webhooks' caBundle.
      'trust-manager': [{ group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'trust-manager', jqPathExpressions: caBundles }],
      'linkerd-control-plane': [
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', name: 'linkerd-proxy-injector-webhook-config', jqPathExpressions: caBundles },
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'linkerd-sp-validator-webhook-config', jqPathExpressions: caBundles },
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', name: 'linkerd-policy-validator-webhook-config', jqPathExpressions: caBundles },
      ],
    };
    const all = applications(wiring({ platform: services }).envs.platform.apps);
    const actual = Object.fromEntries(all.filter((a) => a.spec.ignoreDifferences).map((a) => [a.metadata.name, a.spec.ignoreDifferences]));
    expect(actual).toEqual(expected);
    for (const application of all) {
      const respects = application.spec.syncPolicy.syncOptions.includes('RespectIgnoreDifferences=true');
      expect(respects, application.metadata.name).toBe(application.spec.ignoreDifferences !== undefined);
    }
  });
});
