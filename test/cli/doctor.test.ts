/**
 * `npm run doctor` against fake kubectl, vault, terraform... on a PATH of their own: small shell
 * scripts that log their arguments and answer like the real tools. Every anchor the doctor prints
 * must be a heading of the README, and the fakes' logs prove it only read.
 *
 * The first run is a process (its exit code reaches the shell); the others run the command in this
 * process (runDoctor, what the entry calls, with the same environment), saving a render process
 * each (docs/decisions/0096-test-run-speed.md).
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../cli/doctor';
import { captureOutput } from '../support/in-process';
import { defaultRender, kubeObjects, ROOT, runEntry } from '../support/render';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
// GitHub's and GitLab's anchors, computed independently of the doctor (as test/readme.test.ts does).
const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => `#${m[1].toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')}`));
const renderedApps = kubeObjects(defaultRender()).map(({ object }) => object as any).filter((o) => o.kind === 'Application').map((o) => o.metadata.name as string);

const TOOLS = ['git', 'terraform', 'aws', 'kubectl', 'helm', 'yq', 'argocd', 'vault', 'tailscale', 'openssl'];

interface Fakes {
  /** Tools to leave out of PATH. */
  readonly without?: readonly string[];
  /** Applications kubectl reports, name -> [health, sync]; `unreachable` makes kubectl fail. */
  readonly apps?: Readonly<Record<string, readonly [string, string]>> | 'unreachable';
  /** Vault entries that do not exist. */
  readonly missingSecrets?: readonly string[];
  /** Vault entries whose current version is deleted. */
  readonly deletedSecrets?: readonly string[];
  /** Vault entries whose current version was written this many days ago (others: today). */
  readonly writtenDaysAgo?: Readonly<Record<string, number>>;
}

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** A temporary bin folder with one shell script per tool; each appends its argv to calls.log. */
function fakeBin(fakes: Fakes): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-bin-'));
  const log = join(dir, 'calls.log');
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  // cdktf runs `terraform version` during the render (>= 1.4 for the data resources).
  for (const tool of TOOLS.filter((t) => !fakes.without?.includes(t) && t !== 'kubectl' && t !== 'vault')) script(tool, tool === 'terraform' ? 'echo Terraform v1.10.5' : 'exit 0');
  if (!fakes.without?.includes('kubectl')) {
    if (fakes.apps === 'unreachable') {
      script('kubectl', "echo 'The connection to the server localhost:8080 was refused' >&2; exit 1");
    } else {
      const items = Object.entries(fakes.apps ?? {}).map(([name, [health, sync]]) => ({
        metadata: { name, namespace: 'argocd' },
        status: { health: { status: health }, sync: { status: sync } },
      }));
      writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      script('kubectl', `[ "$1" = get ] || exit 9\nexec /bin/cat '${join(dir, 'apps.json')}'`);
    }
  }
  if (!fakes.without?.includes('vault')) {
    const missing = (fakes.missingSecrets ?? []).map((p) => `  ${p}) echo "No value found at ${p.replace('secret/', 'secret/metadata/')}" >&2; exit 2 ;;`).join('\n');
    const deleted = (fakes.deletedSecrets ?? []).map((p) => `  ${p}) echo '{"data":{"current_version":2,"versions":{"1":{"deletion_time":"","destroyed":false},"2":{"deletion_time":"2026-01-01T00:00:00Z","destroyed":false}}}}' ;;`).join('\n');
    const written = Object.entries(fakes.writtenDaysAgo ?? {}).map(([p, days]) => `  ${p}) echo '{"data":{"current_version":3,"versions":{"3":{"created_time":"${daysAgo(days)}","deletion_time":"","destroyed":false}}}}' ;;`).join('\n');
    script('vault', [
      '[ "$1 $2 $3 $4" = "kv metadata get -format=json" ] || exit 9',
      'case "$5" in',
      missing,
      deleted,
      written,
      `  *) echo '{"data":{"current_version":1,"versions":{"1":{"created_time":"${daysAgo(0)}","deletion_time":"","destroyed":false}}}}' ;;`,
      'esac',
    ].join('\n'));
  }
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

const healthyApps = Object.fromEntries(renderedApps.map((name) => [name, ['Healthy', 'Synced'] as const]));

function doctor(bin: string, env: Record<string, string | undefined> = {}, args: string[] = [], how: 'process' | 'in-process' = 'in-process') {
  const environment = { PATH: bin, VAULT_ADDR: undefined, VAULT_TOKEN: undefined, ...env };
  const result = how === 'process' ? runEntry('cli/doctor.ts', args, environment) : captureOutput(() => runDoctor(args, { ...process.env, ...environment }));
  const lines = result.stdout.split('\n');
  const fixes = [...result.stdout.matchAll(/-> README\.md(#[a-z0-9-]+)/g)].map((m) => m[1]);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines, fixes };
}

const vaultEnv = { VAULT_ADDR: 'https://vault.example.test', VAULT_TOKEN: 'test-token' };

describe('npm run doctor', () => {
  it('GIVEN every tool, a current render, every secret and healthy synced Applications WHEN run THEN all is ok and it exits 0', () => {
    const bin = fakeBin({ apps: healthyApps });
    const run = doctor(bin.dir, vaultEnv, [], 'process');
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);
    expect(run.lines.filter((l) => /^(missing|skipped)/.test(l))).toEqual([]);
    expect(run.stdout).toMatch(/^ok +render current: .* matches a fresh render/m);
    expect(run.stdout).toMatch(/^ok +tool terraform or tofu: /m);
    expect(run.stdout).toMatch(/^ok +vault secret\/grafana\/admin: version 1$/m);
    expect(run.stdout).toMatch(/^ok +harbor robot push-hello: robot\$push-hello got this secret on \d{4}-\d\d-\d\d and expires from \d{4}-\d\d-\d\d \(\d+ days left\)$/m);
    for (const app of renderedApps) expect(run.stdout).toMatch(new RegExp(`^ok +application ${app}: Healthy, Synced$`, 'm'));
    // Read-only: kubectl only gets, vault only reads metadata (never a value).
    const calls = bin.calls();
    expect(calls.filter((c) => c.startsWith('kubectl '))).toEqual(['kubectl get applications.argoproj.io -A -o json --request-timeout=10s']);
    const vaultCalls = calls.filter((c) => c.startsWith('vault '));
    expect(vaultCalls.length).toBeGreaterThan(15);
    for (const call of vaultCalls) expect(call).toMatch(/^vault kv metadata get -format=json secret\/[a-z0-9/-]+$/);
  });

  it('fails when tools, secrets or Application health are missing, and names the README step for each', () => {
    const [degraded, absent] = renderedApps;
    const apps = { ...healthyApps, [degraded]: ['Degraded', 'OutOfSync'] as const };
    delete (apps as Record<string, unknown>)[absent];
    const bin = fakeBin({ without: ['terraform', 'helm'], apps, missingSecrets: ['secret/grafana/admin'], deletedSecrets: ['secret/alertmanager/heartbeat'] });
    const run = doctor(bin.dir, vaultEnv);
    expect(run.status, run.stdout).toBe(1);
    const missing = run.lines.filter((l) => l.startsWith('missing'));
    expect(missing).toEqual([
      expect.stringMatching(/^missing +tool terraform or tofu: not on PATH; install terraform or tofu +-> README\.md#runbook-from-zero$/),
      expect.stringMatching(/^missing +tool helm: .* -> README\.md#runbook-from-zero$/),
      expect.stringMatching(/^missing +vault secret\/alertmanager\/heartbeat: its current version is deleted or destroyed +-> README\.md#/),
      expect.stringMatching(/^missing +vault secret\/grafana\/admin: no such entry +-> README\.md#/),
      expect.stringMatching(new RegExp(`^missing +application ${absent}: rendered but not in the cluster.*-> README\\.md#bootstrap-argo-cd-and-the-root-applications$`)),
      expect.stringMatching(new RegExp(`^missing +application ${degraded}: Degraded, OutOfSync.*-> README\\.md#bootstrap-argo-cd-and-the-root-applications$`)),
    ]);
    // The render needs no Terraform (infra/lib/terraform-data.ts): it is checked even without it.
    expect(run.lines.some((l) => /^ok +render current/.test(l)), run.stdout).toBe(true);
    expect(run.fixes.length).toBe(6);
    for (const fix of run.fixes) expect(anchors.has(fix), `${fix} is not a README heading`).toBe(true);
    expect(run.stdout).toMatch(/6 missing/);
  });

  it('fails when an app\'s Harbor robot expires within 14 days or has expired, naming the rotation runbook', () => {
    const robotPath = 'secret/harbor-robots/apps/hello';
    for (const [days, left] of [[80, '9 days left'], [95, 'expired']] as const) {
      const run = doctor(fakeBin({ apps: healthyApps, writtenDaysAgo: { [robotPath]: days } }).dir, vaultEnv);
      expect(run.status, run.stdout).toBe(1);
      expect(run.lines.filter((l) => l.startsWith('missing'))).toEqual([
        expect.stringMatching(new RegExp(`^missing +harbor robot push-hello: robot\\$push-hello got this secret on .* \\(${left}\\): write a new secret to ${robotPath} and sync Harbor +-> README\\.md#gitlab-and-harbor-secrets-from-vault-bootstrap-and-first-login$`)),
      ]);
    }
    const fresh = doctor(fakeBin({ apps: healthyApps, writtenDaysAgo: { [robotPath]: 70 } }).dir, vaultEnv);
    expect(fresh.status, fresh.stdout).toBe(0);
  });

  it('fails when dist/ differs from a fresh render, naming the file and the fix', () => {
    const dist = mkdtempSync(join(tmpdir(), 'doctor-dist-'));
    cpSync(join(ROOT, 'dist'), dist, { recursive: true });
    const file = join(dist, 'k8s/platform/grafana/service-grafana.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}# edited by hand\n`);
    const run = doctor(fakeBin({ apps: healthyApps }).dir, {}, ['--dist', dist]);
    expect(run.status, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/^missing +render current: 1 file\(s\) of .* differ from a fresh render \(.*k8s\/platform\/grafana\/service-grafana\.yaml.*run npm run synth, review and commit dist\/ +-> README\.md#the-flow$/m);
    for (const fix of run.fixes) expect(anchors.has(fix), fix).toBe(true);
  });

  it('GIVEN no Vault credentials and no reachable cluster WHEN run THEN those checks are skipped with why, and it exits 0', () => {
    const bin = fakeBin({ apps: 'unreachable' });
    const run = doctor(bin.dir);
    expect(run.status, run.stdout).toBe(0);
    expect(run.lines.filter((l) => l.startsWith('skipped'))).toEqual([
      expect.stringMatching(/^skipped +vault secrets: VAULT_ADDR and VAULT_TOKEN are not both set$/),
      expect.stringMatching(/^skipped +argo cd applications: no cluster reachable \(kubectl: The connection to the server localhost:8080 was refused\)$/),
    ]);
    expect(bin.calls().filter((c) => c.startsWith('vault '))).toEqual([]);
  });
});
