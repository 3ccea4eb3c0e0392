import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as versions from '../config/versions';
import { ROOT } from './support/render';

interface Manager {
  managerFilePatterns: string[];
  matchStrings: string[];
}

const renovate = JSON.parse(readFileSync(join(ROOT, 'renovate.json'), 'utf8')) as { customManagers: Manager[] };
const versionsFile = readFileSync(join(ROOT, 'config/versions.ts'), 'utf8');

/** Every pinned value of config/versions.ts, read from the module itself. */
function pinned(): string[] {
  const values: string[] = [];
  for (const chart of Object.values(versions.CHARTS)) values.push((chart as versions.ChartVersion).version);
  for (const image of Object.values(versions.IMAGES) as string[]) values.push(image.slice(image.lastIndexOf(':') + 1));
  for (const download of Object.values(versions.GATEWAY_DOWNLOADS)) values.push((download as versions.DownloadVersion).version);
  for (const pkg of Object.values(versions.GATEWAY_PACKAGES) as string[]) values.push(pkg);
  values.push(versions.K3S_VERSION);
  return values.sort();
}

describe('Renovate', () => {
  it('finds every pinned version of config/versions.ts, and nothing else', () => {
    // Renovate's regex engine (RE2) reads these patterns the same way as JavaScript does.
    const found = renovate.customManagers
      .filter((m) => m.managerFilePatterns.some((p) => new RegExp(p.slice(1, -1)).test('config/versions.ts')))
      .flatMap((m) => m.matchStrings.flatMap((s) => [...versionsFile.matchAll(new RegExp(s, 'g'))].map((match) => match.groups!.currentValue)))
      .sort();
    expect(found).toEqual(pinned());
  });

  it('names a datasource and a package for every match', () => {
    for (const manager of renovate.customManagers) {
      for (const pattern of manager.matchStrings) {
        for (const match of versionsFile.matchAll(new RegExp(pattern, 'g'))) {
          expect(match.groups!.datasource).toMatch(/^(helm|docker|github-releases|deb)$/);
          expect(match.groups!.depName).toBeTruthy();
        }
      }
    }
  });
});
