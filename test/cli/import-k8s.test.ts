import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSources, enumFields, enumTypes, importK8s, kubernetesVersion, runImportK8s } from '../../cli/import-k8s';
import { captureOutputAsync } from '../support/in-process';
import { runEntry } from '../support/render';

/** A tiny spec in the shape of kubernetes api/openapi-spec/swagger.json. */
const SPEC = {
  swagger: '2.0',
  definitions: {
    'io.k8s.api.apps.v1.Widget': {
      description: 'dropped',
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        spec: { $ref: '#/definitions/io.k8s.api.apps.v1.WidgetSpec' },
      },
      'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Widget' }],
    },
    'io.k8s.api.apps.v1.WidgetList': {
      type: 'object',
      properties: { items: { type: 'array', items: { $ref: '#/definitions/io.k8s.api.apps.v1.Widget' } } },
      'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'WidgetList' }],
    },
    'io.k8s.api.apps.v1.WidgetSpec': {
      type: 'object',
      properties: {
        port: { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' },
        size: { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' },
        policy: { type: 'string' },
        modes: { type: 'array', items: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    'io.k8s.api.apps.v1beta1.Gadget': {
      type: 'object',
      properties: { kind: { type: 'string' } },
      'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1beta1', kind: 'Gadget' }],
    },
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
    'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  },
};

/** A tiny k8s.io/api apps/v1/types.go: one +enum type, one plain string type. */
const TYPES = [
  'package v1',
  '',
  '// WidgetSpec is a widget.',
  'type WidgetSpec struct {',
  '\tPolicy WidgetPolicy `json:"policy,omitempty"`',
  '\tModes []WidgetPolicy `json:"modes,omitempty"`',
  '\tName Plain `json:"name"`',
  '}',
  '',
  '// WidgetPolicy says how.',
  '// +enum',
  'type WidgetPolicy string',
  '',
  'const (',
  '\tWidgetAlways WidgetPolicy = "Always"',
  '\tWidgetNever WidgetPolicy = "Never"',
  ')',
  '',
  'type Plain string',
  '',
  'const PlainValue Plain = "x"',
].join('\n');

const SOURCES = { openapi: 'spec.json', types: 'api/' };
const run = () => importK8s(SPEC as never, JSON.stringify(SPEC), new Map([['apps/v1', TYPES]]), '1.34.11', SOURCES);

describe('import:k8s', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('GIVEN the pinned k3s release THEN it reads the matching upstream tags', () => {
    expect(kubernetesVersion('v1.34.11+k3s1')).toBe('1.34.11');
    expect(defaultSources('1.34.11')).toEqual({
      openapi: 'https://raw.githubusercontent.com/kubernetes/kubernetes/v1.34.11/api/openapi-spec/swagger.json',
      types: 'https://raw.githubusercontent.com/kubernetes/api/v0.34.11',
    });
    expect(() => kubernetesVersion('1.34')).toThrow(/^config\/versions\.ts K3S_VERSION: "1\.34" is not a k3s release/);
  });

  it('GIVEN a spec WHEN imported THEN objects are closed, int-or-string, quantities and free-form fields are typed as the API server reads them', () => {
    const { index, definitions } = run();
    expect(index.served).toEqual({ 'apps/v1/Widget': 'io.k8s.api.apps.v1.Widget' });
    expect(index.notServed).toEqual({ 'apps/v1beta1/Gadget': 'beta API, off by default in Kubernetes 1.34.11' });
    expect(index.groups).toEqual(['apps']);
    expect(definitions['io.k8s.api.apps.v1.Widget']).toMatchObject({ additionalProperties: false, required: ['spec'] });
    expect(definitions['io.k8s.api.apps.v1.Widget']).not.toHaveProperty('description');
    const spec = definitions['io.k8s.api.apps.v1.WidgetSpec'] as any;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties.free).toEqual({});
    expect(spec.properties.labels).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toEqual({ type: ['integer', 'string'] });
    expect((definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] as any).anyOf[1]).toEqual({ type: 'number' });
  });

  it('GIVEN +enum types in k8s.io/api WHEN imported THEN the fields of that type get their values, lists included', () => {
    expect(enumTypes(TYPES)).toEqual(new Map([['WidgetPolicy', ['Always', 'Never']]]));
    expect(enumFields(TYPES, (_alias, type) => enumTypes(TYPES).get(type))).toEqual(
      new Map([
        ['WidgetSpec.policy', { values: ['Always', 'Never'], list: false }],
        ['WidgetSpec.modes', { values: ['Always', 'Never'], list: true }],
      ]),
    );
    const spec = run().definitions['io.k8s.api.apps.v1.WidgetSpec'] as any;
    expect(spec.properties.policy).toEqual({ type: 'string', enum: ['Always', 'Never'] });
    expect(spec.properties.modes.items).toEqual({ type: 'string', enum: ['Always', 'Never'] });
  });

  it('fails when the spec is not a Kubernetes OpenAPI document', () => {
    expect(() => importK8s({} as never, '{}', new Map(), '1.34.11', SOURCES)).toThrow('spec.json: not a Kubernetes OpenAPI v2 document (no "definitions"); pass api/openapi-spec/swagger.json');
  });

  // The first run and the first refusal as processes (exit codes reaching the shell); the second
  // run and the other refusal in this process (runImportK8s, what the entry calls), which saves a
  // process each (docs/decisions/0096-test-run-speed.md).
  it('GIVEN local sources WHEN run twice THEN it writes the same two files byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-k8s-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'swagger.json'), JSON.stringify(SPEC));
    mkdirSync(join(dir, 'api', 'apps', 'v1'), { recursive: true });
    writeFileSync(join(dir, 'api', 'apps', 'v1', 'types.go'), TYPES);
    const args = ['--from', join(dir, 'swagger.json'), '--types-from', join(dir, 'api'), '--out', join(dir, 'out')];
    const first = runEntry('cli/import-k8s.ts', args);
    expect(first.status, first.stderr).toBe(0);
    const before = ['index.json', 'definitions.json'].map((f) => readFileSync(join(dir, 'out', f), 'utf8'));
    const second = await captureOutputAsync(() => runImportK8s(args));
    expect(second.status, second.stderr).toBe(0);
    expect(['index.json', 'definitions.json'].map((f) => readFileSync(join(dir, 'out', f), 'utf8'))).toEqual(before);
    expect(JSON.parse(before[0]).served).toEqual({ 'apps/v1/Widget': 'io.k8s.api.apps.v1.Widget' });
  });

  it('fails when --from names no file, and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-k8s-'));
    dirs.push(dir);
    const result = runEntry('cli/import-k8s.ts', ['--from', join(dir, 'missing.json'), '--types-from', dir, '--out', join(dir, 'out')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`import:k8s failed: --from ${join(dir, 'missing.json')}: no such file; pass kubernetes/kubernetes api/openapi-spec/swagger.json at v`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('fails when --out holds anything but a previous import, and touches nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-k8s-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'swagger.json'), JSON.stringify(SPEC));
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const result = await captureOutputAsync(() => runImportK8s(['--from', join(dir, 'swagger.json'), '--types-from', dir, '--out', dir]));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`import:k8s failed: --out ${dir}: holds something else than a previous import (definitions.json, index.json); name an empty or new folder`);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
