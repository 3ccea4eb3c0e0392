/**
 * Renovate in the cluster (issue 20): a CronJob that runs the pinned Renovate image against the
 * platform's GitLab and opens merge requests for this repository and for each app's repository.
 *
 *  - What is updated, grouped and when merge requests open is each repository's own
 *    renovate.json: the global (self-hosted) configuration below sets only self-hosted options
 *    (platform, endpoint, the repository list, `requireConfig`, the commands `postUpgradeTasks`
 *    may run) and nothing a repository configures.
 *  - The GitLab token (a bot user's personal access token) comes from Vault through the agent,
 *    read once at start; GitLab issues it, so it is loaded once GitLab runs (README "Dependency
 *    updates").
 *  - Renovate reaches GitLab at its public name through the ingress controller, like Jenkins, and
 *    the internet on 443 for registries, datasources and the downloads of `npm run import`.
 *  - Alerts: a failed run, and no successful run for longer than the schedule allows.
 * docs/decisions/0108-renovate-in-the-cluster.md and 0109-renovate-token-and-github-rate-limits.md.
 *
 * Upstream read at renovatebot/renovate tag 44.39.2 (the newest tag of the stored snapshot; the
 * pinned image is a later 44.x): tools/docker/Dockerfile (USER 12021, ENTRYPOINT
 * renovate-entrypoint.sh, the full image sets RENOVATE_BINARY_SOURCE=global),
 * docs/usage/self-hosted-configuration.md (`allowedCommands`, `requireConfig`, `repositories`,
 * `binarySource`, `baseDir`, `cacheDir`), docs/usage/examples/self-hosting.md (a CronJob with
 * RENOVATE_CONFIG_FILE pointing at a JSON file from a ConfigMap), lib/modules/platform/gitlab/readme.md.
 *
 * @see https://docs.renovatebot.com/self-hosted-configuration/
 * @see https://docs.renovatebot.com/modules/platform/gitlab/
 */
import { Construct } from 'constructs';
import type { Platform } from '../../config';
import { IMAGES } from '../../config/versions';
import { READ_AT_START } from '../lib/vault-access';
import { PlatformNamespace } from '../lib/namespace';
import { INGRESS_CONTROLLER, INTERNET, connect, dnsAccess, type Connection, type NetworkPlan, type Workload } from '../lib/network';
import type { ServiceRegistration } from '../lib/service';
import { rawValueSecret, secretFile, vaultAgentPodFor, type SecretConsumer } from '../lib/vault';
import { WorkloadCronJob, WorkloadVolume } from '../lib/workload';
import { RENOVATE, RENOVATE_DEADLINE_SECONDS, RENOVATE_NAMESPACE, longestGapSeconds } from '../lib/renovate-job';

/**
 * After GitLab (wave 12), which issues the token, like Jenkins; Vault (wave 3) is up long before.
 * A run that starts before the token is loaded waits in its Vault agent and times out: the
 * CronJob itself is Healthy, so the bring-up does not stall here.
 */
export const RENOVATE_SYNC_WAVE = 13;

/** The Job's pods only call out. */
export const RENOVATE_WORKLOAD: Workload = { namespace: RENOVATE_NAMESPACE, name: RENOVATE, receivesNothing: true };

/** The bot's GitLab access token, `secret/renovate/gitlab-token` key `value`: GitLab issues it. */
export const GITLAB_TOKEN_SECRET = { ...rawValueSecret(RENOVATE, 'gitlab-token', 'value'), issuedBy: 'gitlab' };

export const RENOVATE_CONSUMER: SecretConsumer = {
  name: RENOVATE,
  namespace: RENOVATE_NAMESPACE,
  serviceAccount: RENOVATE,
  workload: RENOVATE_WORKLOAD,
  secrets: [GITLAB_TOKEN_SECRET],
};

/**
 * The commands renovate.json's `postUpgradeTasks` run, as anchored regular expressions: Renovate
 * runs a task only when one matches (`allowedCommands`, formerly `allowedPostUpgradeCommands`).
 * test/charts/day-two/renovate.test.ts checks them against renovate.json both ways.
 */
export const ALLOWED_COMMANDS = ['^npm ci --ignore-scripts$', '^npm run import$', '^npm run synth$'] as const;

/** The image's user (`USER 12021`, containerbase's `ubuntu`); its HOME is /home/ubuntu. */
const RENOVATE_UID = 12021;
const HOME = '/home/ubuntu';
/** Clones, Renovate's caches and the npm cache of the tasks: all scratch, emptied after each run. */
const BASE_DIR = '/tmp/renovate';
const CONFIG_DIR = '/etc/renovate';

/** The GitLab project path (`group/name`) of `url` when it lives on `gitlabHost`. */
function gitlabProject(url: string, gitlabHost: string): string | undefined {
  const parsed = new URL(url);
  if (parsed.hostname !== gitlabHost) return undefined;
  return parsed.pathname.replace(/^\/+/, '').replace(/\.git$/, '').replace(/\/+$/, '');
}

/**
 * GitLab's public host, where Renovate calls its API. The model requires it
 * (config/schema.ts, `checkSourceAndRegistry`), so it is never missing here.
 */
export function renovateGitlabHost(platform: Platform): string {
  return platform.services.gitlab.host!;
}

/**
 * The repositories Renovate works on: this platform's (when it is hosted on the platform's GitLab)
 * and each app's. An explicit list, not autodiscovery: a token that can see more projects
 * touches only these (decision 0108).
 */
export function renovateRepositories(platform: Platform): string[] {
  const own = gitlabProject(platform.git.repoURL, renovateGitlabHost(platform));
  return [...new Set([...(own ? [own] : []), ...Object.values(platform.apps).map((app) => app.repository)])].sort();
}

/**
 * Whether the CronJob is suspended: on request (`renovate.suspend`), or while it has nothing to
 * work on. The runbook renders with `git.repoURL` on a temporary repository until GitLab runs
 * (step 1 to 9); a model without apps then has no repository on GitLab yet.
 */
export function renovateSuspended(platform: Platform): boolean {
  return platform.renovate.suspend || renovateRepositories(platform).length === 0;
}

/** The global (self-hosted) configuration: only options a repository cannot set. */
export function renovateGlobalConfig(props: Pick<RenovateProps, 'gitlabHost' | 'repositories'>) {
  return {
    platform: 'gitlab',
    endpoint: `https://${props.gitlabHost}/api/v4/`,
    autodiscover: false,
    repositories: [...props.repositories],
    // A repository without renovate.json gets an onboarding merge request and nothing else.
    requireConfig: 'required',
    allowedCommands: [...ALLOWED_COMMANDS],
    // The full image's preinstalled tools; nothing is downloaded at run time but the tasks' own.
    binarySource: 'global',
    baseDir: BASE_DIR,
    cacheDir: `${BASE_DIR}/cache`,
  };
}

/**
 * The container's command: the token from the agent's file into RENOVATE_TOKEN (Renovate reads
 * secrets from the environment), then the image's own entrypoint chain (containerbase's
 * environment) with `renovate`.
 */
export function renovateCommand(): string[] {
  const file = secretFile(GITLAB_TOKEN_SECRET);
  return [
    '/bin/bash',
    '-c',
    [
      'set -eu',
      `if [ ! -s ${file} ]; then echo "no GitLab token in ${file}: load secret/renovate/gitlab-token (README, Dependency updates)" >&2; exit 1; fi`,
      `RENOVATE_TOKEN="$(cat ${file})"`,
      'export RENOVATE_TOKEN',
      'exec /usr/local/sbin/renovate-entrypoint.sh renovate',
    ].join('\n'),
  ];
}

// ---- schedule and alerts ------------------------------------------------------------------

/**
 * A failed Job is kept until the next run has finished: if that one fails too there is always a
 * failed Job (the alert stays), if it succeeds the old one goes (the alert clears).
 */
function failedJobTtlSeconds(schedule: string): number {
  return longestGapSeconds(schedule) + RENOVATE_DEADLINE_SECONDS;
}

// ---- the service ---------------------------------------------------------------------------

/** What Renovate reads of the model and the render (the catalogue maps them). */
export interface RenovateProps {
  /** GitLab's public host, whose API Renovate calls (`renovateGitlabHost`). */
  readonly gitlabHost: string;
  /** The GitLab projects it works on, `group/name` (`renovateRepositories`). */
  readonly repositories: readonly string[];
  /** When runs start, cron in UTC (`renovate.schedule`). */
  readonly schedule: string;
  /**
   * Start no run (`renovateSuspended`: on request, or with nothing to work on).
   * @default false
   */
  readonly suspend?: boolean;
  /** The ingress controller's address (`cluster.ingressAddress`): GitLab's name resolves to it in the pod. */
  readonly ingressAddress: string;
  /** Vault's TLS server name, which the agent checks (`vaultTlsServerName`). */
  readonly vaultTlsServerName: string;
  /** Every connection of the render, for the namespace's NetworkPolicies. */
  readonly plan: NetworkPlan;
}

/** Renovate's CronJob in its own namespace, its global configuration and its Vault agent. */
export class Renovate extends Construct {
  static readonly registration: ServiceRegistration = {
    name: RENOVATE,
    namespace: RENOVATE_NAMESPACE,
    syncWave: RENOVATE_SYNC_WAVE,
    secretConsumers: () => [RENOVATE_CONSUMER],
    // Its connection to Vault comes with the consumer.
    connections: (): Connection[] => [
      dnsAccess(RENOVATE_WORKLOAD),
      connect({ workload: RENOVATE_WORKLOAD }, INGRESS_CONTROLLER, ['https'], 'GitLab (API, Git over HTTPS) through the ingress controller'),
      {
        from: { workload: RENOVATE_WORKLOAD },
        to: { network: INTERNET },
        ports: [{ port: 443 }],
        purpose: 'registries and release datasources; npm, chart and CRD downloads of the postUpgradeTasks',
      },
    ],
  };

  readonly cronJob: WorkloadCronJob;

  constructor(scope: Construct, id: string, props: RenovateProps) {
    super(scope, id);
    new PlatformNamespace(this, 'namespace', { name: RENOVATE_NAMESPACE, workloads: [RENOVATE_WORKLOAD], plan: props.plan });
    const agent = vaultAgentPodFor(RENOVATE_CONSUMER, props.vaultTlsServerName);
    this.cronJob = new WorkloadCronJob(this, 'cronjob', {
      workload: RENOVATE_WORKLOAD,
      component: 'dependency-updates',
      image: IMAGES.renovate,
      // The image's user; its primary group stays the image's own, which owns HOME and the tools
      // of the full image (no runAsGroup, as before the family).
      identity: { uid: RENOVATE_UID },
      imagePrimaryGroup: true,
      // npm ci and the render of the platform repository (postUpgradeTasks) are the peak.
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '3Gi' } },
      // It only calls out; it never calls the Kubernetes API (the Vault agent logs in with the
      // projected token), so no Service and no mounted token.
      service: false,
      command: renovateCommand(),
      env: [
        { name: 'RENOVATE_CONFIG_FILE', value: `${CONFIG_DIR}/config.json` },
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'HOME', value: HOME },
      ],
      volumes: [
        WorkloadVolume.configFiles('config', { 'config.json': `${JSON.stringify(renovateGlobalConfig(props), null, 2)}\n` }, [{ mountPath: CONFIG_DIR }]),
        // Clones with node_modules, the npm cache and the charts `npm run import` downloads.
        WorkloadVolume.emptyDir('work', '/tmp', '8Gi'),
        WorkloadVolume.emptyDir('home', HOME, '2Gi'),
      ],
      vaultAgent: { labels: agent.labels, annotations: { ...agent.annotations, ...READ_AT_START }, volumes: agent.volumes },
      // GitLab at its public name, through the ingress controller in the cluster (as Jenkins).
      hostAliases: [{ ip: props.ingressAddress, hostnames: [props.gitlabHost] }],
      schedule: props.schedule,
      timeZone: 'Etc/UTC',
      suspend: props.suspend ?? false,
      // Two runs on the same repositories would race for the same branches.
      concurrencyPolicy: 'Forbid',
      // A start missed by more than a quarter of an hour is skipped: the next one comes soon.
      startingDeadlineSeconds: 900,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 1,
      // A failed run is retried by the next scheduled one, not at once.
      backoffLimit: 0,
      activeDeadlineSeconds: RENOVATE_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: failedJobTtlSeconds(props.schedule),
    });
  }
}
