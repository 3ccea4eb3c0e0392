import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../charts/lib/service';
import { clone, violationsOf } from './fixtures';
import { defaultRender, kubeObjects } from '../support/render';

const argoObjects = () => kubeObjects(defaultRender()).map(({ object }) => object).filter((o) => o.apiVersion.startsWith('argoproj.io'));
const argo = (objects: KubeObject[]) => violationsOf(objects).filter((v) => v.startsWith('ARGO'));

describe('Argo CD rules', () => {
  it('pass on the rendered projects and applications', () => {
    expect(argo(argoObjects())).toEqual([]);
  });

  it('ARGO-01 fails when the default project is open or used', () => {
    const objects = clone(argoObjects());
    const locked = objects.find((o) => o.kind === 'AppProject' && o.metadata.name === 'default') as any;
    locked.spec.sourceRepos = ['*'];
    const app = objects.find((o) => o.kind === 'Application' && o.metadata.name === 'argocd') as any;
    app.spec.project = 'default';
    expect(argo(objects)).toEqual([
      'ARGO-01  AppProject/argocd/default  is not locked; set sourceRepos: [], sourceNamespaces: [], destinations: [] and namespaceResourceBlacklist: [{group: "*", kind: "*"}]',
      'ARGO-01  Application/argocd/argocd  uses the default project; put it in a dedicated AppProject',
    ]);
  });

  it('ARGO-02/03/04/05 fail on wildcards, missing namespaces and a second project in argocd', () => {
    const objects = clone(argoObjects());
    const dev = objects.find((o) => o.kind === 'AppProject' && o.metadata.name === 'hello-dev') as any;
    dev.spec.sourceRepos = ['https://git.lumetium.com/*'];
    dev.spec.destinations = [{ server: '*', namespace: 'argocd' }];
    dev.spec.clusterResourceWhitelist = [{ group: '*', kind: '*' }];
    const found = argo(objects);
    expect(found).toContain('ARGO-02  AppProject/argocd/hello-dev  sourceRepos has "https://git.lumetium.com/*"; list exact repository URLs');
    expect(found).toContain('ARGO-03  AppProject/argocd/hello-dev  destination {"server":"*","namespace":"argocd"} uses a wildcard; list exact namespaces on https://kubernetes.default.svc');
    expect(found).toContain('ARGO-04  AppProject/argocd/hello-dev  clusterResourceWhitelist has */*; list the exact cluster-scoped kinds');
    expect(found).toContain('ARGO-05  AppProject/argocd/hello-dev  projects hello-dev, platform may all deploy into argocd; only the one that manages Argo CD may');
  });
});
