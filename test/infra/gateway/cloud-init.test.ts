import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { GATEWAY_DOWNLOADS, GATEWAY_PACKAGES } from '../../../config/versions';
import { cloudInitScripts, renderCloudInit } from '../../../infra/gateway/cloud-init';
import { renderGateway } from '../../../infra/gateway/render';
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

  it('installs HAProxy from Debian at the pinned version', () => {
    expect(userData.packages).toContainEqual(['haproxy', GATEWAY_PACKAGES.haproxy]);
    expect(GATEWAY_PACKAGES.haproxy).toMatch(/^\d+\.\d+\.\d+-\d+\+deb12u\d+$/);
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
    expect(unit).toContain('Restart=on-failure');
    const join = written.get('/usr/local/sbin/platform-mesh-join')!.content;
    expect(join).toContain('--login-server=https://headscale.lumetium.com');
    expect(join).toContain('--advertise-tags=tag:gateway');
    expect(join).toContain('headscale preauthkeys create --tags tag:gateway --expiration 10m');
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

  it('contains no secret, no key-like token and no Terraform template sequence', () => {
    expect(text).not.toMatch(SECRET_LIKE);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}|PRIVATE KEY|authkey=|tskey-|hskey-/);
    // Terraform would read these as templates in the instance's user_data.
    expect(text).not.toMatch(/\$\{|%\{/);
    // The check itself finds what it must (a git SHA-1 would be flagged).
    expect('rev: 0123456789abcdef0123456789abcdef01234567\n').toMatch(SECRET_LIKE);
  });

  it('fits EC2\'s 16 KiB user data limit', () => {
    expect(Buffer.byteLength(text)).toBeLessThan(16384);
  });

  it('keeps time with Amazon Time Sync (no NTP egress needed)', () => {
    expect(userData.ntp).toEqual({ enabled: true, ntp_client: 'chrony', servers: ['169.254.169.123'] });
  });

  it('matches the snapshot', () => {
    expect(text).toMatchSnapshot();
  });
});
