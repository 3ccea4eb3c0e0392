/**
 * The README's runbooks are commands users run on a real platform: they must name what this
 * repository renders (files, Applications, Vault entries, Secrets, hosts, npm scripts, versions)
 * and parse as shell. A rename in the code that leaves the README behind fails here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../config';
import { K3S_VERSION } from '../config/versions';
import { allServices } from '../charts/catalogue';
import { servicePlan } from '../charts/synth';
import { kvPutPath } from '../charts/lib/vault';
import { OIDC_CLIENTS, oidcClientKvPath } from '../charts/lib/sso';
import { HARBOR_SECRETS } from '../charts/registry/harbor';
import { GITLAB_SECRETS } from '../charts/source/gitlab';
import { RESTORE_ONLY_VAULT_ENTRIES } from '../charts/backup/application-backups';
import { platformHosts } from '../infra/lib/hosts';
import { defaultRender, kubeObjects, ROOT } from './support/render';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const shellBlocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const commands = shellBlocks.join('\n');
const platform = loadDefaultPlatform();
const files = defaultRender();
const objects = kubeObjects(files).map(({ object }) => object);
const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** `<placeholder>` words of the runbooks (not `<(` process substitutions), replaced for parsing. */
const PLACEHOLDER = /<[A-Za-z][^<>\n]*>/g;
const unique = <T>(values: T[]) => [...new Set(values)];

describe('the README runbooks', () => {
  it('has shell blocks, each of which bash parses (placeholders read as words)', () => {
    expect(shellBlocks.length).toBeGreaterThan(15);
    for (const block of shellBlocks) {
      const result = spawnSync('bash', ['-n'], { input: block.replace(PLACEHOLDER, 'PLACEHOLDER'), encoding: 'utf8' });
      expect(result.status, `${result.stderr}\n${block}`).toBe(0);
    }
  });

  it('would notice a block that does not parse (the check is not a no-op)', () => {
    expect(spawnSync('bash', ['-n'], { input: 'for x in a b; do echo "$x"\n', encoding: 'utf8' }).status).not.toBe(0);
  });

  it('names only npm scripts that exist', () => {
    const named = unique([...readme.matchAll(/npm run ([a-z][a-z-]*)/g)].map((m) => m[1]));
    expect(named).toEqual(expect.arrayContaining(['synth', 'check', 'diff', 'set-image', 'policy', 'bench', 'import']));
    for (const name of named) expect(scripts, `npm run ${name}`).toContain(name);
  });

  it('names only dist/ paths the render writes (placeholders and shell variables match one path segment)', () => {
    // Files operators keep in dist/ that the render carries over but never writes.
    const operatorFiles = /^dist\/terraform\/state\/(terraform\.tfstate|\.terraform)/;
    const rendered = [...files.keys()].map((path) => `dist/${path}`);
    const named = unique([...readme.matchAll(/\bdist\/[A-Za-z0-9_.<>$\/-]*[A-Za-z0-9_>\/-]/g)].map((m) => m[0]));
    expect(named.length).toBeGreaterThan(20);
    for (const path of named.filter((p) => !operatorFiles.test(p))) {
      // <placeholder> and $variable stand for any one segment (or the rest of one).
      const segments = path.replace(/\/$/, '').replace(/<[^<>/]+>|\$[A-Za-z_]+/g, '\u0000');
      const pattern = new RegExp(`^${segments.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\u0000/g, '[^/]+')}(/|$)`);
      expect(rendered.some((file) => pattern.test(file)), path).toBe(true);
    }
  });

  it('syncs and pauses only Applications the render defines', () => {
    const applications = objects.filter((o) => o.kind === 'Application').map((o) => o.metadata.name);
    const named = unique([...commands.matchAll(/argocd app (?:sync|set) ([a-z0-9-]+)/g)].map((m) => m[1]));
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(applications, `argocd app ... ${name}`).toContain(name);
    for (const [, , list] of commands.matchAll(/for (\w+) in ([a-z0-9 -]+); do\n\s+kubectl apply -n argocd -f dist\/k8s\/platform\/apps\/application-\$\1\.yaml/g)) {
      for (const name of list.trim().split(/\s+/)) expect(applications, `application-${name}.yaml`).toContain(name);
    }
  });

  it('writes and reads only Vault entries a workload declares or a chart Secret is copied from', () => {
    const consumers = servicePlan(platform, allServices(platform)).secretConsumers ?? [];
    const declared = new Set([
      ...consumers.flatMap((consumer) => consumer.secrets.map((secret) => kvPutPath(consumer, secret))),
      ...Object.values(GITLAB_SECRETS).map((secret) => secret.vaultPath),
      ...Object.values(HARBOR_SECRETS).flatMap((secret) => Object.values(secret.keys).map((source) => source.split('#')[0])),
      ...RESTORE_ONLY_VAULT_ENTRIES.map((entry) => entry.path),
      // GitLab's OAuth applications, which load-kv.sh prompts for under `sso`.
      ...OIDC_CLIENTS.map((client) => oidcClientKvPath(client)),
    ]);
    const named = unique([...commands.matchAll(/(?:vault kv put|\bv) (secret\/[a-z0-9/-]+)/g)].map((m) => m[1]));
    expect(named.length).toBeGreaterThan(15);
    for (const path of named) expect(declared.has(path), path).toBe(true);
  });

  it('creates by hand only Secrets that a rendered object or chart reads, in a namespace the render owns', () => {
    const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    const created = [...commands.matchAll(/kubectl -n ([a-z0-9-]+) create secret (?:generic|tls) ([a-z0-9-]+)/g)].map((m) => ({ namespace: m[1], name: m[2] }));
    expect(created.length).toBeGreaterThan(8);
    const texts = [...files].filter(([path]) => path.startsWith('k8s/')).map(([, text]) => text);
    // Every Secret the GitLab and Harbor charts read is created.
    const chartSecrets = [...Object.values(GITLAB_SECRETS).map((s) => `gitlab/${s.name}`), ...Object.values(HARBOR_SECRETS).map((s) => `harbor/${s.name}`)];
    expect(created.map((c) => `${c.namespace}/${c.name}`)).toEqual(expect.arrayContaining(chartSecrets));
    for (const { namespace, name } of created) {
      expect(namespaces, `${namespace}/${name}`).toContain(namespace);
      // Velero reads its kopia repository password by a fixed name (Velero v1.18 pkg/repository/keys/keys.go).
      if (name === 'velero-repo-credentials') continue;
      expect(texts.some((text) => new RegExp(`\\b${name}\\b`).test(text)), `${namespace}/${name} is read by nothing rendered`).toBe(true);
    }
  });

  it('links only to files that exist and to its own headings', () => {
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((link) => !/^https?:/.test(link));
    // GitHub's and GitLab's anchors: lower case, punctuation dropped, spaces as hyphens.
    const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1].toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    expect(links.length).toBeGreaterThan(20);
    for (const link of links) {
      if (link.startsWith('#')) expect(anchors.has(link.slice(1)), link).toBe(true);
      else expect(existsSync(join(ROOT, link)), link).toBe(true);
    }
  });

  it('installs the pinned k3s release', () => {
    const versions = unique([...readme.matchAll(/INSTALL_K3S_VERSION=(\S+)/g)].map((m) => m[1]));
    expect(versions).toEqual([K3S_VERSION]);
  });

  it("names only hosts of the model under its domain", () => {
    const known = new Set([...platformHosts(platform).map((h) => h.host), platform.mesh.headscaleHost]);
    const escaped = platform.domain.replace(/\./g, '\\.');
    const named = unique([...readme.matchAll(new RegExp(`\\b((?:[a-z0-9-]+\\.)+${escaped})\\b`, 'g'))].map((m) => m[1]));
    expect(named.length).toBeGreaterThan(3);
    for (const host of named.filter((h) => h !== platform.domain)) expect(known.has(host), host).toBe(true);
  });
});
