// Steps of the delivery pipeline that need more than a shell line, in plain Node with built-in
// modules only: the pipeline's tools container runs them straight from its checkout of this
// repository, without `npm ci` (which only the deploy step pays for). The rendered Jenkinsfiles
// (dist/pipelines/<app>/Jenkinsfile) call them; test/cli/pipeline-steps.test.ts covers them.
//
//   node cli/pipeline-steps.mjs harbor-scan --harbor-url URL --repository PROJECT/NAME --digest sha256:HEX
//        --docker-config FILE [--timeout-seconds 900] [--interval-seconds 10]
//     Waits until Harbor's scan of the pushed image (Trivy, scan on push) has finished; exit 0 if
//     it found no critical vulnerability, 1 if it did, if the scan failed, or on timeout. It asks
//     for the digest the push printed, not a tag: the verdict is about the image that is deployed.
//
//   node cli/pipeline-steps.mjs wait-rollout --namespace NS --deployment NAME --container NAME
//        --image IMAGE [--timeout-seconds 900] [--interval-seconds 5]
//        [--api-url URL] [--token-file FILE] [--ca-file FILE]
//     Waits until the Deployment runs IMAGE on all its replicas (Argo CD syncs within three
//     minutes, then the rollout); exit 0 when it does, 1 if the rollout failed or on timeout.
//     Reads the Deployment with the pod's service account (a Role grants `get` on it).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Harbor's vulnerability report types the scan overview is asked for. */
const VULNERABILITY_REPORTS = 'application/vnd.security.vulnerability.report; version=1.1, application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';
const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * What Harbor's scan overview of an artifact says: `waiting` (no report yet, or still running),
 * `failed` (the scan itself failed), `blocked` (critical vulnerabilities) or `passed`.
 */
export function scanVerdict(artifact) {
  const reports = Object.values(artifact?.scan_overview ?? {});
  if (reports.length === 0) return { state: 'waiting', message: 'no scan report yet (scan on push has not started)' };
  const failed = reports.find((report) => report.scan_status === 'Error' || report.scan_status === 'Stopped');
  if (failed) return { state: 'failed', message: `the scan ended with status ${failed.scan_status}; see the artifact in Harbor` };
  const running = reports.find((report) => report.scan_status !== 'Success');
  if (running) return { state: 'waiting', message: `scan status ${running.scan_status ?? 'unknown'}` };
  const count = (severity) => reports.reduce((sum, report) => sum + (report.summary?.summary?.[severity] ?? 0), 0);
  const critical = count('Critical');
  const total = reports.reduce((sum, report) => sum + (report.summary?.total ?? 0), 0);
  if (critical > 0 || reports.some((report) => report.severity === 'Critical')) {
    return { state: 'blocked', critical, message: `${critical} critical vulnerabilit${critical === 1 ? 'y' : 'ies'} (of ${total}); fix them before this image is deployed` };
  }
  return { state: 'passed', critical: 0, message: `no critical vulnerability (${total} in total, ${count('High')} high)` };
}

/**
 * Whether a Deployment runs `image` in `container` on all its replicas, as `kubectl rollout
 * status` decides: `waiting`, `failed` (ProgressDeadlineExceeded) or `done`.
 */
export function rolloutVerdict(deployment, container, image) {
  if (!deployment) return { state: 'waiting', message: 'the Deployment does not exist yet' };
  const current = deployment.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
  if (current !== image) return { state: 'waiting', message: `it runs ${current ?? '(no such container)'}; waiting for Argo CD to sync ${image}` };
  const status = deployment.status ?? {};
  const replicas = deployment.spec?.replicas ?? 1;
  if ((status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return { state: 'waiting', message: 'the new specification is not observed yet' };
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { state: 'failed', message: `the rollout failed: ${progressing.message ?? 'progress deadline exceeded'}` };
  const updated = status.updatedReplicas ?? 0;
  if (updated < replicas) return { state: 'waiting', message: `${updated} of ${replicas} replicas run the new image` };
  if ((status.replicas ?? 0) > updated) return { state: 'waiting', message: `${(status.replicas ?? 0) - updated} old replicas are still terminating` };
  if ((status.availableReplicas ?? 0) < replicas) return { state: 'waiting', message: `${status.availableReplicas ?? 0} of ${replicas} updated replicas are available` };
  return { state: 'done', message: `${replicas} of ${replicas} replicas run ${image}` };
}

/** The Basic authorization of `registry` in a Docker config.json (what Kaniko pushed with). */
export function basicAuthFor(dockerConfig, registry) {
  const entry = JSON.parse(dockerConfig)?.auths?.[registry];
  if (!entry) throw new Error(`the Docker config has no credentials for ${registry}`);
  const auth = entry.auth ?? (entry.username !== undefined ? Buffer.from(`${entry.username}:${entry.password ?? ''}`).toString('base64') : undefined);
  if (!auth) throw new Error(`the Docker config entry of ${registry} has neither auth nor username`);
  return `Basic ${auth}`;
}

/** An image digest as the pipeline deploys it: sha256 and 64 lowercase hex digits. */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Harbor's artifact URL with the scan overview; a repository name with slashes is encoded twice. */
export function artifactUrl(harborUrl, repository, reference) {
  const slash = repository.indexOf('/');
  if (slash < 1) throw new Error(`--repository "${repository}": must be "project/name"`);
  const project = repository.slice(0, slash);
  const name = encodeURIComponent(encodeURIComponent(repository.slice(slash + 1)));
  return `${harborUrl.replace(/\/$/, '')}/api/v2.0/projects/${encodeURIComponent(project)}/repositories/${name}/artifacts/${encodeURIComponent(reference)}?with_scan_overview=true`;
}

/** GET a JSON document: { status, body } (body undefined on 404). */
export function getJson(url, { headers = {}, ca } = {}) {
  const target = new URL(url);
  const client = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = client.request(target, { method: 'GET', headers: { Accept: 'application/json', ...headers }, ...(ca ? { ca } : {}), timeout: 30_000 }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 404) return resolve({ status: 404, body: undefined });
        if (response.statusCode < 200 || response.statusCode >= 300) return resolve({ status: response.statusCode, body: undefined, text });
        try {
          resolve({ status: response.statusCode, body: JSON.parse(text) });
        } catch (error) {
          reject(new Error(`${url}: not JSON (${error.message})`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within 30 s`)));
    request.on('error', reject);
    request.end();
  });
}

/** Polls `check` until it returns a final verdict or the deadline passes. */
async function poll(check, { timeoutSeconds, intervalSeconds, log, now = Date.now, sleep }) {
  const deadline = now() + timeoutSeconds * 1000;
  let last;
  for (;;) {
    last = await check();
    if (last.state !== 'waiting') return last;
    if (now() >= deadline) return { state: 'timeout', message: `${last.message}; gave up after ${timeoutSeconds} s` };
    log(`waiting: ${last.message}`);
    await sleep(intervalSeconds * 1000);
  }
}

const USAGE = `usage: node cli/pipeline-steps.mjs harbor-scan --harbor-url URL --repository PROJECT/NAME --digest sha256:HEX --docker-config FILE [--timeout-seconds N] [--interval-seconds N]
       node cli/pipeline-steps.mjs wait-rollout --namespace NS --deployment NAME --container NAME --image IMAGE [--timeout-seconds N] [--interval-seconds N] [--api-url URL] [--token-file FILE] [--ca-file FILE]`;

function required(values, names) {
  const missing = names.filter((name) => !values[name]);
  if (missing.length) throw new UsageError(`missing ${missing.map((name) => `--${name}`).join(', ')}`);
}

class UsageError extends Error {}

/** Runs one step; returns the exit code. `io` lets tests replace logging, time and sleeping. */
export async function main(argv, io = {}) {
  const log = io.log ?? ((line) => console.log(line));
  const error = io.error ?? ((line) => console.error(line));
  const sleep = io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const [step, ...args] = argv;
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'harbor-url': { type: 'string' },
        repository: { type: 'string' },
        digest: { type: 'string' },
        'docker-config': { type: 'string' },
        namespace: { type: 'string' },
        deployment: { type: 'string' },
        container: { type: 'string' },
        image: { type: 'string' },
        'api-url': { type: 'string' },
        'token-file': { type: 'string' },
        'ca-file': { type: 'string' },
        'timeout-seconds': { type: 'string', default: '900' },
        'interval-seconds': { type: 'string' },
      },
    });
    const timeoutSeconds = Number(values['timeout-seconds']);
    if (!(timeoutSeconds >= 0)) throw new UsageError(`--timeout-seconds "${values['timeout-seconds']}": must be a number of seconds`);

    if (step === 'harbor-scan') {
      required(values, ['harbor-url', 'repository', 'digest', 'docker-config']);
      if (!DIGEST.test(values.digest)) throw new UsageError(`--digest "${values.digest}": must be sha256: and 64 lowercase hex digits, as the push printed it`);
      const image = `${values.repository}@${values.digest}`;
      const registry = new URL(values['harbor-url']).host;
      const authorization = basicAuthFor(readFileSync(values['docker-config'], 'utf8'), registry);
      const url = artifactUrl(values['harbor-url'], values.repository, values.digest);
      const verdict = await poll(
        async () => {
          const { status, body } = await getJson(url, { headers: { Authorization: authorization, 'X-Accept-Vulnerabilities': VULNERABILITY_REPORTS } });
          if (status === 401 || status === 403) return { state: 'failed', message: `Harbor refused the CI robot (HTTP ${status}); it needs read access to the artifact and its scan` };
          if (status === 404) return { state: 'waiting', message: `${image} is not in Harbor yet` };
          if (!body) return { state: 'waiting', message: `Harbor answered HTTP ${status}` };
          if (body.digest !== values.digest) return { state: 'failed', message: `Harbor answered with the artifact ${body.digest ?? '(no digest)'}, not the one asked for` };
          return scanVerdict(body);
        },
        { timeoutSeconds, intervalSeconds: Number(values['interval-seconds'] ?? 10), log, sleep, now: io.now },
      );
      (verdict.state === 'passed' ? log : error)(`${image}: ${verdict.message}`);
      return verdict.state === 'passed' ? 0 : 1;
    }

    if (step === 'wait-rollout') {
      required(values, ['namespace', 'deployment', 'container', 'image']);
      const apiUrl = values['api-url'] ?? `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT}`;
      const tokenFile = values['token-file'] ?? `${SERVICE_ACCOUNT}/token`;
      const caFile = values['ca-file'] ?? (values['api-url'] ? undefined : `${SERVICE_ACCOUNT}/ca.crt`);
      const ca = caFile ? readFileSync(caFile) : undefined;
      const url = `${apiUrl.replace(/\/$/, '')}/apis/apps/v1/namespaces/${encodeURIComponent(values.namespace)}/deployments/${encodeURIComponent(values.deployment)}`;
      const verdict = await poll(
        async () => {
          // Re-read every time: the kubelet rotates the projected token.
          const token = readFileSync(tokenFile, 'utf8').trim();
          const { status, body } = await getJson(url, { headers: { Authorization: `Bearer ${token}` }, ca });
          if (status === 401 || status === 403) return { state: 'failed', message: `the API refused to show the Deployment (HTTP ${status}); the deploy agent needs the rollout-reader Role in ${values.namespace}` };
          if (status !== 200 && status !== 404) return { state: 'waiting', message: `the API answered HTTP ${status}` };
          return rolloutVerdict(body, values.container, values.image);
        },
        { timeoutSeconds, intervalSeconds: Number(values['interval-seconds'] ?? 5), log, sleep, now: io.now },
      );
      (verdict.state === 'done' ? log : error)(`${values.namespace}/${values.deployment}: ${verdict.message}`);
      return verdict.state === 'done' ? 0 : 1;
    }

    throw new UsageError(step ? `unknown step "${step}"` : 'name a step');
  } catch (caught) {
    if (caught instanceof UsageError || caught?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      error(`${caught.message}\n${USAGE}`);
      return 2;
    }
    error(`${step}: ${caught.message}`);
    return 1;
  }
}

// Run when executed, not when imported by the tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
