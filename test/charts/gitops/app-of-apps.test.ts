import { describe, expect, it } from 'vitest';
import { kubeObjects, defaultRender } from '../../support/render';

const objects = () => kubeObjects(defaultRender());
const at = (prefix: string) => objects().filter(({ path }) => path.startsWith(prefix));

describe('the app-of-apps', () => {
  it('has, per environment, a bootstrap root that points at the apps folder of that environment', () => {
    for (const env of ['platform', 'dev', 'staging', 'prod']) {
      const roots = at(`k8s/${env}/bootstrap/`).filter(({ object }) => object.kind === 'Application');
      expect(roots.map(({ object }) => object.metadata.name)).toEqual([`${env}-root`]);
      const spec = roots[0].object.spec as { source: { path: string; repoURL: string; targetRevision: string }; project: string };
      expect(spec.source.path).toBe(`dist/k8s/${env}/apps`);
      expect(spec.source.repoURL).toBe('https://git.lumetium.com/platform/platform.git');
      expect(spec.source.targetRevision).toBe('main');
      // Roots write Applications into argocd: only the platform project may.
      expect(spec.project).toBe('platform');
    }
  });

  it('manages each root from its own apps folder too, identical to the bootstrap copy', () => {
    const files = defaultRender();
    for (const env of ['platform', 'dev', 'staging', 'prod']) {
      expect(files.get(`k8s/${env}/apps/application-${env}-root.yaml`)).toBe(files.get(`k8s/${env}/bootstrap/application-${env}-root.yaml`));
    }
  });

  it('bootstraps the platform project before the first root needs it', () => {
    const files = defaultRender();
    expect(files.get('k8s/platform/bootstrap/appproject-platform.yaml')).toBe(files.get('k8s/platform/argocd/appproject-platform.yaml'));
  });

  it('gives every platform service a child Application pointing at its folder', () => {
    const children = at('k8s/platform/apps/').filter(({ object }) => object.kind === 'Application' && !object.metadata.name.endsWith('-root'));
    expect(children.map(({ object }) => object.metadata.name)).toContain('argocd');
    for (const { object } of children) {
      const spec = object.spec as { project: string; source?: { path: string }; sources?: { path?: string }[] };
      expect(spec.project).toBe('platform');
      const paths = spec.source ? [spec.source.path] : (spec.sources ?? []).flatMap((s) => (s.path ? [s.path] : []));
      expect(paths).toEqual([`dist/k8s/platform/${object.metadata.name}`]);
    }
  });

  it('renders the default project locked and uses it nowhere', () => {
    const locked = objects().find(({ object }) => object.kind === 'AppProject' && object.metadata.name === 'default');
    expect(locked?.path).toBe('k8s/platform/argocd/appproject-default.yaml');
    for (const { object } of objects().filter(({ object }) => object.kind === 'Application')) {
      expect((object.spec as { project: string }).project).not.toBe('default');
    }
  });

  it('gives each app in each environment its own project: its namespace only, no cluster-scoped kind', () => {
    const projects = objects().filter(({ object }) => object.kind === 'AppProject').map(({ object }) => object.metadata.name);
    expect([...new Set(projects)].sort()).toEqual(['default', 'hello-dev', 'hello-prod', 'hello-staging', 'platform']);
    for (const env of ['dev', 'staging', 'prod']) {
      const project = objects().find(({ object }) => object.kind === 'AppProject' && object.metadata.name === `hello-${env}`)?.object;
      const spec = project?.spec as { destinations: { namespace: string }[]; clusterResourceWhitelist: unknown[]; sourceRepos: string[] };
      expect(spec.destinations.map((d) => d.namespace)).toEqual([`hello-${env}`]);
      expect(spec.clusterResourceWhitelist).toEqual([]);
      expect(spec.sourceRepos).toEqual(['https://git.lumetium.com/platform/platform.git']);
    }
  });


  it('GIVEN operators and the runbook write some fields at run time WHEN rendered THEN each Application ignores exactly those and keeps them on sync', () => {
    // Sources: the chart templates cited next to each declaration (vault.ts, metallb.ts,
    // cert-manager.ts, harbor.ts); the other charts render no webhook, no CRD conversion and no
    // generated Secret with the values we set.
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
    };
    const applications = objects().filter(({ object }) => object.kind === 'Application').map(({ object }) => object as any);
    const actual = Object.fromEntries(applications.filter((a) => a.spec.ignoreDifferences).map((a) => [a.metadata.name, a.spec.ignoreDifferences]));
    expect(actual).toEqual(expected);
    for (const application of applications) {
      const respects = application.spec.syncPolicy.syncOptions.includes('RespectIgnoreDifferences=true');
      expect(respects, application.metadata.name).toBe(application.spec.ignoreDifferences !== undefined);
    }
  });
});
