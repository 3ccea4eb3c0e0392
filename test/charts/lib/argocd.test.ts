import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { LockedDefaultProject, PlatformApplication, PlatformProject } from '../../../charts/lib/argocd';

const git = { repoURL: 'https://git.example.com/platform.git', targetRevision: 'main', path: 'dist/k8s/platform/demo' };

function chart(): Chart {
  return new Chart(Testing.app(), 'test');
}

describe('PlatformApplication', () => {
  it('syncs automatically with prune, self-heal, retry, server-side apply and the finalizer', () => {
    // GIVEN a chart WHEN an application with one directory source is added
    const c = chart();
    new PlatformApplication(c, 'demo', { name: 'demo', project: 'platform', destinationNamespace: 'demo', directory: git, syncWave: 3 });
    // THEN
    const [app] = Testing.synth(c);
    expect(app.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    expect(app.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '3' });
    expect(app.metadata.namespace).toBe('argocd');
    expect(app.spec.project).toBe('platform');
    expect(app.spec.source).toEqual({ repoURL: git.repoURL, targetRevision: 'main', path: git.path, directory: { recurse: false } });
    expect(app.spec.sources).toBeUndefined();
    expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'demo' });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    expect(app.spec.syncPolicy.retry).toEqual({ limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } });
  });

  it('GIVEN fields written at run time WHEN declared THEN they are ignored in the diff and kept on sync (RespectIgnoreDifferences)', () => {
    const c = chart();
    new PlatformApplication(c, 'demo', {
      name: 'demo',
      project: 'platform',
      destinationNamespace: 'demo',
      directory: git,
      ignoreDifferences: [
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', name: 'hook', jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'], writtenBy: 'the operator' },
        { group: '', kind: 'Secret', name: 'certs', namespace: 'demo', jsonPointers: ['/data'], writtenBy: 'the operator' },
      ],
    });
    const [app] = Testing.synth(c);
    expect(app.spec.ignoreDifferences).toEqual([
      { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', name: 'hook', jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'] },
      { group: '', kind: 'Secret', name: 'certs', namespace: 'demo', jsonPointers: ['/data'] },
    ]);
    expect(app.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
  });

  it('GIVEN nothing written at run time WHEN rendered THEN no ignoreDifferences and every difference is healed', () => {
    const c = chart();
    new PlatformApplication(c, 'demo', { name: 'demo', project: 'platform', destinationNamespace: 'demo', directory: git });
    const [app] = Testing.synth(c);
    expect(app.spec.ignoreDifferences).toBeUndefined();
    expect(app.spec.syncPolicy.syncOptions).not.toContain('RespectIgnoreDifferences=true');
  });

  it('fails when an ignored difference names no field', () => {
    expect(() =>
      new PlatformApplication(chart(), 'demo', {
        name: 'demo',
        project: 'platform',
        destinationNamespace: 'demo',
        directory: git,
        ignoreDifferences: [{ group: '', kind: 'Secret', name: 'certs', writtenBy: 'the operator' }],
      }),
    ).toThrow('application demo: ignoreDifferences of Secret certs names no field; list the jsonPointers or jqPathExpressions the operator writes');
  });

  it('renders a Helm chart and the directory as two sources, chart first', () => {
    const c = chart();
    new PlatformApplication(c, 'demo', {
      name: 'demo',
      project: 'platform',
      destinationNamespace: 'demo',
      directory: git,
      helm: { repoURL: 'https://charts.example.com', chart: 'demo', version: '1.2.3', values: { replicas: 2 } },
    });
    const [app] = Testing.synth(c);
    expect(app.spec.source).toBeUndefined();
    expect(app.spec.sources).toEqual([
      { repoURL: 'https://charts.example.com', chart: 'demo', targetRevision: '1.2.3', helm: { releaseName: 'demo', valuesObject: { replicas: 2 } } },
      { repoURL: git.repoURL, targetRevision: 'main', path: git.path, directory: { recurse: false } },
    ]);
  });

  it('fails when the project is default', () => {
    expect(() => new PlatformApplication(chart(), 'x', { name: 'x', project: 'default', destinationNamespace: 'x', directory: git })).toThrow(
      'application x: project "default" is locked; put the application in a dedicated AppProject',
    );
  });

  it('fails when a chart version is a range', () => {
    expect(
      () =>
        new PlatformApplication(chart(), 'x', {
          name: 'x',
          project: 'p',
          destinationNamespace: 'x',
          helm: { repoURL: 'https://charts.example.com', chart: 'x', version: '^1.2.0', values: {} },
        }),
    ).toThrow('application x: helm chart x version "^1.2.0" is not an exact version; pin it, e.g. "1.2.3"');
  });

  it('fails when it has nothing to sync', () => {
    expect(() => new PlatformApplication(chart(), 'x', { name: 'x', project: 'p', destinationNamespace: 'x' })).toThrow(
      'application x: needs a directory of rendered manifests, a Helm chart, or both',
    );
  });
});

describe('PlatformProject', () => {
  it('lists exact, sorted, de-duplicated sources, destinations and cluster kinds', () => {
    const c = chart();
    new PlatformProject(c, 'p', {
      name: 'platform',
      description: 'd',
      sourceRepos: ['https://b.example.com', 'https://a.example.com', 'https://b.example.com'],
      namespaces: ['monitoring', 'argocd', 'monitoring'],
      clusterResources: [{ group: '', kind: 'Namespace' }, { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }, { group: '', kind: 'Namespace' }],
    });
    const [project] = Testing.synth(c);
    expect(project.spec.sourceRepos).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(project.spec.destinations).toEqual([
      { server: 'https://kubernetes.default.svc', namespace: 'argocd' },
      { server: 'https://kubernetes.default.svc', namespace: 'monitoring' },
    ]);
    expect(project.spec.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
    ]);
  });

  it('fails when a source or destination is a wildcard', () => {
    expect(() => new PlatformProject(chart(), 'p', { name: 'p', description: 'd', sourceRepos: ['*'], namespaces: [], clusterResources: [] })).toThrow(
      'project p: "*" is a wildcard; list exact repositories and namespaces',
    );
    expect(() => new PlatformProject(chart(), 'p', { name: 'p', description: 'd', sourceRepos: [], namespaces: ['team-*'], clusterResources: [] })).toThrow(
      'project p: "team-*" is a wildcard; list exact repositories and namespaces',
    );
  });

  it('fails when it is named default', () => {
    expect(() => new PlatformProject(chart(), 'p', { name: 'default', description: 'd', sourceRepos: [], namespaces: [], clusterResources: [] })).toThrow(
      'project "default" is rendered locked by LockedDefaultProject; choose another project name',
    );
  });
});

describe('LockedDefaultProject', () => {
  it('allows nothing', () => {
    const c = chart();
    new LockedDefaultProject(c, 'default');
    const [project] = Testing.synth(c);
    expect(project.metadata.name).toBe('default');
    expect(project.spec).toMatchObject({
      sourceRepos: [],
      sourceNamespaces: [],
      destinations: [],
      namespaceResourceBlacklist: [{ group: '*', kind: '*' }],
    });
    expect(project.spec.clusterResourceWhitelist).toBeUndefined();
  });
});
