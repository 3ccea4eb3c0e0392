import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHARTS, IMAGES } from '../../config/versions';
import { ROOT } from '../support/render';

const source = readFileSync(join(ROOT, 'config/versions.ts'), 'utf8').split('\n');

describe('config/versions.ts', () => {
  it('pins every chart and image exactly', () => {
    for (const [name, chart] of Object.entries(CHARTS)) expect(chart.version, name).toMatch(/^v?\d+\.\d+\.\d+$/);
    for (const [name, image] of Object.entries(IMAGES as Record<string, string>)) {
      // A release (`v1.2.3`, `1.2`) or a Jenkins component build (`3391.va_37fa_a_305d6d-4`), with suffixes.
      expect(image, name).toMatch(/^[a-z0-9./_-]+:(v?\d+\.\d+(\.\d+)?|\d+\.v[a-z0-9_]+)(-[a-z0-9.]+)*$/);
    }
  });

  it('puts a Renovate comment right above every chart and image entry', () => {
    const block = (name: string) => {
      const start = source.findIndex((line) => line.startsWith(`export const ${name} = {`));
      const end = source.findIndex((line, i) => i > start && line.startsWith('} as const'));
      return source.slice(start + 1, end).flatMap((line, i) => (/^\s+\w+: /.test(line) ? [start + 1 + i] : []));
    };
    const entries = [...block('CHARTS'), ...block('IMAGES')];
    expect(entries.length).toBe(Object.keys(CHARTS).length + Object.keys(IMAGES).length);
    for (const i of entries) expect(source[i - 1].trim(), source[i]).toMatch(/^\/\/ renovate: datasource=(helm|docker) /);
  });
});
