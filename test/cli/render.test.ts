import { beforeAll, describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import { renderPlatform } from '../../cli/render';
import { verifyRender } from '../../cli/verify';
import { loadDefaultPlatform } from '../../config';
import { defaultRender, kubeObjects, ROOT, singleNodeRender } from '../support/render';
import { loadCrdValidators, validateObject } from '../support/schemas';
import { CRDS_DIR, hasCrds } from '../support/validators';

describe('the whole render', () => {
  it('passes its own structural checks', () => {
    expect(verifyRender(defaultRender())).toEqual([]);
  });

  it('lays out dist/ in stable folders', () => {
    const folders = [...new Set([...defaultRender().keys()].map((path) => path.slice(0, path.lastIndexOf('/'))))].sort();
    expect(folders).toEqual(
      expect.arrayContaining([
        'k8s/dev/apps',
        'k8s/dev/bootstrap',
        'k8s/platform/apps',
        'k8s/platform/argocd',
        'k8s/platform/bootstrap',
        'k8s/prod/apps',
        'k8s/staging/apps',
        'terraform',
        'terraform/state',
      ]),
    );
  });

  it('points every Application at a folder of the render that holds manifests', () => {
    const files = defaultRender();
    const applications = kubeObjects(files).filter(({ object }) => object.kind === 'Application');
    expect(applications.length).toBeGreaterThanOrEqual(5);
    for (const { path, object } of applications) {
      const spec = object.spec as { source?: { path?: string }; sources?: { path?: string }[] };
      const sources = spec.source ? [spec.source] : (spec.sources ?? []);
      for (const source of sources.filter((s) => s.path)) {
        const folder = source.path!.replace(/^dist\//, '');
        const inside = [...files.keys()].filter((file) => file.startsWith(`${folder}/`) && !file.slice(folder.length + 1).includes('/'));
        expect(inside.length, `${path} -> ${source.path}`).toBeGreaterThan(0);
      }
    }
  });

  it('is deterministic: two renders are identical', () => {
    const again = renderPlatform(loadDefaultPlatform());
    expect([...again.keys()]).toEqual([...defaultRender().keys()]);
    for (const [path, text] of again) expect(text, path).toBe(defaultRender().get(path));
  });

  it('does not depend on where the project is checked out', () => {
    for (const [path, text] of defaultRender()) expect(text, path).not.toContain(ROOT);
  });

  it('puts every namespaced object in an explicit namespace that is not default', () => {
    for (const { path, object } of kubeObjects(defaultRender())) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass', 'ClusterIssuer', 'VolumeSnapshotClass', 'Bundle'].includes(object.kind)) continue;
      expect(object.metadata.namespace, path).toBeTruthy();
      expect(object.metadata.namespace, path).not.toBe('default');
    }
  });

  it('renders another platform with nothing of the seed left in it', () => {
    const files = singleNodeRender();
    expect(verifyRender(files)).toEqual([]);
    for (const [path, text] of files) {
      expect(text, path).not.toContain('lumetium');
      expect(text, path).not.toContain('k3s-worker');
    }
    expect([...files.keys()].filter((p) => p.startsWith('k8s/dev/'))).toEqual([]);
    expect(files.get('k8s/prod/bootstrap/application-prod-root.yaml')).toContain('targetRevision: production');
  });

  describe('every Kubernetes object validates against its schema', () => {
    let crds: Map<string, ValidateFunction>;
    beforeAll(() => {
      crds = hasCrds() ? loadCrdValidators(CRDS_DIR) : new Map();
    });

    it('core kinds and custom resources', (ctx) => {
      if (crds.size === 0) ctx.skip();
      const problems: string[] = [];
      for (const { path, object } of kubeObjects(defaultRender())) {
        const problem = validateObject(object, crds);
        if (problem) problems.push(`${path}: ${problem}`);
      }
      expect(problems).toEqual([]);
    });

    it('would catch an invalid object (the validator is not a no-op)', (ctx) => {
      if (crds.size === 0) ctx.skip();
      const bad = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x', namespace: 'argocd' }, spec: { project: 7 } };
      expect(validateObject(bad as never, crds)).toMatch(/must be string|must have required property/);
      const badCore = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'y' }, data: { a: 1 } };
      expect(validateObject(badCore as never, crds)).toBeTruthy();
      // Strict: an unknown field deep in a pod spec is refused (kubernetes-models accepted it).
      const typo = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'y' }, spec: { containers: [{ name: 'c', image: 'i:1', securityContex: {} }] } };
      expect(validateObject(typo as never, crds)).toMatch(/securityContex/);
      const unknown = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } };
      expect(validateObject(unknown as never, crds)).toMatch(/no schema for example.com\/v1 Widget/);
    });
  });
});
