/**
 * Vault's own configuration, rendered from the model and the declared consumers: the policies
 * (parsed by the real HCL parser), the roles (POLICY-RULES VAULT-01..06), the isolation between
 * consumers, and apply.sh run for real against a stand-in Vault CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { beforeAll, describe, expect, it } from 'vitest';
import { durationMinutes, loadDefaultPlatform, loadPlatformFile, type Platform } from '../../../config';
import { servicePlan } from '../../../charts/synth';
import type { KubeObject } from '../../../charts/lib/service';
import { allServices } from '../../../charts/catalogue';
import { VAULT_AGENT_LABEL, VAULT_TOKEN_VOLUME, secretPath, validateSecretConsumers, type SecretConsumer } from '../../../charts/lib/vault';
import { Vault } from '../../../charts/security/vault';
import {
  ADMIN_POLICY,
  OIDC_ROLE_FILE,
  SSO_ADMIN_POLICY,
  SSO_VIEWER_POLICY,
  oidcRole,
  ssoAdminPolicy,
  ssoViewerPolicy,
  ADMIN_ROLE,
  CONFIG_DIR,
  adminPolicy,
  consumerPolicy,
  consumerPolicyName,
  consumerRole,
  configFiles,
  RAFT_SNAPSHOT_POLICY,
  raftSnapshotPolicy,
  type KubernetesAuthRole,
  type VaultAuthSettings,
} from '../../../charts/security/vault-config';
import { BACKUPS_NAMESPACE, RAFT_SNAPSHOT_ROLE, VAULT_SNAPSHOT } from '../../../charts/lib/backup-jobs';
import { defaultKubernetesObjects, ROOT } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';
import { podTemplatePods } from '../../../policy';
import { gitlabIssuer, oidcClient, ssoGroups } from '../../../charts/lib/sso';
import { fakeVault, mayRead, pathMatches, parseHcl as hcltoolParse, runScript, type FakeVaultState, type PolicyJson } from '../../support/vault';

const platform = loadDefaultPlatform();
const authOf = (model: Platform): VaultAuthSettings => ({
  podCidr: model.cluster.podCidr,
  tokenTtl: model.vault.tokenTtl,
  tokenMaxTtl: model.vault.tokenMaxTtl,
  oidc: { issuer: gitlabIssuer(model), redirectUris: oidcClient(model, 'vault').redirectUris, groups: ssoGroups(model) },
});
const AUTH = authOf(platform);
/** The seed's consumers, from every service's declaration (no render needed). */
const consumers = servicePlan(platform, allServices(platform)).secretConsumers!;
/** The ConfigMap of the Vault construct alone, given the seed's consumers. */
const configMap = (() => {
  let cached: any;
  return () => {
    if (!cached) {
      const chart = Testing.chart();
      new Vault(chart, 'vault', { host: 'vault.example.com', issuer: 'letsencrypt-prod', auth: AUTH, secretConsumers: consumers, plan: { connections: Vault.registration.connections!(platform) } });
      cached = Testing.synth(chart).find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === 'vault-config');
    }
    return cached;
  };
})();
const data = (): Record<string, string> => configMap().data;
/**
 * The HCL parser once per distinct text: the same policies are read by several tests, and each
 * hcltool run starts a Python interpreter (the bulk of this file's time). `preparse` reads many
 * texts in one interpreter with the module hcltool itself calls (python3-pyhcl's `hcl.loads`);
 * a text it cannot read is left to hcltool, whose message the tests expect.
 */
const parsed = new Map<string, Record<string, unknown>>();
const parseHcl = (text: string): Record<string, unknown> => {
  if (!parsed.has(text)) parsed.set(text, hcltoolParse(text));
  return parsed.get(text)!;
};
function preparse(texts: readonly string[]): void {
  const todo = [...new Set(texts)].filter((text) => !parsed.has(text));
  if (todo.length === 0) return;
  const script = 'import hcl, json, sys\nout = []\nfor t in json.load(sys.stdin):\n    try:\n        out.append(hcl.loads(t))\n    except Exception:\n        out.append(None)\nprint(json.dumps(out))';
  // The interpreter hcltool runs with (its #! line), which has the module.
  const hcltoolPath = spawnSync('sh', ['-c', 'command -v hcltool'], { encoding: 'utf8' }).stdout.trim();
  const interpreter = readFileSync(hcltoolPath, 'utf8').split('\n')[0].replace(/^#!\s*/, '').trim();
  const result = spawnSync(interpreter, ['-c', script], { input: JSON.stringify(todo), encoding: 'utf8' });
  if (result.status !== 0) return;
  const results = JSON.parse(result.stdout) as (Record<string, unknown> | null)[];
  todo.forEach((text, i) => results[i] !== null && parsed.set(text, results[i]!));
}
const hclFiles = (files: Record<string, string>) => Object.entries(files).flatMap(([name, text]) => (name.endsWith('.hcl') ? [text] : []));
/** The delivery's consumers in the default model: the example app in each environment, Jenkins and its build pods. */
const APP_AND_BUILD_CONSUMERS = ['hello-dev', 'hello-prod', 'hello-staging', 'jenkins', 'kaniko-hello'];
const hcltool = () => requireValidator('hcltool', hasCommand('hcltool'), 'apt-get install python3-pyhcl');

/** Consumers the observability issue and the user's apps will add, to test isolation among many. */
const MORE: SecretConsumer[] = [
  { name: 'grafana', namespace: 'monitoring', serviceAccount: 'grafana', secrets: [{ name: 'admin', keys: ['user', 'password'] }, { name: 'oidc', keys: ['client_secret'] }] },
  { name: 'grafana-agent', namespace: 'monitoring', serviceAccount: 'grafana-agent', secrets: [{ name: 'admin', keys: ['token'] }] },
  { name: 'alertmanager', namespace: 'monitoring', serviceAccount: 'alertmanager', secrets: [{ name: 'receivers', keys: ['slack_url'] }] },
];

beforeAll(() => {
  if (!hasCommand('hcltool')) return;
  const all = [...consumers, ...MORE];
  preparse([...hclFiles(data()), ...hclFiles(configFiles(AUTH, all)), ...all.map(consumerPolicy), adminPolicy()]);
});

describe("Vault's configuration as code", () => {
  it("GIVEN the seed's consumers WHEN Vault is rendered THEN its ConfigMap holds one policy and one role per consumer, the admin and raft snapshot pairs, and the scripts", () => {
    expect(consumers.map((c) => c.name).sort()).toEqual(['alertmanager', 'grafana', 'harbor-setup', 'hello-dev', 'hello-prod', 'hello-staging', 'jenkins', 'kaniko-hello', 'postgresql', 'postgresql-dump', 'redis', 'renovate', 'vault-snapshot']);
    expect(Object.keys(data())).toEqual([
      'apply.sh',
      'bootstrap.sh',
      'load-kv.sh',
      'oidc-role-gitlab.json',
      'policy-platform-alertmanager.hcl',
      'policy-platform-grafana.hcl',
      'policy-platform-harbor-setup.hcl',
      'policy-platform-hello-dev.hcl',
      'policy-platform-hello-prod.hcl',
      'policy-platform-hello-staging.hcl',
      'policy-platform-jenkins.hcl',
      'policy-platform-kaniko-hello.hcl',
      'policy-platform-postgresql-dump.hcl',
      'policy-platform-postgresql.hcl',
      'policy-platform-raft-snapshot.hcl',
      'policy-platform-redis.hcl',
      'policy-platform-renovate.hcl',
      'policy-platform-sso-admin.hcl',
      'policy-platform-sso-viewer.hcl',
      'policy-platform-vault-config.hcl',
      'policy-platform-vault-snapshot.hcl',
      'role-alertmanager.json',
      'role-grafana.json',
      'role-harbor-setup.json',
      'role-hello-dev.json',
      'role-hello-prod.json',
      'role-hello-staging.json',
      'role-jenkins.json',
      'role-kaniko-hello.json',
      'role-postgresql-dump.json',
      'role-postgresql.json',
      'role-raft-snapshot.json',
      'role-redis.json',
      'role-renovate.json',
      'role-vault-config.json',
      'role-vault-snapshot.json',
      'tls-reloader.sh',
    ]);
    expect(configMap().metadata.namespace).toBe('vault');
  });

  it('GIVEN the rendered policies WHEN the HCL parser reads them THEN they grant exactly what is intended, whatever consumers exist', (ctx) => {
    if (!hcltool()) ctx.skip();
    expect(parseHcl(data()['policy-platform-postgresql.hcl'])).toEqual({
      path: { 'secret/data/postgresql/superuser': { capabilities: ['read'] }, 'secret/data/postgresql/gitlab': { capabilities: ['read'] }, 'secret/data/postgresql/harbor': { capabilities: ['read'] } },
    });
    expect(parseHcl(data()[`policy-${ADMIN_POLICY}.hcl`])).toEqual({
      path: {
        'sys/mounts': { capabilities: ['read'] },
        'sys/mounts/secret': { capabilities: ['create', 'read', 'update'] },
        'sys/auth': { capabilities: ['read'] },
        'sys/audit': { capabilities: ['read', 'sudo'] },
        'sys/audit/stdout': { capabilities: ['create', 'read', 'update', 'sudo'] },
        'auth/kubernetes/config': { capabilities: ['create', 'read', 'update'] },
        'auth/kubernetes/role': { capabilities: ['list'] },
        'auth/kubernetes/role/*': { capabilities: ['create', 'read', 'update', 'delete'] },
        'sys/policies/acl': { capabilities: ['list'] },
        'sys/policies/acl/*': { capabilities: ['create', 'read', 'update', 'delete'] },
        'secret/data/sso/vault': { capabilities: ['read'] },
        'sys/auth/oidc': { capabilities: ['create', 'read', 'update', 'sudo'] },
        'auth/oidc/config': { capabilities: ['create', 'read', 'update'] },
        'auth/oidc/role/gitlab': { capabilities: ['create', 'read', 'update'] },
        'identity/group/name/sso-admins': { capabilities: ['create', 'read', 'update'] },
        'identity/group/name/sso-viewers': { capabilities: ['create', 'read', 'update'] },
        'identity/group-alias': { capabilities: ['create', 'update'] },
        'identity/group-alias/id/*': { capabilities: ['read', 'update'] },
      },
    });
    // Every policy file of the ConfigMap parses, whatever consumers exist.
    for (const [name, text] of Object.entries(configFiles(AUTH, [...consumers, ...MORE]))) {
      if (name.endsWith('.hcl')) expect(() => parseHcl(text), name).not.toThrow();
    }
  });

  it('GIVEN the people\'s policies WHEN the HCL parser reads them THEN admins manage secrets but not Vault\'s own configuration, and viewers read no secret value', (ctx) => {
    if (!hcltool()) ctx.skip();
    const admin = parseHcl(ssoAdminPolicy()) as unknown as PolicyJson;
    const viewer = parseHcl(ssoViewerPolicy()) as unknown as PolicyJson;
    expect(mayRead(admin, 'secret/data/postgresql/superuser')).toBe(true);
    expect(mayRead(viewer, 'secret/metadata/postgresql/superuser')).toBe(true);
    for (const path of ['secret/data/postgresql/superuser', 'secret/data/sso/vault', 'sys/storage/raft/snapshot']) expect(mayRead(viewer, path), path).toBe(false);
    // Configuration is Git's: no person writes policies, roles or auth methods, nor takes snapshots.
    const grants = (policy: PolicyJson, path: string, capability: string) =>
      Object.entries(policy.path).some(([pattern, block]) => pathMatches(pattern, path) && block.capabilities.includes(capability));
    for (const [path, capability] of [['sys/policies/acl/platform-sso-admin', 'update'], ['auth/kubernetes/role/grafana', 'update'], ['auth/oidc/config', 'update'], ['sys/auth/oidc', 'update'], ['sys/storage/raft/snapshot', 'read'], ['sys/seal', 'update']]) {
      expect(grants(admin, path, capability), `${path} ${capability}`).toBe(false);
      expect(grants(viewer, path, capability), `${path} ${capability}`).toBe(false);
    }
  });

  it('GIVEN the OIDC role WHEN read THEN only direct members of the two GitLab groups sign in, returning to Vault\'s own host, with a working day\'s token at most', () => {
    const role = oidcRole(AUTH.oidc);
    expect(role).toMatchObject({
      role_type: 'oidc',
      allowed_redirect_uris: ['https://vault.lumetium.com/ui/vault/auth/oidc/oidc/callback', 'http://localhost:8250/oidc/callback'],
      user_claim: 'sub',
      groups_claim: 'groups_direct',
      bound_claims: { groups_direct: ['platform-admins', 'platform-viewers'] },
      oidc_scopes: ['profile', 'email'],
    });
    expect(durationMinutes(role.token_max_ttl)).toBeLessThanOrEqual(8 * 60);
  });

  it('GIVEN a policy with a syntax error WHEN the HCL parser reads it THEN it rejects it (the parser is not a no-op)', (ctx) => {
    if (!hcltool()) ctx.skip();
    expect(() => parseHcl('path "secret/data/x" {\n  capabilities = ["read"\n}\n')).toThrow(/hcltool rejects the file/);
  });

  it('GIVEN every rendered role WHEN read THEN it binds one service account in one namespace, the vault audience, its own policy and short tokens (VAULT-01..06)', () => {
    const roles = Object.entries(data()).filter(([name]) => name.startsWith('role-'));
    expect(roles.map(([name]) => name)).toEqual(['role-alertmanager.json', 'role-grafana.json', 'role-harbor-setup.json', 'role-hello-dev.json', 'role-hello-prod.json', 'role-hello-staging.json', 'role-jenkins.json', 'role-kaniko-hello.json', 'role-postgresql-dump.json', 'role-postgresql.json', 'role-raft-snapshot.json', 'role-redis.json', 'role-renovate.json', 'role-vault-config.json', 'role-vault-snapshot.json']);
    for (const [file, text] of roles) {
      const role = JSON.parse(text) as KubernetesAuthRole;
      const name = file.slice('role-'.length, -'.json'.length);
      // VAULT-01/02: exactly one service account and one namespace, no globs.
      expect(role.bound_service_account_names, file).toHaveLength(1);
      expect(role.bound_service_account_namespaces, file).toHaveLength(1);
      for (const value of [...role.bound_service_account_names, ...role.bound_service_account_namespaces]) expect(value, file).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      // VAULT-03, VAULT-06.
      expect(role.audience, file).toBe('vault');
      expect(role.alias_name_source, file).toBe('serviceaccount_uid');
      // VAULT-04: at most 1h and 24h.
      const minutes = (d: string) => Number(d.slice(0, -1)) * (d.endsWith('h') ? 60 : 1);
      expect(minutes(role.token_ttl), file).toBeLessThanOrEqual(60);
      expect(minutes(role.token_max_ttl), file).toBeLessThanOrEqual(24 * 60);
      expect(minutes(role.token_ttl), file).toBeLessThanOrEqual(minutes(role.token_max_ttl));
      // VAULT-05: its own policy only, never root or default alone.
      expect(role.token_policies, file).toEqual([name === ADMIN_ROLE ? ADMIN_POLICY : `platform-${name}`]);
      expect(role.token_bound_cidrs, file).toEqual([platform.cluster.podCidr]);
    }
    expect(JSON.parse(data()['role-postgresql.json'])).toEqual({
      bound_service_account_names: ['postgresql'],
      bound_service_account_namespaces: ['databases'],
      audience: 'vault',
      alias_name_source: 'serviceaccount_uid',
      token_policies: ['platform-postgresql'],
      token_ttl: '15m',
      token_max_ttl: '4h',
      token_bound_cidrs: ['10.42.0.0/16'],
    });
    expect(JSON.parse(data()['role-vault-config.json'])).toMatchObject({ bound_service_account_names: ['vault-config'], bound_service_account_namespaces: ['vault'], token_ttl: '5m', token_max_ttl: '15m' });
  });

  it('GIVEN the daily raft snapshot WHEN Vault reads its role and policy THEN its service account may read sys/storage/raft/snapshot and nothing else', (ctx) => {
    expect(JSON.parse(data()[`role-${RAFT_SNAPSHOT_ROLE}.json`])).toMatchObject({
      bound_service_account_names: [VAULT_SNAPSHOT],
      bound_service_account_namespaces: [BACKUPS_NAMESPACE],
      token_policies: [RAFT_SNAPSHOT_POLICY],
    });
    const policy = data()[`policy-${RAFT_SNAPSHOT_POLICY}.hcl`];
    expect(policy).toBe(raftSnapshotPolicy());
    if (!hcltool()) ctx.skip();
    expect(parseHcl(policy)).toEqual({ path: { 'sys/storage/raft/snapshot': { capabilities: ['read'] } } });
  });

  it('fails when a secret consumer takes the raft snapshot role\'s name', () => {
    const impostor: SecretConsumer = { name: RAFT_SNAPSHOT_ROLE, namespace: 'backups', serviceAccount: 'other', secrets: [{ name: 'x', keys: ['y'] }] };
    expect(() => configFiles(AUTH, [impostor])).toThrow('vault consumer raft-snapshot: the name is reserved for the raft snapshot role (charts/lib/backup-jobs.ts); choose another');
  });

  it('GIVEN the one-node model WHEN a role is rendered THEN it takes the token lifetimes and the pod network from it', () => {
    const single = loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml'));
    const postgresql = consumers.find((c) => c.name === 'postgresql')!;
    expect(consumerRole(postgresql, authOf(single))).toMatchObject({ token_ttl: '30m', token_max_ttl: '12h', token_bound_cidrs: [single.cluster.podCidr] });
  });

  it('GIVEN the whole render WHEN every declared secret is followed THEN it has a policy path, a role and an agent injection in its pods', (ctx) => {
    if (!hcltool()) ctx.skip();
    for (const consumer of consumers) {
      const role = JSON.parse(data()[`role-${consumer.name}.json`]) as KubernetesAuthRole;
      expect(role.bound_service_account_names).toEqual([consumer.serviceAccount]);
      expect(role.bound_service_account_namespaces).toEqual([consumer.namespace]);
      const policy = parseHcl(data()[`policy-${consumerPolicyName(consumer)}.hcl`]) as unknown as PolicyJson;
      const pods = injectedPodsOf(consumer);
      expect(pods.length, `${consumer.name}: no pod template carries its agent`).toBeGreaterThan(0);
      for (const pod of pods) {
        expect(pod.labels[VAULT_AGENT_LABEL], consumer.name).toBe('inject');
        expect(pod.serviceAccountName, consumer.name).toBe(consumer.serviceAccount);
        expect(pod.volumes.find((v: any) => v.name === VAULT_TOKEN_VOLUME)?.projected.sources[0].serviceAccountToken, consumer.name).toEqual({ audience: 'vault', expirationSeconds: 600, path: 'token' });
      }
      for (const secret of consumer.secrets) {
        expect(mayRead(policy, secretPath(consumer, secret)), `${consumer.name}/${secret.name}: policy`).toBe(true);
        for (const pod of pods) expect(pod.annotations[`vault.hashicorp.com/agent-inject-secret-${secret.name}`], `${consumer.name}/${secret.name}`).toBe(secretPath(consumer, secret));
      }
    }
  });

  it('GIVEN many consumers WHEN their policies are read THEN none reads another consumer’s entries nor an undeclared entry of its own, and the admin policy reads none', (ctx) => {
    if (!hcltool()) ctx.skip();
    const all = [...consumers, ...MORE.filter((extra) => !consumers.some((c) => c.name === extra.name))];
    validateSecretConsumers(all);
    const admin = parseHcl(adminPolicy()) as unknown as PolicyJson;
    for (const reader of all) {
      const policy = parseHcl(consumerPolicy(reader)) as unknown as PolicyJson;
      for (const owner of all) {
        for (const secret of owner.secrets) {
          const path = secretPath(owner, secret);
          // Exactly what the reader declares: its own entries and the shared ones it names (a Harbor robot's).
          const declared = reader.secrets.some((own) => secretPath(reader, own) === path);
          expect(mayRead(policy, path), `${reader.name} reading ${path}`).toBe(declared);
          if (owner === reader) expect(declared, path).toBe(true);
          expect(mayRead(admin, path), `the admin policy reading ${path}`).toBe(false);
        }
      }
      expect(mayRead(policy, `secret/data/${reader.name}/undeclared`), reader.name).toBe(false);
      expect(mayRead(policy, `secret/metadata/${reader.name}/${reader.secrets[0].name}`), reader.name).toBe(false);
      expect(Object.keys(policy.path).every((p) => !p.includes('*') && !p.includes('+')), reader.name).toBe(true);
    }
  });

  it('GIVEN a policy with a glob WHEN matched THEN it reads across consumers (the check is not a no-op)', (ctx) => {
    if (!hcltool()) ctx.skip();
    const wide = parseHcl('path "secret/data/grafana*" {\n  capabilities = ["read"]\n}\n') as unknown as PolicyJson;
    expect(mayRead(wide, 'secret/data/grafana-agent/admin')).toBe(true);
    const segment = parseHcl('path "secret/data/+/admin" {\n  capabilities = ["read"]\n}\n') as unknown as PolicyJson;
    expect(mayRead(segment, 'secret/data/grafana/admin')).toBe(true);
    expect(mayRead(segment, 'secret/data/grafana/oidc')).toBe(false);
  });

  it('fails for consumers that would share an identity or break a path', () => {
    const postgresql = consumers.find((c) => c.name === 'postgresql')!;
    expect(() => validateSecretConsumers([postgresql, { ...postgresql }])).toThrow('vault consumer postgresql: declared twice; every consumer needs its own name (role, policy and path)');
    expect(() => validateSecretConsumers([postgresql, { ...MORE[0], namespace: 'databases', serviceAccount: 'postgresql' }])).toThrow(
      'vault consumer grafana: service account databases/postgresql is already bound to consumer postgresql; give each consumer its own service account',
    );
    expect(() => validateSecretConsumers([{ ...postgresql, name: ADMIN_ROLE }], [ADMIN_ROLE])).toThrow("vault consumer vault-config: the name is reserved for Vault's own configuration role; choose another");
    expect(() => validateSecretConsumers([{ ...MORE[0], secrets: [{ name: 'admin', keys: ['pass-word'] }] }])).toThrow(
      'vault consumer grafana: secret admin: key "pass-word" must be letters, digits and "_" (the template reads .Data.data.<key>)',
    );
    expect(() => validateSecretConsumers([{ ...MORE[0], secrets: [{ name: 'Admin', keys: ['x'] }] }])).toThrow(/secret "Admin" must be a DNS label/);
    expect(() => validateSecretConsumers([{ ...MORE[0], workload: { namespace: 'other', name: 'grafana' } }])).toThrow('vault consumer grafana: its workload runs in other, not in monitoring');
  });

  it('GIVEN declared consumers WHEN load-kv.sh is rendered THEN it prompts for every key of every declared secret', () => {
    expect(data()['load-kv.sh']).toContain('\nload postgresql secret/postgresql/superuser password\n');
    expect(configFiles(AUTH, MORE)['load-kv.sh']).toContain('load alertmanager secret/alertmanager/receivers slack_url\nload grafana secret/grafana/admin user password\nload grafana secret/grafana/oidc client_secret\n');
  });

  it('GIVEN typed-in values WHEN load-kv.sh runs against the stand-in Vault THEN each value goes through a pipe, never on a command line', async () => {
    const vault = await fakeVault({ audit: [], mounts: {}, auth: [], policies: {}, roles: {}, revoked: 0 });
    const files = configFiles(AUTH, MORE);
    const run = (args: string[], input: string) => runScript('sh', ['-c', files['load-kv.sh'], 'load-kv.sh', ...args], { input, env: { PATH: vault.path, VAULT_TOKEN: 's.fake-admin-token' } });
    const result = await run(['grafana'], 'admin-user\nadmin pass with spaces\nclient-secret-value\n');
    expect(result.status, result.stderr).toBe(0);
    expect(vault.state().kv).toEqual({
      'secret/grafana/admin': { user: 'admin-user', password: 'admin pass with spaces' },
      'secret/grafana/oidc': { client_secret: 'client-secret-value' },
    });
    expect(vault.calls().join('\n')).not.toMatch(/admin-user|spaces|client-secret-value/);
    expect(result.stderr).toContain('secret/grafana/admin password: ');
  });

  it('GIVEN the rendered scripts WHEN shellcheck reads them THEN apply.sh, bootstrap.sh, load-kv.sh and tls-reloader.sh pass', (ctx) => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) ctx.skip();
    for (const name of ['apply.sh', 'bootstrap.sh', 'load-kv.sh', 'tls-reloader.sh']) {
      const result = spawnSync('shellcheck', ['--shell=sh', '-'], { input: data()[name], encoding: 'utf8' });
      expect(result.stdout + result.stderr, name).toBe('');
      expect(result.status, name).toBe(0);
    }
  });

  describe('apply.sh, run against a stand-in Vault CLI', () => {
    /** Vault right after bootstrap.sh: the Kubernetes method, the admin policy and role. */
    const bootstrapped = (extra: Partial<FakeVaultState> = {}): FakeVaultState => ({
      audit: ['stdout/'],
      mounts: { 'secret/': { type: 'kv', version: '2' } },
      auth: ['kubernetes/'],
      policies: { [ADMIN_POLICY]: adminPolicy() },
      roles: { [ADMIN_ROLE]: {} },
      revoked: 0,
      ...extra,
    });

    async function apply(state: FakeVaultState, files: Record<string, string> = data()) {
      const dir = mkdtempSync(join(tmpdir(), 'vault-config-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      const vault = await fakeVault(state);
      // The script's only machine-specific part is the folder the ConfigMap is mounted at.
      const script = files['apply.sh'].replaceAll(CONFIG_DIR, dir);
      // Not spawnSync: the stand-in answers from this worker (test/support/vault.ts).
      const run = () => runScript('sh', ['-c', script], { env: { PATH: vault.path, HOME: dir } });
      return { vault, run };
    }

    it('GIVEN a freshly bootstrapped Vault WHEN apply.sh runs twice THEN the first run configures it from Git and the second changes nothing', async () => {
      const { vault, run } = await apply(bootstrapped({ audit: [], mounts: {} }));
      const first = await run();
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toContain('Vault configuration applied');
      const state = vault.state();
      expect(state.audit).toEqual(['stdout/']);
      expect(state.mounts).toEqual({ 'secret/': { type: 'kv', version: '2' } });
      expect(state.authConfig).toEqual({ kubernetes_host: 'https://kubernetes.default.svc:443' });
      expect(Object.keys(state.policies).sort()).toEqual(['platform-alertmanager', 'platform-grafana', 'platform-harbor-setup', ...APP_AND_BUILD_CONSUMERS.map((name) => `platform-${name}`), 'platform-postgresql', 'platform-postgresql-dump', RAFT_SNAPSHOT_POLICY, 'platform-redis', 'platform-renovate', SSO_ADMIN_POLICY, SSO_VIEWER_POLICY, ADMIN_POLICY, 'platform-vault-snapshot'].sort());
      expect(state.policies['platform-postgresql']).toBe(data()['policy-platform-postgresql.hcl']);
      expect(state.roles).toEqual(
        Object.fromEntries(['alertmanager', 'grafana', 'harbor-setup', ...APP_AND_BUILD_CONSUMERS, 'postgresql', 'postgresql-dump', 'raft-snapshot', 'redis', 'renovate', 'vault-snapshot', ADMIN_ROLE].map((name) => [name, JSON.parse(data()[`role-${name}.json`])])),
      );
      expect(state.revoked).toBe(1);
      expect(vault.calls()[0]).toBe('write -field=token auth/kubernetes/login role=vault-config jwt=@/var/run/secrets/vault/token');

      const before = vault.calls().length;
      const second = await run();
      expect(second.status, second.stderr).toBe(0);
      const again = vault.calls().slice(before);
      expect(again.filter((c) => /^(audit|secrets) enable|delete/.test(c))).toEqual([]);
      expect({ ...vault.state(), revoked: 0 }).toEqual({ ...state, revoked: 0 });
    });

    it('GIVEN roles and policies Git no longer declares WHEN apply.sh runs THEN it removes them and leaves hand-made human policies alone', async () => {
      const { vault, run } = await apply(
        bootstrapped({ policies: { [ADMIN_POLICY]: '', 'platform-old-app': '', 'ops-humans': '' }, roles: { [ADMIN_ROLE]: {}, 'old-app': {} } }),
      );
      const result = await run();
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('role old-app removed');
      expect(result.stdout).toContain('policy platform-old-app removed');
      expect(Object.keys(vault.state().roles).sort()).toEqual(['alertmanager', 'grafana', 'harbor-setup', ...APP_AND_BUILD_CONSUMERS, 'postgresql', 'postgresql-dump', 'raft-snapshot', 'redis', 'renovate', 'vault-snapshot', ADMIN_ROLE].sort());
      expect(Object.keys(vault.state().policies).sort()).toEqual(['ops-humans', 'platform-alertmanager', 'platform-grafana', 'platform-harbor-setup', ...APP_AND_BUILD_CONSUMERS.map((name) => `platform-${name}`), 'platform-postgresql', 'platform-postgresql-dump', RAFT_SNAPSHOT_POLICY, 'platform-redis', 'platform-renovate', SSO_ADMIN_POLICY, SSO_VIEWER_POLICY, ADMIN_POLICY, 'platform-vault-snapshot'].sort());
    });

    it('fails, changing nothing, on a secret/ engine that is not KV version 2', async () => {
      const { vault, run } = await apply(bootstrapped({ mounts: { 'secret/': { type: 'kv', version: '1' } } }));
      const result = await run();
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('secret/ is mounted but is not KV version 2');
      expect(Object.keys(vault.state().roles)).toEqual([ADMIN_ROLE]);
    });

    it('GIVEN GitLab has not issued Vault\'s application yet WHEN apply.sh runs THEN it applies everything else and skips sign-in, naming the entry to load', async () => {
      const { vault, run } = await apply(bootstrapped());
      const result = await run();
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('oidc skipped: secret/sso/vault is not loaded yet (load-kv.sh sso, once GitLab runs)');
      expect(vault.state().auth).toEqual(['kubernetes/']);
      expect(vault.state().revoked).toBe(1);
    });

    it('GIVEN Vault\'s application in secret/sso/vault WHEN apply.sh runs twice THEN people sign in through GitLab, each GitLab group maps to its policy, and the second run changes nothing', async () => {
      const kv = { 'secret/sso/vault': { client_id: 'gitlab-app-id', client_secret: 'gitlab-app-secret' } };
      const { vault, run } = await apply(bootstrapped({ kv }));
      const first = await run();
      expect(first.status, first.stderr).toBe(0);
      const state = vault.state();
      expect(state.auth).toEqual(['kubernetes/', 'oidc/']);
      expect(state.oidc!.config).toEqual({
        oidc_discovery_url: 'https://git.lumetium.com',
        oidc_client_id: 'gitlab-app-id',
        oidc_client_secret: 'gitlab-app-secret',
        default_role: 'gitlab',
      });
      // The secret never appears on a command line.
      expect(vault.calls().some((call) => call.includes('gitlab-app-secret'))).toBe(false);
      expect(state.oidc!.roles).toEqual({ gitlab: JSON.parse(data()[OIDC_ROLE_FILE]) });
      expect(state.groups).toEqual({
        'sso-admins': { id: 'group-sso-admins', type: 'external', policies: SSO_ADMIN_POLICY, alias: { canonical_id: 'group-sso-admins', id: 'alias-platform-admins', mount_accessor: 'auth_oidc_fake', name: 'platform-admins' } },
        'sso-viewers': { id: 'group-sso-viewers', type: 'external', policies: SSO_VIEWER_POLICY, alias: { canonical_id: 'group-sso-viewers', id: 'alias-platform-viewers', mount_accessor: 'auth_oidc_fake', name: 'platform-viewers' } },
      });
      const second = await run();
      expect(second.status, second.stderr).toBe(0);
      expect({ ...vault.state(), revoked: 0 }).toEqual({ ...state, revoked: 0 });
    });

    it('GIVEN the model names another admin group WHEN apply.sh runs THEN the external group\'s alias follows it', async () => {
      const kv = { 'secret/sso/vault': { client_id: 'id', client_secret: 'secret' } };
      const { vault, run } = await apply(bootstrapped({ kv }));
      expect((await run()).status).toBe(0);
      const renamed = configFiles({ ...AUTH, oidc: { ...AUTH.oidc, groups: { ...AUTH.oidc.groups, admin: 'ops/admins' } } }, consumers);
      const again = await apply(vault.state(), renamed);
      const result = await again.run();
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('group sso-admins: GitLab group ops/admins (was platform-admins)');
      expect(again.vault.state().groups!['sso-admins'].alias!.name).toBe('ops/admins');
    });

    it('fails before bootstrap, when it cannot log in', async () => {
      const { vault, run } = await apply(bootstrapped({ auth: [], roles: {} }));
      const result = await run();
      expect(result.status).not.toBe(0);
      expect(vault.calls()).toEqual(['write -field=token auth/kubernetes/login role=vault-config jwt=@/var/run/secrets/vault/token']);
    });
  });
});

interface PodMeta {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  volumes: any[];
  serviceAccountName?: string;
}

/** Depth-first search through chart values for the first node that satisfies `test`. */
function find(node: unknown, test: (value: any, key?: string) => boolean, key?: string): any {
  if (test(node, key)) return node;
  if (node && typeof node === 'object') {
    for (const [k, value] of Object.entries(node)) {
      const hit = find(value, test, k);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

/**
 * The pod templates that carry the consumer's agent: rendered pods in its namespace, and the pod
 * values (wherever the chart keeps them) of an Application that installs into that namespace.
 */
let renderedObjects: Map<string, KubeObject> | undefined;
function injectedPodsOf(consumer: SecretConsumer): PodMeta[] {
  const found: PodMeta[] = [];
  const isAnnotations = (v: any) => v && typeof v === 'object' && v['vault.hashicorp.com/role'] === consumer.name;
  // Rendered objects, and the pods Jenkins creates from the pod templates of its JCasC ConfigMap.
  // The whole render's objects, as the render holds them before writing (no YAML round trip).
  renderedObjects ??= defaultKubernetesObjects();
  const rendered = [...renderedObjects].flatMap(([path, object]) => [object, ...podTemplatePods(path, object).map((pod) => pod.object)]);
  for (const object of rendered as any[]) {
    if (object.kind === 'Application' && object.spec.destination.namespace === consumer.namespace) {
      for (const source of object.spec.sources ?? [object.spec.source]) {
        const values = source.helm?.valuesObject;
        const annotations = find(values, isAnnotations);
        if (!annotations) continue;
        const account = find(values, (v, k) => k === 'serviceAccount' && find(v, (n, nk) => nk === 'name' && n === consumer.serviceAccount) !== undefined);
        found.push({
          labels: find(values, (v) => v && typeof v === 'object' && VAULT_AGENT_LABEL in v) ?? {},
          annotations,
          volumes: find(values, (v) => Array.isArray(v) && v.some((e: any) => e?.name === VAULT_TOKEN_VOLUME)) ?? [],
          serviceAccountName: account ? consumer.serviceAccount : undefined,
        });
      }
    }
    const template = object.kind === 'Pod' ? object : (object.spec?.template ?? object.spec?.jobTemplate?.spec?.template);
    if (object.metadata.namespace === consumer.namespace && isAnnotations(template?.metadata?.annotations)) {
      found.push({ labels: template.metadata.labels ?? {}, annotations: template.metadata.annotations, volumes: template.spec.volumes ?? [], serviceAccountName: template.spec.serviceAccountName });
    }
  }
  return found;
}
