import { describe, expect, it } from 'vitest';
import { verifyRender } from '../../cli/verify';
import { defaultRender } from '../support/render';

describe('verifyRender', () => {
  it('fails when an Application points at a folder the render does not have', () => {
    const files = new Map(defaultRender());
    const path = 'k8s/platform/apps/application-argocd.yaml';
    files.set(path, files.get(path)!.replace('path: dist/k8s/platform/argocd', 'path: dist/k8s/platform/argo-cd'));
    expect(verifyRender(files)).toEqual([`${path}: source path dist/k8s/platform/argo-cd is not a folder of the render`]);
  });

  it('fails when a file Argo CD reads is not a manifest', () => {
    const files = new Map(defaultRender());
    files.set('k8s/platform/argocd/notes.txt', 'hello\n');
    files.set('k8s/platform/argocd/empty.yaml', 'just: a map\n');
    expect(verifyRender(files).sort()).toEqual([
      'k8s/platform/argocd/empty.yaml: is not a Kubernetes object (apiVersion, kind and metadata.name are required)',
      'k8s/platform/argocd/notes.txt: Argo CD reads every file in an Application folder; only .yaml manifests belong under k8s/',
    ]);
  });

  it('fails on JSON that does not parse', () => {
    const files = new Map(defaultRender());
    files.set('terraform/state/cdk.tf.json', '{\n');
    expect(verifyRender(files)[0]).toMatch(/^terraform\/state\/cdk.tf.json: is not valid JSON/);
  });
});
