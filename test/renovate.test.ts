import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as versions from '../config/versions';
import { ROOT } from './support/render';

interface Manager {
  description?: string;
  managerFilePatterns: string[];
  matchStrings: string[];
}

const renovate = JSON.parse(readFileSync(join(ROOT, 'renovate.json'), 'utf8')) as { customManagers: Manager[] };
const VERSIONS = 'config/versions.ts';
const versionsFile = readFileSync(join(ROOT, VERSIONS), 'utf8');

/** Datasources Renovate has, among those this project pins with; helm and deb need a registryUrl. */
const DATASOURCES = ['helm', 'docker', 'github-releases', 'deb', 'jenkins-plugins'];
const NEEDS_REGISTRY = ['helm', 'deb'];

/** Every pinned value of config/versions.ts, read from the module itself. */
function pinned(): string[] {
  const values: string[] = [];
  for (const chart of Object.values(versions.CHARTS)) values.push((chart as versions.ChartVersion).version);
  for (const image of Object.values(versions.IMAGES) as string[]) values.push(image.slice(image.lastIndexOf(':') + 1));
  for (const download of Object.values(versions.GATEWAY_DOWNLOADS)) values.push((download as versions.DownloadVersion).version);
  for (const pkg of Object.values(versions.GATEWAY_PACKAGES) as string[]) values.push(pkg);
  for (const plugin of Object.values(versions.JENKINS_PLUGINS) as string[]) values.push(plugin);
  values.push(versions.K3S_VERSION);
  return values.sort();
}

/** Every match of every custom manager that applies to `file`, as Renovate would extract it. */
function extract(file: string, text: string): RegExpMatchArray[] {
  // Renovate's regex engine (RE2) reads these patterns the same way as JavaScript does.
  return renovate.customManagers
    .filter((m) => m.managerFilePatterns.some((p) => new RegExp(p.slice(1, -1)).test(file)))
    .flatMap((m) => m.matchStrings.flatMap((s) => [...text.matchAll(new RegExp(s, 'g'))]));
}

/** The `// renovate:` comments of a file: where each starts, what it says, and the line below it. */
function renovateComments(text: string) {
  const comments: { offset: number; line: number; fields: Record<string, string>; next: string }[] = [];
  const lines = text.split('\n');
  let offset = 0;
  lines.forEach((line, i) => {
    const at = line.indexOf('// renovate: ');
    if (at >= 0 && /^\s*$/.test(line.slice(0, at))) {
      const fields = Object.fromEntries([...line.slice(at).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
      comments.push({ offset: offset + at, line: i + 1, fields, next: lines[i + 1] ?? '' });
    }
    offset += line.length + 1;
  });
  return comments;
}

describe('Renovate', () => {
  it('finds every pinned version of config/versions.ts, and nothing else', () => {
    expect(extract(VERSIONS, versionsFile).map((match) => match.groups!.currentValue).sort()).toEqual(pinned());
  });

  it('GIVEN every // renovate: comment of config/versions.ts WHEN the custom managers run THEN one of them extracts it with the datasource, package, registry and the version on the line below', () => {
    const comments = renovateComments(versionsFile);
    expect(comments.length).toBe(pinned().length);
    const matches = extract(VERSIONS, versionsFile);
    for (const comment of comments) {
      const where = `${VERSIONS}:${comment.line}`;
      const found = matches.filter((match) => match.index === comment.offset);
      expect(found, `${where}: no manager in renovate.json matches this comment`).toHaveLength(1);
      const groups = found[0].groups!;
      expect(DATASOURCES, where).toContain(comment.fields.datasource);
      expect(groups.datasource, where).toBe(comment.fields.datasource);
      expect(groups.depName, where).toBe(comment.fields.depName);
      if (NEEDS_REGISTRY.includes(groups.datasource)) expect(groups.registryUrl, where).toBe(comment.fields.registryUrl);
      expect(groups.currentValue, where).toBeTruthy();
      expect(comment.next, where).toContain(groups.currentValue);
    }
  });

  it('GIVEN the CRD URLs of cdk8s.yaml WHEN the custom managers run THEN each URL whose tag is a pinned release is moved with it, the rest are listed here with why', () => {
    const file = 'cdk8s.yaml';
    const text = readFileSync(join(ROOT, file), 'utf8');
    const urls = [...text.matchAll(/^\s*- [\w-]+:=(\S+)$/gm)].map((match) => match[1]);
    expect(urls.length).toBeGreaterThan(10);
    const moved = new Set(extract(file, text).map((match) => match.input!.slice(match.index!).split(/\s/)[0]));
    // Their tag is an application's release, not the chart version config/versions.ts pins (chart
    // argo-cd 10.4.0 ships Argo CD v3.5.1): moved by hand with the chart, as the cdk8s.yaml comment says.
    const byHand = ['argoproj/argo-cd/', 'cert-manager/cert-manager/', 'metallb/metallb/', 'vmware-tanzu/velero/'];
    const unmanaged = urls.filter((url) => !moved.has(url) && !byHand.some((repo) => url.includes(`githubusercontent.com/${repo}`)));
    expect(unmanaged).toEqual([]);
  });

  it('fails when a comment has no manager (the check is not a no-op)', () => {
    // GIVEN a pin under a datasource no manager knows WHEN extracted THEN the comment is unmatched
    const planted = `${versionsFile}\n// renovate: datasource=npm depName=left-pad\nexport const LEFT_PAD = '1.3.0';\n`;
    const comment = renovateComments(planted).pop()!;
    expect(extract(VERSIONS, planted).filter((match) => match.index === comment.offset)).toEqual([]);
  });
});
