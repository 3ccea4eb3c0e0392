/**
 * `npm run doctor`: what is missing on this machine before bring-up, and on the running platform
 * after it, each with the README section that fixes it. Read-only: it looks for executables on
 * PATH, renders into memory (as `npm run check`), reads Vault metadata (`vault kv metadata get`,
 * never a value; an app's Harbor robot within 14 days of its expiry counts as missing) and lists
 * Argo CD Applications (`kubectl get`). Exit 1 when something required
 * is missing; a check that cannot run says why it was skipped (docs/decisions/0077).
 *
 *   npm run doctor [-- --dist DIR]
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { loadDefaultPlatform, type Platform } from '../config';
import { allServices } from '../charts/catalogue';
import { servicePlan } from '../charts/synth';
import { kvPutPath } from '../charts/lib/vault';
import { OIDC_CLIENTS, oidcClientKvPath } from '../charts/lib/sso';
import { HARBOR_SECRETS, ROBOT_EXPIRY_NOTICE_DAYS } from '../charts/registry/harbor';
import { appPushRobots, robotUserName, type AppPushRobot } from '../config/harbor-robots';
import { GITLAB_SECRETS } from '../charts/source/gitlab';
import { diffTrees, readTree } from './dist';
import { renderWithObjects } from './render';

export type Status = 'ok' | 'missing' | 'skipped';

export interface CheckResult {
  readonly status: Status;
  readonly name: string;
  /** What was found, what is missing, or why the check was skipped. */
  readonly detail: string;
  /** The README anchor (`#...`) of the step that fixes a missing item. */
  readonly fix?: string;
}

const RUNBOOK_TOOLS = '#runbook-from-zero';
const RUNBOOK_ARGOCD = '#bootstrap-argo-cd-and-the-root-applications';
const RUNBOOK_VAULT = '#vault-initialise-unseal-configure';
const RUNBOOK_FLOW = '#the-flow';

/**
 * The command-line tools the runbook uses (README "Runbook from zero", step 0, and the commands of
 * its sections); each entry is satisfied by any one of its alternatives.
 */
export const RUNBOOK_TOOL_ALTERNATIVES: readonly (readonly string[])[] = [
  ['git'],
  ['terraform', 'tofu'],
  ['aws'],
  ['kubectl'],
  ['helm'],
  ['yq'],
  ['argocd'],
  ['vault'],
  ['tailscale'],
  ['openssl'],
];

/** GitHub's and GitLab's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return `#${heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')}`;
}

/** The anchor of the README section that first names `text` below a heading, if any. */
function sectionNaming(readme: string, text: string): string | undefined {
  let heading: string | undefined;
  for (const line of readme.split('\n')) {
    const match = /^#{2,4} (.+)$/.exec(line);
    if (match) heading = match[1];
    else if (heading && line.includes(text)) return anchorOf(heading);
  }
  return undefined;
}

function findExecutable(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

interface Environment {
  readonly root: string;
  readonly distDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly platform: Platform;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: 60_000 });
  const firstLine = (text: string | null) => (text ?? '').trim().split('\n')[0] ?? '';
  return { status: result.status, stdout: result.stdout ?? '', why: firstLine(result.stderr) || firstLine(result.stdout) || result.error?.message || `exit ${result.status}` };
}

export function toolChecks(env: NodeJS.ProcessEnv): CheckResult[] {
  const path = env.PATH ?? '';
  return RUNBOOK_TOOL_ALTERNATIVES.map((alternatives) => {
    const name = `tool ${alternatives.join(' or ')}`;
    for (const tool of alternatives) {
      const found = findExecutable(tool, path);
      if (found) return { status: 'ok', name, detail: found };
    }
    return { status: 'missing', name, detail: `not on PATH; install ${alternatives.join(' or ')}`, fix: RUNBOOK_TOOLS };
  });
}

export function renderCheck({ platform, distDir }: Environment): CheckResult {
  let files: Map<string, string>;
  try {
    ({ files } = renderWithObjects(platform));
  } catch (error) {
    // The render needs nothing but Node (it never runs Terraform, infra/lib/terraform-data.ts);
    // a failure here is the model's or the code's, as `npm run synth` would report it.
    const reason = (error as Error).message.split('\n').filter(Boolean).slice(0, 2).join(' ');
    return { status: 'missing', name: 'render current', detail: `the render fails here: ${reason}`, fix: RUNBOOK_TOOLS };
  }
  const drift = diffTrees(files, readTree(distDir));
  if (drift.length === 0) return { status: 'ok', name: 'render current', detail: `${distDir} matches a fresh render (${files.size} files)` };
  const shown = drift.slice(0, 5).join('; ');
  return {
    status: 'missing',
    name: 'render current',
    detail: `${drift.length} file(s) of ${distDir} differ from a fresh render (${shown}${drift.length > 5 ? '; ...' : ''}); run npm run synth, review and commit dist/`,
    fix: RUNBOOK_FLOW,
  };
}

/** The Vault KV entries the render declares: the same sources the README test reads. */
export function declaredVaultPaths(platform: Platform): string[] {
  const consumers = servicePlan(platform, allServices(platform)).secretConsumers ?? [];
  return [
    ...new Set([
      ...consumers.flatMap((consumer) => consumer.secrets.map((secret) => kvPutPath(consumer, secret))),
      ...Object.values(GITLAB_SECRETS).map((secret) => secret.vaultPath),
      ...Object.values(HARBOR_SECRETS).flatMap((secret) => Object.values(secret.keys).map((source) => source.split('#')[0])),
      // GitLab's OAuth applications (load-kv.sh sso), read by the clients or copied to Argo CD's Secret.
      ...OIDC_CLIENTS.map((client) => oidcClientKvPath(client)),
    ]),
  ].sort();
}

interface KvMetadata {
  data?: { current_version?: number; versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }> };
}

const DAY_MS = 86_400_000;

/**
 * An app's push robot lives `lifetimeDays` from the setup Job's sync after its secret was written
 * (decision 0119), so the version's `created_time` plus the lifetime is the earliest it expires:
 * missing once that is within the Job's notice period, with the rotation runbook as the fix.
 */
function robotExpiryCheck(robot: AppPushRobot, path: string, written: string | undefined, now: number, fix: string): CheckResult | undefined {
  const time = Date.parse(written ?? '');
  if (Number.isNaN(time)) return undefined;
  const expires = time + robot.lifetimeDays * DAY_MS;
  const daysLeft = Math.floor((expires - now) / DAY_MS);
  const detail = `${robotUserName(robot)} got this secret on ${new Date(time).toISOString().slice(0, 10)} and expires from ${new Date(expires).toISOString().slice(0, 10)}`;
  if (daysLeft > ROBOT_EXPIRY_NOTICE_DAYS) return { status: 'ok', name: `harbor robot ${robot.name}`, detail: `${detail} (${daysLeft} days left)` };
  const when = daysLeft < 0 ? 'expired' : `${daysLeft} days left`;
  return { status: 'missing', name: `harbor robot ${robot.name}`, detail: `${detail} (${when}): write a new secret to ${path} and sync Harbor`, fix };
}

export function vaultChecks({ env, platform }: Environment, readme: string): CheckResult[] {
  const name = 'vault secrets';
  if (!env.VAULT_ADDR || !env.VAULT_TOKEN) return [{ status: 'skipped', name, detail: 'VAULT_ADDR and VAULT_TOKEN are not both set' }];
  if (!findExecutable('vault', env.PATH ?? '')) return [{ status: 'skipped', name, detail: 'the vault CLI is not on PATH' }];
  const robots = new Map(appPushRobots(platform.apps, platform.harbor.robotLifetimeDays).map((robot) => [robot.vaultPath.replace(/^secret\/data\//, 'secret/'), robot]));
  const now = Date.now();
  return declaredVaultPaths(platform).flatMap((path): CheckResult[] => {
    const fix = sectionNaming(readme, path) ?? RUNBOOK_VAULT;
    // Metadata only: the doctor never reads a secret's value.
    const result = run('vault', ['kv', 'metadata', 'get', '-format=json', path], env);
    if (result.status !== 0) {
      if (/no value found|not found|404/i.test(result.why) || result.status === 2) return [{ status: 'missing', name: `vault ${path}`, detail: 'no such entry', fix }];
      return [{ status: 'skipped', name: `vault ${path}`, detail: `vault kv metadata get failed: ${result.why}` }];
    }
    const metadata = JSON.parse(result.stdout) as KvMetadata;
    const current = metadata.data?.versions?.[String(metadata.data?.current_version)];
    if (!current || current.destroyed || current.deletion_time) return [{ status: 'missing', name: `vault ${path}`, detail: 'its current version is deleted or destroyed', fix }];
    const robot = robots.get(path);
    const expiry = robot ? robotExpiryCheck(robot, path, current.created_time, now, fix) : undefined;
    return [{ status: 'ok', name: `vault ${path}`, detail: `version ${metadata.data!.current_version}` }, ...(expiry ? [expiry] : [])];
  });
}

/** The Applications the committed render defines (every environment's apps and roots). */
function renderedApplications(distDir: string): string[] {
  const names = new Set<string>();
  for (const [path, text] of readTree(distDir)) {
    if (!path.startsWith('k8s/') || !path.endsWith('.yaml') || !/^kind: Application$/m.test(text)) continue;
    const object = parse(text) as { kind?: string; metadata?: { name?: string } };
    if (object?.kind === 'Application' && object.metadata?.name) names.add(object.metadata.name);
  }
  return [...names].sort();
}

interface ApplicationList {
  items: { metadata: { name: string; namespace?: string }; status?: { health?: { status?: string }; sync?: { status?: string } } }[];
}

export function argocdChecks({ env, distDir }: Environment): CheckResult[] {
  const name = 'argo cd applications';
  if (!findExecutable('kubectl', env.PATH ?? '')) return [{ status: 'skipped', name, detail: 'kubectl is not on PATH' }];
  const result = run('kubectl', ['get', 'applications.argoproj.io', '-A', '-o', 'json', '--request-timeout=10s'], env);
  if (result.status !== 0) return [{ status: 'skipped', name, detail: `no cluster reachable (kubectl: ${result.why})` }];
  const list = JSON.parse(result.stdout) as ApplicationList;
  const inCluster = new Map(list.items.map((app) => [app.metadata.name, app]));
  const checks: CheckResult[] = renderedApplications(distDir)
    .filter((app) => !inCluster.has(app))
    .map((app) => ({ status: 'missing', name: `application ${app}`, detail: 'rendered but not in the cluster: apply its root', fix: RUNBOOK_ARGOCD }));
  for (const app of [...inCluster.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const health = app.status?.health?.status ?? 'Unknown';
    const sync = app.status?.sync?.status ?? 'Unknown';
    const ok = health === 'Healthy' && sync === 'Synced';
    checks.push({
      status: ok ? 'ok' : 'missing',
      name: `application ${app.metadata.name}`,
      detail: `${health}, ${sync}${ok ? '' : `: argocd app get ${app.metadata.name} shows why`}`,
      ...(ok ? {} : { fix: RUNBOOK_ARGOCD }),
    });
  }
  return checks;
}

export function doctor(environment: Environment): CheckResult[] {
  const readme = readFileSync(join(environment.root, 'README.md'), 'utf8');
  return [...toolChecks(environment.env), renderCheck(environment), ...vaultChecks(environment, readme), ...argocdChecks(environment)];
}

function format(check: CheckResult): string {
  const fix = check.fix ? `  -> README.md${check.fix}` : '';
  return `${check.status.padEnd(8)}${check.name}: ${check.detail}${fix}`;
}

function main(argv: string[], env: NodeJS.ProcessEnv): number {
  const { values } = parseArgs({ args: argv, options: { dist: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    console.log('usage: npm run doctor [-- --dist DIR]');
    return 0;
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const distDir = resolve(values.dist ?? join(root, 'dist'));
  if (!existsSync(distDir)) throw new Error(`--dist: ${distDir} does not exist; give the folder of a render (default dist/)`);
  const checks = doctor({ root, distDir, env, platform: loadDefaultPlatform() });
  for (const check of checks) console.log(format(check));
  const missing = checks.filter((c) => c.status === 'missing').length;
  const skipped = checks.filter((c) => c.status === 'skipped').length;
  console.log(`\n${checks.length - missing - skipped} ok, ${missing} missing, ${skipped} skipped`);
  return missing ? 1 : 0;
}

/**
 * The whole command with these arguments and this environment (PATH, VAULT_ADDR, VAULT_TOKEN):
 * prints the checks as the CLI does and returns the exit code. Exported so tests can run it
 * in-process (test/cli/doctor.test.ts); the entry below calls it.
 */
export function runDoctor(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  try {
    return main(argv, env);
  } catch (error) {
    console.error(`doctor failed: ${(error as Error).message}`);
    return 1;
  }
}

// Only as the entry (`node cli/launch.mjs cli/doctor.ts`): a test that imports the module must not
// run the command with the test runner's argv.
if (/(^|[\\/])(launch\.mjs|doctor\.ts)$/.test(process.argv[1] ?? '')) process.exitCode = runDoctor(process.argv.slice(2));
