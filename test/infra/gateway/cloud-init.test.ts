import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile, validatePlatform } from '../../../config';
import { GATEWAY_DOWNLOADS, GATEWAY_PACKAGES } from '../../../config/versions';
import type { Platform } from '../../../config';
import {
  cloudInitScripts,
  compressedUserDataBytes,
  EC2_USER_DATA_LIMIT,
  HAPROXY_APT_PREFERENCES,
  haproxyAptPreferences,
  haproxyBranch,
  renderCloudInit,
  STATE_MOUNT,
  USER_DATA_BUDGET,
  USER_DATA_SAFETY_MARGIN,
} from '../../../infra/gateway/cloud-init';
import { FIRST_ADMIN_KEY_PARAMETER } from '../../../infra/gateway/model';
import { publicHosts } from '../../../infra/lib/hosts';
import { renderGateway } from '../../../infra/gateway/files';
import { fakeGateway, type FakeGateway, type FakeGatewayState } from '../../support/gateway';
import { ROOT } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';

const work = mkdtempSync(join(tmpdir(), 'platform-cloud-init-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Checkov CKV_AWS_46 / Trivy AVD-AWS-0029: a standalone 40-character key-like token in user data. */
const SECRET_LIKE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/;

function schemaCheck(name: string, text: string) {
  const file = join(work, name);
  writeFileSync(file, text);
  return spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
}

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
}

describe('the gateway cloud-init user data', () => {
  const platform = loadDefaultPlatform();
  const text = renderCloudInit(platform);
  const userData = parse(text) as { packages: unknown[]; write_files: WriteFile[]; runcmd: string[][]; ntp: unknown };
  const written = new Map(userData.write_files.map((file) => [file.path, file]));

  it('is a #cloud-config accepted by cloud-init schema', (ctx) => {
    if (!requireValidator('cloud-init', hasCommand('cloud-init'), 'apt-get install cloud-init')) ctx.skip();
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const result = schemaCheck('default.yaml', text);
    expect(result.stdout + result.stderr).toContain('Valid cloud-config');
    expect(result.status).toBe(0);
    const other = renderCloudInit(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml')));
    expect(schemaCheck('single-node.yaml', other).status).toBe(0);
  });

  it('would be rejected if invalid (the check is not a no-op)', (ctx) => {
    if (!requireValidator('cloud-init', hasCommand('cloud-init'), 'apt-get install cloud-init')) ctx.skip();
    const result = schemaCheck('broken.yaml', text.replace('package_update: true', 'package_update: "sometimes"'));
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('package_update');
  });

  it('writes exactly the rendered gateway files', () => {
    const files = renderGateway(platform);
    expect(written.get('/etc/haproxy/haproxy.cfg')?.content).toBe(files.get('gateway/haproxy.cfg'));
    expect(written.get('/etc/headscale/config.yaml')?.content).toBe(files.get('gateway/headscale/config.yaml'));
    expect(written.get('/etc/headscale/acl.hujson')?.content).toBe(files.get('gateway/headscale/acl.hujson'));
    expect(files.get('gateway/cloud-init.yaml')).toBe(text);
  });

  it('installs HAProxy from Debian without an exact version (the mirror keeps only the newest), held on its branch by an apt pin', () => {
    // GIVEN Debian's security mirror drops a build as soon as the next one ships,
    // THEN the package is named without a version, and apt is pinned to the branch instead.
    expect(userData.packages).toContain('haproxy');
    expect(userData.packages.filter((p: unknown) => Array.isArray(p) && p[0] === 'haproxy')).toEqual([]);
    expect(GATEWAY_PACKAGES.haproxy).toMatch(/^\d+\.\d+\.\d+-\d+\+deb12u\d+$/);
    expect(haproxyBranch()).toBe(GATEWAY_PACKAGES.haproxy.split('.').slice(0, 2).join('.'));
    expect(written.get(HAPROXY_APT_PREFERENCES)?.content).toBe(haproxyAptPreferences());
    // write_files (cloud-init's init stage) runs before the packages module (config stage).
    expect(userData.write_files[0].path).toBe(HAPROXY_APT_PREFERENCES);
  });

  it("apt reads the pin: every build of the branch gets priority 1001, so apt never leaves it (Debian's apt)", (ctx) => {
    if (!requireValidator('apt-cache', hasCommand('apt-cache'), 'a Debian machine')) ctx.skip();
    const dir = mkdtempSync(join(work, 'preferences-'));
    writeFileSync(join(dir, 'haproxy'), haproxyAptPreferences());
    const result = spawnSync('apt-cache', ['-o', `Dir::Etc::PreferencesParts=${dir}`, 'policy', 'haproxy'], { encoding: 'utf8' });
    const versions = [...result.stdout.matchAll(/^\s+(?:\*\*\* )?(\S+) (\d+)$/gm)].map((m) => ({ version: m[1], priority: Number(m[2]) }));
    if (!requireValidator('apt lists with haproxy', versions.length > 0, 'apt-get update')) ctx.skip();
    for (const { version, priority } of versions) expect(priority, version).toBe(version.startsWith(`${haproxyBranch()}.`) ? 1001 : 500);
    expect(versions.some((v) => v.priority === 1001)).toBe(true);
  });

  it("accepts any build of HAProxy's branch at or above versions.ts, refuses older builds and other branches (the setup script's check, run)", (ctx) => {
    if (!requireValidator('dpkg', hasCommand('dpkg'), 'a Debian machine')) ctx.skip();
    const setup = cloudInitScripts(platform).get('/usr/local/sbin/platform-gateway-setup')!;
    const check = setup.slice(setup.indexOf('\n# 3. '), setup.indexOf('\n# 4. '));
    expect(check).toContain('dpkg-query');
    const bin = mkdtempSync(join(work, 'dpkg-query-'));
    const run = (installed: string) => {
      writeFileSync(join(bin, 'dpkg-query'), `#!/bin/sh\nprintf '%s' '${installed}'\n`, { mode: 0o755 });
      // stdin from /dev/null: on a socket (Node's default pipe) Debian's bash takes itself for a
      // remote shell and sources /etc/bash.bashrc, whose unguarded $PS1 fails under -u.
      return spawnSync('bash', ['-euo', 'pipefail', '-c', check], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    };
    const floor = GATEWAY_PACKAGES.haproxy;
    const update = Number(/deb12u(\d+)$/.exec(floor)![1]);
    const next = floor.replace(/deb12u\d+$/, `deb12u${update + 1}`);
    for (const version of [floor, next, `${haproxyBranch()}.99-1+deb12u1`]) expect(run(version).status, version).toBe(0);
    const refused = [`${haproxyBranch()}.0-1`, '9.9.1-1', `${haproxyBranch()}0.1-1`, ...(update > 0 ? [floor.replace(/deb12u\d+$/, `deb12u${update - 1}`)] : [])];
    for (const version of refused) {
      const result = run(version);
      expect(result.status, version).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^platform-gateway-setup: haproxy ${version.replace(/[.+]/g, '\\$&')} is (older than|installed, not the)`));
    }
  });

  it('verifies every download against its pinned SHA-256 before installing it', () => {
    const setup = cloudInitScripts(platform).get('/usr/local/sbin/platform-gateway-setup')!;
    expect(setup).toContain('sha256sum --check --strict');
    for (const download of Object.values(GATEWAY_DOWNLOADS)) {
      expect(download.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(download.url).toContain(download.version);
      expect(setup).toContain(`fetch ${download.url} `);
      expect(setup).toContain(` ${download.sha256}\n`);
    }
    // The fetches come before the first install.
    expect(setup.indexOf('fetch https://')).toBeLessThan(setup.indexOf('apt-get install'));
    expect(GATEWAY_DOWNLOADS.headscale.url).toMatch(/^https:\/\/github\.com\/juanfont\/headscale\/releases\/download\/v[\d.]+\/headscale_[\d.]+_linux_amd64\.deb$/);
  });

  it('runs the setup script once, which starts the services and the retrying mesh join', () => {
    expect(userData.runcmd).toEqual([['/usr/local/sbin/platform-gateway-setup']]);
    const setup = written.get('/usr/local/sbin/platform-gateway-setup')!;
    expect(setup.permissions).toBe('0755');
    expect(setup.content).toContain('systemctl enable --now headscale.service tailscaled.service');
    expect(setup.content).toContain('systemctl restart haproxy.service');
    const unit = written.get('/etc/systemd/system/platform-mesh-join.service')!.content;
    expect(unit.match(/^ExecStart=.*/gm)).toEqual(['ExecStart=/usr/local/sbin/platform-mesh-join']);
    // The script keeps its mark on the state volume: never run it before the volume is mounted.
    expect(unit).toContain(`RequiresMountsFor=${STATE_MOUNT}\n`);
    expect(unit).toContain('Restart=on-failure\nRestartSec=30\n');
    expect(unit).toContain('WantedBy=multi-user.target');
  });

  it('writes every file root-owned (cloud-init\'s default) and only the scripts executable', () => {
    for (const file of userData.write_files) {
      expect(file.owner, file.path).toBeUndefined();
      expect(file.permissions, file.path).toBe(file.path.startsWith('/usr/local/sbin/') ? '0755' : undefined);
    }
  });

  it('passes shellcheck', (ctx) => {
    if (!requireValidator('shellcheck', hasCommand('shellcheck'), 'apt-get install shellcheck')) ctx.skip();
    for (const [path, script] of cloudInitScripts(platform)) {
      const file = join(work, path.split('/').pop()!);
      writeFileSync(file, script);
      const result = spawnSync('shellcheck', ['--severity=style', file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr, path).toBe('');
      expect(written.get(path)?.content).toBe(script);
    }
  });

  it('contains no secret and no key-like token', () => {
    expect(text).not.toMatch(SECRET_LIKE);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}|PRIVATE KEY|authkey=|tskey-|hskey-/);
    // The check itself finds what it must (a git SHA-1 would be flagged).
    expect('rev: 0123456789abcdef0123456789abcdef01234567\n').toMatch(SECRET_LIKE);
  });

  it('is read by cloud-init from gzip-compressed user data, byte for byte (Debian\'s cloud-init)', (ctx) => {
    if (!requireValidator('cloud-init', hasCommand('cloud-init'), 'apt-get install cloud-init')) ctx.skip();
    // cloud-init's own user data processing, in the Python its command runs with: what EC2 hands
    // the instance (the gzip bytes) must come out as this cloud-config, unchanged.
    const python = readFileSync(spawnSync('sh', ['-c', 'command -v cloud-init'], { encoding: 'utf8' }).stdout.trim(), 'utf8').split('\n')[0].replace(/^#!\s*/, '').split(' ')[0];
    const program = [
      'import json, sys, tempfile',
      'from cloudinit.helpers import Paths',
      'from cloudinit.user_data import UserDataProcessor',
      'd = tempfile.mkdtemp()',
      "message = UserDataProcessor(Paths({'cloud_dir': d, 'run_dir': d})).process(sys.stdin.buffer.read())",
      'parts = [p for p in message.walk() if not p.is_multipart()]',
      "print(json.dumps([[p.get_content_type(), p.get_payload(decode=True).decode('utf-8')] for p in parts]))",
    ].join('\n');
    const run = (input: Buffer) => {
      const result = spawnSync(python, ['-c', program], { input, encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as [string, string][];
    };
    expect(run(gzipSync(text))).toEqual([['text/cloud-config', text]]);
    // Not a no-op: bytes that are neither gzip nor a known format are not a cloud-config.
    expect(run(Buffer.from(text.replace('#cloud-config', '#not-config')))[0][0]).not.toBe('text/cloud-config');
  });

  it('fits EC2\'s 16 KiB once compressed, with room for Terraform\'s gzip to differ from the estimate', () => {
    const compressed = compressedUserDataBytes(text);
    expect(compressed).toBe(gzipSync(text, { level: 6 }).length);
    // The raw text alone would use nearly all of EC2's limit; compressed it uses about a third.
    expect(Buffer.byteLength(text)).toBeGreaterThan(15000);
    expect(compressed).toBeLessThan(Buffer.byteLength(text) * 0.4);
    expect(compressed).toBeLessThanOrEqual(USER_DATA_BUDGET);
    expect(compressed * (1 + USER_DATA_SAFETY_MARGIN)).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    expect(USER_DATA_BUDGET).toBe(11702);
  });

  it('keeps time with Amazon Time Sync (no NTP egress needed)', () => {
    expect(userData.ntp).toEqual({ enabled: true, ntp_client: 'chrony', servers: ['169.254.169.123'] });
  });
});

/** The default model with `count` more apps, each public in every environment (three hosts). */
function withApps(count: number, name: (i: number) => string): Platform {
  const base = loadDefaultPlatform();
  const hello = base.apps.hello;
  const apps = { ...base.apps };
  for (let i = 1; i <= count; i++) {
    const app = name(i);
    apps[app] = {
      ...hello,
      repository: `apps/${app}`,
      // Its own Harbor project: apps never share one (decision 0119).
      image: `${app}/${app}`,
      environments: Object.fromEntries(
        Object.entries(hello.environments).map(([env, spec]) => [env, { ...spec, exposure: 'public' as const, host: env === 'prod' ? `${app}.lumetium.com` : `${app}-${env}.lumetium.com` }]),
      ),
    };
  }
  return validatePlatform({ ...base, apps });
}

describe('the user data size check', () => {
  const seed = loadDefaultPlatform();

  it('renders ten more apps in three environments (30 more hosts), which no longer fit uncompressed', () => {
    const platform = withApps(10, (i) => `shop${i}`);
    expect(publicHosts(platform).length - publicHosts(seed).length).toBe(30);
    const text = renderCloudInit(platform);
    for (const { host } of publicHosts(platform)) expect(text).toContain(`req.ssl_sni -i ${host}\n`);
    expect(Buffer.byteLength(text)).toBeGreaterThan(EC2_USER_DATA_LIMIT);
    expect(compressedUserDataBytes(text)).toBeLessThan(USER_DATA_BUDGET * 0.6);
  });

  it('fails when the model is absurdly large, with the compressed size, the limit and what to change', () => {
    const platform = withApps(250, (i) => `service${i}`);
    expect(() => renderCloudInit(platform)).toThrow(
      /^gateway\/cloud-init\.yaml: \d+ bytes gzip-compressed \(\d+ raw\), more than 11702: EC2 accepts at most 16384 bytes of user data and Terraform's gzip may come out up to 40% larger than this estimate; declare fewer public hosts or shorten the rendered files$/,
    );
  });
});

/** The gateway as it is after its own join: its tagged node and the used key it joined with. */
function joined(extra: Partial<FakeGatewayState> = {}): FakeGatewayState {
  return {
    users: [],
    nodes: [{ id: 1, name: 'gateway', tags: ['tag:gateway'] }],
    keys: [{ id: 2, key: 'hskey-auth-000000000000-used', aclTags: ['tag:gateway'], used: true, expiration: Math.floor(Date.now() / 1000) - 60 }],
    nextId: 10,
    loggedIn: true,
    ...extra,
  };
}

describe('the mesh join script, run against stand-ins for headscale, tailscale, IMDS and SSM', () => {
  const platform = loadDefaultPlatform();
  const endpoint = 'https://ssm.eu-central-1.amazonaws.com/';
  const MARK = 'first-admin-key-id';
  const fakes: FakeGateway[] = [];
  afterAll(async () => {
    await Promise.all(fakes.map((fake) => fake.close()));
  });

  /** The script of a platform, with the state volume in the fake's folder. */
  function scriptFor(gateway: FakeGateway, model: Platform = platform): string {
    const script = cloudInitScripts(model).get('/usr/local/sbin/platform-mesh-join')!;
    expect(script.split(STATE_MOUNT)).toHaveLength(2);
    return script.replaceAll(STATE_MOUNT, gateway.dir);
  }

  async function start(state: FakeGatewayState, ctx: { skip: () => void }): Promise<FakeGateway> {
    if (!requireValidator('curl', hasCommand('curl'), 'apt-get install curl')) ctx.skip();
    if (!requireValidator('python3', hasCommand('python3'), 'apt-get install python3')) ctx.skip();
    const fake = await fakeGateway(state, { endpoint, region: 'eu-central-1' });
    fakes.push(fake);
    return fake;
  }

  /** Calls with the per-run values (the IMDS token, the pipe curl reads its config from) named. */
  const normalized = (gateway: FakeGateway, from = 0) =>
    gateway
      .calls()
      .slice(from)
      .map((call) => call.replace(/X-aws-ec2-metadata-token: \S+/, 'X-aws-ec2-metadata-token: <token>').replace(/\/dev\/fd\/\d+/, '/dev/fd/<pipe>'));

  const now = () => Math.floor(Date.now() / 1000);
  const IMDS_CALLS = [
    'curl -sSf -X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 60 http://169.254.169.254/latest/api/token',
    'curl -sSf -H X-aws-ec2-metadata-token: <token> http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'curl -sSf -H X-aws-ec2-metadata-token: <token> http://169.254.169.254/latest/meta-data/iam/security-credentials/platform-gateway',
  ];
  const SSM_CALL =
    'curl -sS --fail-with-body --aws-sigv4 aws:amz:eu-central-1:ssm -K /dev/fd/<pipe> -H X-Amz-Target: AmazonSSM.PutParameter -H Content-Type: application/x-amz-json-1.1 --data-binary @- https://ssm.eu-central-1.amazonaws.com/';

  it('on a fresh mesh: creates the admin user and one single-use key of it, stored as a SecureString with a valid signature', async (ctx) => {
    const gateway = await start(joined(), ctx);
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status, result.stderr).toBe(0);

    const state = gateway.state();
    expect(state.users).toEqual([{ id: 10, name: 'ops' }]);
    const [key, ...others] = state.keys.filter((k) => k.user?.name === 'ops');
    expect(others).toEqual([]);
    // Owned by the user, untagged: the device it registers is ops' own, so group:admins applies.
    expect(key).toMatchObject({ user: { id: 10, name: 'ops' }, aclTags: [], used: false });
    expect(key.expiration).toBeGreaterThan(now() + 24 * 3600 - 120);
    expect(key.expiration).toBeLessThanOrEqual(now() + 24 * 3600);
    expect(FIRST_ADMIN_KEY_PARAMETER).toBe('/platform-gateway/headscale/first-admin-key');
    expect([...gateway.parameters]).toEqual([[FIRST_ADMIN_KEY_PARAMETER, { value: key.key, type: 'SecureString', keyId: 'alias/aws/ssm', version: 1 }]]);
    // The Parameter Store stand-in checked the request like AWS: SigV4 with the role's session credentials.
    expect(gateway.ssmRequests.map((r) => [r.target, r.problems])).toEqual([['AmazonSSM.PutParameter', []]]);
    expect(readFileSync(join(gateway.dir, MARK), 'utf8')).toBe(`${key.id}\n`);

    expect(normalized(gateway)).toEqual([
      'tailscale status --peers=false',
      'headscale users list --output json',
      'headscale users create ops --output json',
      'headscale nodes list --output json',
      ...IMDS_CALLS,
      'headscale users list --output json',
      'headscale preauthkeys create --user 10 --expiration 24h --output json',
      SSM_CALL,
    ]);
    // Neither the key nor the role's secrets were on a command line or in the output (the journal).
    const { secretAccessKey, sessionToken } = gateway.credentials;
    for (const secret of [key.key, secretAccessKey, sessionToken]) {
      expect(gateway.calls().join('\n')).not.toContain(secret);
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    expect(gateway.curlConfigs()).toEqual([`user = "${gateway.credentials.accessKeyId}:${secretAccessKey}"\nheader = "x-amz-security-token: ${sessionToken}"\n`]);
  });

  it('with the key already stored (unused and valid): changes nothing, on every further boot', async (ctx) => {
    const gateway = await start(joined(), ctx);
    expect((await gateway.run(scriptFor(gateway))).status).toBe(0);
    const before = gateway.calls().length;
    const stored = gateway.state();

    for (let boot = 0; boot < 2; boot++) {
      const result = await gateway.run(scriptFor(gateway));
      expect(result.status, result.stderr).toBe(0);
    }
    expect(normalized(gateway, before)).toEqual(
      Array(2).fill(['tailscale status --peers=false', 'headscale users list --output json', 'headscale nodes list --output json', 'headscale preauthkeys list --output json']).flat(),
    );
    expect(gateway.state()).toEqual(stored);
    expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.version).toBe(1);
  });

  it('with an admin device registered: creates the missing admin users, and no key', async (ctx) => {
    const admins = { ...platform, mesh: { ...platform.mesh, admins: ['ops', 'alice'] } };
    const ops = { id: 3, name: 'ops' };
    const gateway = await start(joined({ users: [ops], nodes: [...joined().nodes, { id: 4, name: 'ops-laptop', user: ops }] }), ctx);
    const result = await gateway.run(scriptFor(gateway, admins));
    expect(result.status, result.stderr).toBe(0);
    expect(gateway.state().users).toEqual([ops, { id: 10, name: 'alice' }]);
    expect(normalized(gateway)).toEqual([
      'tailscale status --peers=false',
      'headscale users list --output json',
      'headscale users create alice --output json',
      'headscale nodes list --output json',
    ]);
    expect(gateway.parameters.size).toBe(0);
    expect(existsSync(join(gateway.dir, MARK))).toBe(false);
  });

  it('counts only untagged devices as an admin\'s: a tagged node created by an admin still leaves the first admin without one', async (ctx) => {
    const ops = { id: 3, name: 'ops' };
    const gateway = await start(joined({ users: [ops], nodes: [...joined().nodes, { id: 4, name: 'k3s-master', user: ops, tags: ['tag:k3s'] }] }), ctx);
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status, result.stderr).toBe(0);
    expect(normalized(gateway)).toContain('headscale preauthkeys create --user 3 --expiration 24h --output json');
    expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.value).toBe(gateway.state().keys.find((k) => k.user?.id === 3)?.key);
  });

  it('replaces a stored key that expired unused, or was used by a device since deleted', async (ctx) => {
    const gateway = await start(joined(), ctx);
    expect((await gateway.run(scriptFor(gateway))).status).toBe(0);
    for (const change of ['expired', 'used'] as const) {
      const state = gateway.state();
      const id = Number(readFileSync(join(gateway.dir, MARK), 'utf8'));
      const stored = state.keys.find((k) => k.id === id)!;
      if (change === 'expired') stored.expiration = now() - 1;
      else stored.used = true;
      gateway.setState(state);

      const result = await gateway.run(scriptFor(gateway));
      expect(result.status, result.stderr).toBe(0);
      const fresh = gateway.state().keys.filter((k) => k.user?.name === 'ops' && !k.used && k.expiration > now());
      expect(fresh).toHaveLength(1);
      expect(fresh[0].id).not.toBe(id);
      expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.value).toBe(fresh[0].key);
      expect(readFileSync(join(gateway.dir, MARK), 'utf8')).toBe(`${fresh[0].id}\n`);
    }
    expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.version).toBe(3);
  });

  it('fails when SSM refuses the key, deletes the key it could not store, and tells why without the key', async (ctx) => {
    const gateway = await start(joined(), ctx);
    gateway.denyPutParameter = true;
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('AccessDeniedException');
    expect(result.stdout + result.stderr).toContain('ssm:PutParameter');
    const created = gateway.calls().find((c) => c.startsWith('headscale preauthkeys create --user'));
    expect(created).toBeDefined();
    expect(gateway.state().keys.filter((k) => k.user)).toEqual([]);
    expect(normalized(gateway).at(-1)).toMatch(/^headscale preauthkeys delete --id \d+ --output json$/);
    expect(existsSync(join(gateway.dir, MARK))).toBe(false);

    // The unit retries: once the role may write the parameter, the next run stores a key.
    gateway.denyPutParameter = false;
    expect((await gateway.run(scriptFor(gateway))).status).toBe(0);
    expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.version).toBe(1);
  });

  it('on the first boot joins the gateway itself first, as tag:gateway with a ten-minute key', async (ctx) => {
    const gateway = await start({ users: [], nodes: [], keys: [], nextId: 1, loggedIn: false }, ctx);
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status, result.stderr).toBe(0);
    const calls = normalized(gateway);
    expect(calls.slice(0, 3)).toEqual([
      'tailscale status --peers=false',
      'headscale preauthkeys create --tags tag:gateway --expiration 10m --output json',
      expect.stringMatching(
        /^tailscale up --login-server=https:\/\/headscale\.lumetium\.com --auth-key=hskey-auth-\S+ --hostname=gateway --advertise-tags=tag:gateway --accept-routes --ssh --accept-dns=false$/,
      ),
    ]);
    const state = gateway.state();
    expect(state.loggedIn).toBe(true);
    expect(state.nodes).toEqual([{ id: 2, name: 'gateway', tags: ['tag:gateway'] }]);
    // Then the first admin's key, as on a mesh the gateway had joined before.
    expect(gateway.parameters.get(FIRST_ADMIN_KEY_PARAMETER)?.value).toBe(state.keys.find((k) => k.user?.name === 'ops')?.key);
  });

  it('fails without creating anything while Headscale does not answer (the unit retries)', async (ctx) => {
    const gateway = await start(joined({ headscaleDown: true }), ctx);
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('connecting to headscale');
    expect(normalized(gateway)).toEqual(['tailscale status --peers=false', 'headscale users list --output json']);
    expect(gateway.parameters.size).toBe(0);
  });

  it('passes the user ID, not the name, to preauthkeys create (the pinned CLI refuses a name)', async (ctx) => {
    const gateway = await start(joined({ users: [{ id: 7, name: 'ci' }], nextId: 12 }), ctx);
    expect((await gateway.run('headscale preauthkeys create --user ops --expiration 24h --output json')).stderr).toContain('invalid argument "ops" for "-u, --user" flag');
    const result = await gateway.run(scriptFor(gateway));
    expect(result.status, result.stderr).toBe(0);
    expect(normalized(gateway)).toContain('headscale preauthkeys create --user 12 --expiration 24h --output json');
  });
});

describe('the README runbook for the first admin', () => {
  const platform = loadDefaultPlatform();
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const gateway = readme.slice(readme.indexOf('### The gateway'), readme.indexOf('\n## ', readme.indexOf('### The gateway')));

  it('reads the parameter the gateway writes, joins the default model\'s Headscale and deletes the parameter', () => {
    expect(gateway).toContain(`aws ssm get-parameter --name ${FIRST_ADMIN_KEY_PARAMETER} --with-decryption --query Parameter.Value --output text`);
    expect(gateway).toContain(`tailscale up --login-server=https://${platform.mesh.headscaleHost} --auth-key=`);
    expect(gateway).toContain(`aws ssm delete-parameter --name ${FIRST_ADMIN_KEY_PARAMETER}`);
    expect(gateway).toContain(`--region ${platform.gateway.region}`);
  });

  it('no longer asks for headscale commands before an admin is on the mesh', () => {
    expect(gateway).not.toContain('headscale users create');
  });
});
