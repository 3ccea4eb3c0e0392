/**
 * The one YAML writer: its fast path writes exactly the bytes the `yaml` library writes (with
 * YAML 1.1 compat quoting), for every object of the render, and declines (so the library writes
 * it) whatever it does not cover; either way YAML 1.1 and 1.2 readers get the same data.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKubernetesObjects } from '../../charts/synth';
import { libraryYaml, manifestYaml, toYaml } from '../../common/yaml';
import { loadPlatformFile } from '../../config';
import { defaultKubernetesObjects, ROOT } from '../support/render';

const TRICKY: unknown[] = [
  '', 'plain', 'with space', 'true', 'True', 'FALSE', 'null', 'Null', '~', '1', '-1', '+1', '007', '1.5', '.5', '1.', '1e3', '0x1f', '0o17', '.inf', '-.Inf', '.nan',
  '-', '?', '- a', '? a', '-a', 'a: b', 'a:b', 'a:', 'a #b', 'a#b', '#c', ' lead', 'trail ', '\tx', '@x', '`x', '%x', '!x', '&x', '*x', '|x', '>x', ',x', '{a}', '[a]',
  '"q"', "it's", 'he said "hi"', `both ' and "`, '---', '--- x', '...', 'ünïcode', 'a\u2028b', 'x\u0001', 'https://host:8443/path?q=1#frag', 'k=v,k2=v2',
  'a\nb', 'a\nb\n', 'a\n\nb\n', 'a\n', '\n', ' a\nb', 'a\nb\n\n', 'a \n', 'a\n  \nb\n', 'a\n ', '---\nx\n', 'x\n---\ny\n', '  indented\nmore\n', '{{ x }}\n{{- y -}}\n',
  0, -3, 42, 1.5, -0.25, 1e21, 1e-7, 123456789012345678, Number.NaN, Number.POSITIVE_INFINITY, true, false, null,
  [], {}, [[1]], [[]], [{}], [{ a: 1, b: [2, { c: 'd' }] }], { '1': 'a' }, { true: 1 }, { 'a b': 1 }, { '': 1 }, { 'app.kubernetes.io/name': 'x' }, ['x\ny\n', 'z'], { k: ['a\nb\n'] },
  [{ script: 'set -e\necho hi\n', name: 'x' }], { deep: { deeper: { list: [{ a: { b: ['c'] } }] } } },
  // What only a YAML 1.1 reader (Kubernetes, Argo CD, Prometheus, cloud-init) takes for something else.
  'on', 'On', 'OFF', 'y', 'Y', 'n', 'N', 'yes', 'NO', '12:30', '1:2:3', '190:20:30.15', '-1:30', '1_000', '0777', '0b101', '+0x1F', '1_0.5', '.5e3',
  '2024-01-01', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '<<', '=',
  { on: 1 }, { y: 'n' }, { '12:30': 'x' }, ['on', 'no', { off: 'yes' }],
];

describe('the manifest writer', () => {
  it('writes every object of the default render, byte for byte as the library does', () => {
    const objects = defaultKubernetesObjects();
    expect(objects.size).toBeGreaterThan(200);
    for (const [path, object] of objects) {
      const fast = manifestYaml(object as unknown as Record<string, unknown>);
      expect(fast, `${path}: outside the writer's subset`).toBeDefined();
      expect(fast, path).toBe(libraryYaml(object));
    }
  });

  it('writes every object of another model the same way', () => {
    const objects = renderKubernetesObjects(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml')));
    for (const [path, object] of objects) expect(toYaml(object), path).toBe(libraryYaml(object));
  });

  it('writes each tricky value as the library does, or declines it (and toYaml then uses the library)', () => {
    let written = 0;
    for (const value of TRICKY) {
      const document = { value };
      const fast = manifestYaml(document);
      const library = libraryYaml(document);
      if (fast !== undefined) {
        written++;
        expect(fast, JSON.stringify(value)).toBe(library);
        expect(parse(fast), JSON.stringify(value)).toEqual(document);
      }
      expect(toYaml(document), JSON.stringify(value)).toBe(library);
      // YAML 1.1 and 1.2 readers both get the value back.
      expect(parse(library, { version: '1.1' }), `${JSON.stringify(value)} as YAML 1.1`).toEqual(document);
      expect(parse(library, { version: '1.2' }), `${JSON.stringify(value)} as YAML 1.2`).toEqual(document);
    }
    // Most of them are the writer's own work, not the fallback's.
    expect(written).toBeGreaterThan(TRICKY.length * 0.7);
  });

  it('declines what only a quoted or indicated scalar can hold, and nested sequences', () => {
    for (const value of ['x\u0001', 'a \n', ' a\nb', 'a\nb\n\n', 1e21, Number.NaN, [[1]], '---\nx\n']) {
      expect(manifestYaml({ value }), JSON.stringify(value)).toBeUndefined();
    }
  });
});
