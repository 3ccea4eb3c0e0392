/**
 * The whole-cluster restore of the README (issue 17 item 3) starts outside the cluster: it renders
 * the platform to sync from `backups.repositoryMirror`, starts Velero from keys that live outside
 * the cluster, and restores Vault, then the databases, then the rest. These tests run its model
 * rewrite for real and hold its names against the render.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform } from '../config';
import { renderKubernetesObjects } from '../charts/synth';
import { VELERO_CREDENTIALS } from '../charts/backup/velero';
import { VELERO_BACKUP_USER } from '../infra/stacks/backup';
import { defaultRender, kubeObjects, ROOT } from './support/render';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const platform = loadDefaultPlatform();
const mirror = platform.backups.repositoryMirror!;

/** The text of one README section: from its heading to the next heading of the same or a higher level (outside code blocks). */
function section(heading: string): string {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  expect(start, heading).toBeGreaterThan(-1);
  const level = heading.split(' ')[0].length;
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i].startsWith('```')) fenced = !fenced;
    const hashes = /^(#+) /.exec(lines[i])?.[1].length;
    if (!fenced && hashes !== undefined && hashes <= level) return lines.slice(start + 1, i).join('\n');
  }
  return lines.slice(start + 1).join('\n');
}

const wholeCluster = section('### Restore the whole cluster (nodes, Ceph and GitLab lost; the off-site bucket and the mirror intact)');
const mirrorSetup = section('### The platform repository outside the cluster');

/** The model rewrite of step 2: from `npm run -s synth -- --print-config` to `> restore.yaml`. */
function rewriteCommand(): string {
  const match = /^npm run -s synth -- --print-config \| node -e '[\s\S]*?' > restore\.yaml$/m.exec(wholeCluster);
  expect(match, 'the print-config | node -e ... > restore.yaml command').not.toBeNull();
  return match![0];
}

describe('the whole-cluster restore', () => {
  it('GIVEN the seed WHEN checked THEN it names a mirror and an off-site bucket, the two things the restore starts from', () => {
    expect(mirror).toBeDefined();
    expect(platform.backups.offsite).toBeDefined();
  });

  it('GIVEN the runbook\'s model rewrite WHEN run on the seed THEN the model validates, follows the mirror\'s restore branch, and every Git source of the render is the mirror', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'restore-'));
    try {
      const command = rewriteCommand().replace(/> restore\.yaml$/, `> ${join(dir, 'restore.yaml')}`);
      const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'silent' } });
      expect(result.status, result.stderr).toBe(0);
      const restored = loadPlatformFile(join(dir, 'restore.yaml'));
      expect(restored.git).toEqual({ repoURL: mirror.url, targetRevision: 'restore' });
      expect(restored.backups.repositoryMirror).toBeUndefined();
      // Nothing else changed: the restore renders the platform that ran.
      expect({ ...restored, git: platform.git, backups: { ...restored.backups, repositoryMirror: mirror } }).toEqual(platform);
      const sources = [...renderKubernetesObjects(restored).values()]
        .filter((o) => o.kind === 'Application')
        .flatMap((o) => {
          const spec = o.spec as { source?: { repoURL: string; path?: string }; sources?: { repoURL: string; path?: string }[] };
          return [spec.source, ...(spec.sources ?? [])].filter((s): s is { repoURL: string; path: string } => s?.path !== undefined);
        });
      expect(sources.length).toBeGreaterThan(10);
      for (const source of sources) expect(source.repoURL, source.path).toBe(mirror.url);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN the restore WHEN Velero starts THEN its two Secrets exist first, the bucket key from the backup stack\'s user', () => {
    const credentials = wholeCluster.indexOf(`kubectl -n velero create secret generic ${VELERO_CREDENTIALS.name}`);
    const password = wholeCluster.indexOf('kubectl -n velero create secret generic velero-repo-credentials');
    const velero = wholeCluster.indexOf('application-$app.yaml');
    expect(Math.min(credentials, password)).toBeGreaterThan(-1);
    expect(Math.max(credentials, password)).toBeLessThan(velero);
    expect(wholeCluster).toContain(`--from-file=${VELERO_CREDENTIALS.key}=<(aws iam create-access-key --user-name ${VELERO_BACKUP_USER} `);
    // The restore bootstrap includes the storage location, or Velero has nothing to read from.
    expect(wholeCluster).toMatch(/for app in [a-z -]*\bvelero velero-config\b[a-z -]*; do/);
  });

  it('GIVEN the newest daily backup WHEN restored THEN Vault comes back first, then the databases, then every other namespace', () => {
    const restores = [...wholeCluster.matchAll(/^velero restore create (\S+) --from-backup <backup> (.*) --wait$/gm)].map((m) => m[2]);
    expect(restores).toEqual(['--include-namespaces vault', '--include-namespaces databases', '--exclude-namespaces vault,databases']);
    // Those namespaces are the ones the daily Schedule backs up.
    const schedule = kubeObjects(defaultRender()).find(({ object }) => object.kind === 'Schedule')!.object as unknown as { spec: { template: { includedNamespaces: string[] } } };
    expect(schedule.spec.template.includedNamespaces).toEqual(expect.arrayContaining(['vault', 'databases']));
    // Vault is unsealed between its restore and the databases' (they read their secrets from it).
    const unseal = wholeCluster.indexOf('vault operator unseal');
    expect(unseal).toBeGreaterThan(wholeCluster.indexOf('--include-namespaces vault'));
    expect(unseal).toBeLessThan(wholeCluster.indexOf('--include-namespaces databases'));
  });

  it('GIVEN GitLab WHEN the push mirror is set up THEN the API call names the platform project of git.repoURL and the model\'s mirror', () => {
    const project = new URL(platform.git.repoURL).pathname.replace(/^\//, '').replace(/\.git$/, '');
    expect(mirrorSetup).toContain(`/api/v4/projects/${encodeURIComponent(project)}/remote_mirrors`);
    expect(mirrorSetup).toContain('backups.repositoryMirror.url');
    expect(mirrorSetup).toContain('"keep_divergent_refs=false"');
  });

  it('fails when the mirror is on the host of git.repoURL, which the restore brings back', () => {
    const model = structuredClone(platform) as unknown as { backups: { repositoryMirror: { url: string } } };
    model.backups.repositoryMirror = { url: 'https://git.lumetium.com/backup/platform.git' };
    expect(() => validatePlatform(model)).toThrow(
      'backups.repositoryMirror.url: "https://git.lumetium.com/backup/platform.git": is on the host of git.repoURL, the GitLab a whole-cluster restore brings back; name a Git remote outside the platform, e.g. "https://github.com/example/platform.git"',
    );
  });
});
