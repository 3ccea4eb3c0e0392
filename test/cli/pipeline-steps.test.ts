import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactUrl, basicAuthFor, main, rolloutVerdict, scanVerdict } from '../../cli/pipeline-steps.mjs';
import { ROOT } from '../support/render';

const REPORT = 'application/vnd.security.vulnerability.report; version=1.1';
const overview = (status: string, summary?: Record<string, number>, severity = 'None') => ({
  scan_overview: { [REPORT]: { scan_status: status, severity, ...(summary ? { summary: { total: Object.values(summary).reduce((a, b) => a + b, 0), fixable: 0, summary } } : {}) } },
});

describe("the scan gate (Harbor's scan overview)", () => {
  it('waits while there is no report or the scan runs', () => {
    expect(scanVerdict({}).state).toBe('waiting');
    expect(scanVerdict(overview('Pending')).state).toBe('waiting');
    expect(scanVerdict(overview('Running')).message).toBe('scan status Running');
  });

  it('stops on critical findings and on a failed scan, passes otherwise', () => {
    expect(scanVerdict(overview('Success', { Critical: 2, High: 5 }, 'Critical'))).toEqual({
      state: 'blocked',
      critical: 2,
      message: '2 critical vulnerabilities (of 7); fix them before this image is deployed',
    });
    expect(scanVerdict(overview('Success', undefined, 'Critical')).state).toBe('blocked');
    expect(scanVerdict(overview('Error')).state).toBe('failed');
    expect(scanVerdict(overview('Stopped')).state).toBe('failed');
    expect(scanVerdict(overview('Success', { High: 3, Low: 1 }, 'High'))).toEqual({ state: 'passed', critical: 0, message: 'no critical vulnerability (4 in total, 3 high)' });
  });

  it('asks Harbor for the artifact with its scan overview, encoding nested repository names twice', () => {
    expect(artifactUrl('https://registry.example.com/', 'apps/hello', 'abc')).toBe(
      'https://registry.example.com/api/v2.0/projects/apps/repositories/hello/artifacts/abc?with_scan_overview=true',
    );
    expect(artifactUrl('https://r', 'apps/team/hello', 'v1')).toBe('https://r/api/v2.0/projects/apps/repositories/team%252Fhello/artifacts/v1?with_scan_overview=true');
  });

  it('authenticates with the credentials Kaniko pushed with', () => {
    const auth = Buffer.from('robot$ci-push:secret').toString('base64');
    expect(basicAuthFor(JSON.stringify({ auths: { 'registry.example.com': { auth } } }), 'registry.example.com')).toBe(`Basic ${auth}`);
    expect(basicAuthFor(JSON.stringify({ auths: { r: { username: 'u', password: 'p' } } }), 'r')).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(() => basicAuthFor('{"auths":{}}', 'registry.example.com')).toThrow('the Docker config has no credentials for registry.example.com');
  });
});

describe('the rollout wait (as kubectl rollout status decides)', () => {
  const image = 'registry.example.com/apps/hello:abc';
  const deployment = (patch: { image?: string; generation?: number; status?: Record<string, unknown> } = {}) => ({
    metadata: { generation: patch.generation ?? 2 },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image: patch.image ?? image }] } } },
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, ...patch.status },
  });

  it('waits for Argo CD to sync the image, then for every replica', () => {
    expect(rolloutVerdict(undefined, 'app', image).message).toBe('the Deployment does not exist yet');
    expect(rolloutVerdict(deployment({ image: 'registry.example.com/apps/hello:old' }), 'app', image).message).toBe(
      'it runs registry.example.com/apps/hello:old; waiting for Argo CD to sync registry.example.com/apps/hello:abc',
    );
    expect(rolloutVerdict(deployment({ generation: 3 }), 'app', image).state).toBe('waiting');
    expect(rolloutVerdict(deployment({ status: { updatedReplicas: 1 } }), 'app', image).message).toBe('1 of 2 replicas run the new image');
    expect(rolloutVerdict(deployment({ status: { replicas: 3 } }), 'app', image).message).toBe('1 old replicas are still terminating');
    expect(rolloutVerdict(deployment({ status: { availableReplicas: 1 } }), 'app', image).state).toBe('waiting');
    expect(rolloutVerdict(deployment(), 'other', image).message).toContain('(no such container)');
  });

  it('is done when all replicas run it, and fails when the rollout passed its deadline', () => {
    expect(rolloutVerdict(deployment(), 'app', image)).toEqual({ state: 'done', message: `2 of 2 replicas run ${image}` });
    const stuck = deployment({ status: { updatedReplicas: 1, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "hello-x" has timed out progressing.' }] } });
    expect(rolloutVerdict(stuck, 'app', image)).toEqual({ state: 'failed', message: 'the rollout failed: ReplicaSet "hello-x" has timed out progressing.' });
  });
});

describe('the steps against HTTP servers standing in for Harbor and the Kubernetes API', () => {
  const work = mkdtempSync(join(tmpdir(), 'pipeline-steps-'));
  const dockerConfig = join(work, 'config.json');
  const tokenFile = join(work, 'token');
  let server: Server;
  let base = '';
  let answers: { status: number; body?: unknown }[] = [];
  const requests: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request);
      const next = answers.length > 1 ? answers.shift()! : answers[0];
      response.writeHead(next.status, { 'content-type': 'application/json' });
      response.end(next.body === undefined ? '' : JSON.stringify(next.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(dockerConfig, JSON.stringify({ auths: { [new URL(base).host]: { auth: Buffer.from('robot$ci-push:pw').toString('base64') } } }));
    writeFileSync(tokenFile, 'service-account-token\n');
  });
  afterAll(() => {
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    let clock = 0;
    const code = await main(argv, { log: (l) => out.push(l), error: (l) => err.push(l), sleep: async (ms) => void (clock += ms), now: () => clock });
    return { code, out, err };
  };
  const digest = `sha256:${'ab12'.repeat(16)}`;
  const image = `apps/hello@${digest}`;
  const scan = ['harbor-scan', '--repository', 'apps/hello', '--digest', digest, '--docker-config', dockerConfig, '--timeout-seconds', '60'];
  const artifact = (body: object) => ({ digest, ...body });

  it('harbor-scan waits through 404 and a running scan, then passes a clean image (exit 0)', async () => {
    requests.length = 0;
    answers = [{ status: 404 }, { status: 200, body: artifact(overview('Running')) }, { status: 200, body: artifact(overview('Success', { Medium: 1 }, 'Medium')) }];
    const result = await run([...scan, '--harbor-url', base]);
    expect(result).toEqual({
      code: 0,
      out: [`waiting: ${image} is not in Harbor yet`, 'waiting: scan status Running', `${image}: no critical vulnerability (1 in total, 0 high)`],
      err: [],
    });
    // The artifact by the digest the push printed: the verdict is about the image that is deployed.
    expect(requests[0].url).toBe(`/api/v2.0/projects/apps/repositories/hello/artifacts/${encodeURIComponent(digest)}?with_scan_overview=true`);
    expect(requests[0].headers.authorization).toBe(`Basic ${Buffer.from('robot$ci-push:pw').toString('base64')}`);
    expect(requests[0].headers['x-accept-vulnerabilities']).toContain(REPORT);
  });

  it('harbor-scan stops the pipeline on critical findings, on refused credentials and on timeout (exit 1)', async () => {
    answers = [{ status: 200, body: artifact(overview('Success', { Critical: 1 }, 'Critical')) }];
    expect(await run([...scan, '--harbor-url', base])).toMatchObject({ code: 1, err: [`${image}: 1 critical vulnerability (of 1); fix them before this image is deployed`] });
    answers = [{ status: 403 }];
    expect((await run([...scan, '--harbor-url', base])).err[0]).toContain('Harbor refused the CI robot (HTTP 403)');
    answers = [{ status: 200, body: artifact(overview('Running')) }];
    expect((await run([...scan, '--harbor-url', base])).err).toEqual([`${image}: scan status Running; gave up after 60 s`]);
    // A clean report of another artifact is no verdict on this one.
    answers = [{ status: 200, body: { ...overview('Success', {}, 'None'), digest: `sha256:${'cd34'.repeat(16)}` } }];
    expect((await run([...scan, '--harbor-url', base])).err).toEqual([`${image}: Harbor answered with the artifact sha256:${'cd34'.repeat(16)}, not the one asked for`]);
  });

  it('wait-rollout reads the Deployment with the service account token until it runs the image', async () => {
    requests.length = 0;
    const image = 'registry.example.com/apps/hello:abc';
    const body = (current: string) => ({
      metadata: { generation: 1 },
      spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: current }] } } },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    });
    answers = [{ status: 200, body: body('registry.example.com/apps/hello:old') }, { status: 200, body: body(image) }];
    const argv = ['wait-rollout', '--namespace', 'hello-dev', '--deployment', 'hello', '--container', 'app', '--image', image, '--api-url', base, '--token-file', tokenFile];
    const result = await run(argv);
    expect(result.code).toBe(0);
    expect(result.out.at(-1)).toBe(`hello-dev/hello: 1 of 1 replicas run ${image}`);
    expect(requests[0].url).toBe('/apis/apps/v1/namespaces/hello-dev/deployments/hello');
    expect(requests[0].headers.authorization).toBe('Bearer service-account-token');
    answers = [{ status: 403 }];
    expect((await run(argv)).err[0]).toContain('the deploy agent needs the rollout-reader Role in hello-dev');
  });

  it('runs as a plain Node script (no build, no dependency): exit codes and usage', async () => {
    answers = [{ status: 200, body: artifact(overview('Success', { Critical: 3 }, 'Critical')) }];
    const exec = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, 'cli/pipeline-steps.mjs'), ...args], { cwd: work });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    expect(await exec([...scan, '--harbor-url', base])).toEqual({ code: 1, stderr: `${image}: 3 critical vulnerabilities (of 3); fix them before this image is deployed\n` });
    const usage = await exec(['harbor-scan', '--harbor-url', base]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^missing --repository, --digest, --docker-config\nusage: /);
    // A tag or a short digest is refused: the scan gate names exactly one image.
    for (const bad of ['abc', 'sha256:abc', `sha256:${'AB12'.repeat(16)}`]) {
      const refused = await exec(['harbor-scan', '--harbor-url', base, '--repository', 'apps/hello', '--digest', bad, '--docker-config', dockerConfig]);
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toContain(`--digest "${bad}": must be sha256: and 64 lowercase hex digits`);
    }
    expect((await exec(['deploy'])).stderr).toMatch(/^unknown step "deploy"/);
  });
});
