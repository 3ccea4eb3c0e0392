import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefaultPlatform, loadPlatformFile } from '../../../config';
import { renderHaproxyConfig } from '../../../infra/gateway/haproxy';
import { renderHeadscaleConfig } from '../../../infra/gateway/headscale';
import { scrapeJobs } from '../../../charts/observability/targets';
import { CLOUDFLARE_IPV4_RANGES } from '../../../config/cloudflare';
import { INGRESS_GATEWAY_PORT } from '../../../config/gateway';
import { meshHosts } from '../../../infra/lib/hosts';
import { sectionOf } from '../../support/haproxy';
import { ROOT } from '../../support/render';
import { hasCommand, requireValidator } from '../../support/validators';

const work = mkdtempSync(join(tmpdir(), 'platform-haproxy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `haproxy -c -f` on a config written to its own folder (it references no other file). */
function haproxyCheck(name: string, text: string) {
  const file = join(work, `${name}.cfg`);
  writeFileSync(file, text);
  return spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
}

const haveHaproxy = () => requireValidator('haproxy', hasCommand('haproxy'), 'apt-get install haproxy');

describe('haproxy.cfg', () => {
  const platform = loadDefaultPlatform();
  const config = renderHaproxyConfig(platform);

  it('is accepted by haproxy -c, without a warning', (ctx) => {
    if (!haveHaproxy()) ctx.skip();
    const result = haproxyCheck('default', config);
    expect(result.stdout + result.stderr).not.toMatch(/WARNING|ALERT/);
    expect(result.stdout).toContain('Configuration file is valid');
    expect(result.status).toBe(0);
  });

  it('is accepted for another model too, whose hosts are all mesh-only (no exposure given), and then routes only Headscale', (ctx) => {
    if (!haveHaproxy()) ctx.skip();
    const other = renderHaproxyConfig(loadPlatformFile(join(ROOT, 'test/fixtures/valid/single-node.yaml')));
    const result = haproxyCheck('single-node', other);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(other).not.toContain('cd.example.net');
    expect(sectionOf(other, 'frontend https').filter((l) => l.startsWith('acl public_host '))).toEqual(['acl public_host always_false']);
    expect(sectionOf(other, 'frontend http').filter((l) => l.startsWith('acl public_host '))).toEqual(['acl public_host always_false']);
  });

  it('would be rejected if broken (the check is not a no-op)', (ctx) => {
    if (!haveHaproxy()) ctx.skip();
    const result = haproxyCheck('broken', config.replace('use_backend ingress_https', 'use_backend no_such_backend'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("unable to find required use_backend: 'no_such_backend'");
  });

  it('routes 443 by SNI without terminating TLS: public hosts to the ingress, Headscale to loopback', () => {
    const https = sectionOf(config, 'frontend https');
    expect(https).toContain('bind :443');
    // The seed's public hosts only (decision 0099): GitLab and the prod app; mesh-only ones have no route.
    expect(https.filter((l) => l.startsWith('acl public_host '))).toEqual(['acl public_host req.ssl_sni -i git.lumetium.com', 'acl public_host req.ssl_sni -i hello.lumetium.com']);
    for (const { host } of meshHosts(platform)) expect(config).not.toContain(host);
    expect(https).toContain('acl headscale_host req.ssl_sni -i headscale.lumetium.com');
    expect(https.filter((l) => l.startsWith('use_backend'))).toEqual(['use_backend ingress_https if public_host', 'use_backend headscale if headscale_host']);
    expect(config).not.toMatch(/\bssl crt\b|\bcrt \//);
    expect(sectionOf(config, 'backend ingress_https')).toEqual([
      `server ingress 192.168.10.240:${INGRESS_GATEWAY_PORT} send-proxy-v2 check check-ssl verify none check-sni git.lumetium.com`,
    ]);
    expect(sectionOf(config, 'backend headscale')).toEqual(['server headscale 127.0.0.1:8443 check']);
  });

  it('rejects anything but TLS, undeclared names, and proxied hosts that do not come from Cloudflare', () => {
    const https = sectionOf(config, 'frontend https');
    expect(https.filter((l) => l.startsWith('tcp-request content'))).toEqual([
      'tcp-request content reject unless { req.ssl_hello_type 1 }',
      'tcp-request content reject if public_host !from_cloudflare',
      'tcp-request content reject unless public_host or headscale_host',
    ]);
    expect(config).not.toContain('default_backend');
    expect(https).toContain(`acl from_cloudflare src ${CLOUDFLARE_IPV4_RANGES.join(' ')}`);
  });

  it('redirects 80 to HTTPS except ACME HTTP-01, which goes to the ingress controller', () => {
    const http = sectionOf(config, 'frontend http');
    expect(http).toContain('bind :80');
    expect(http).toContain('acl acme_challenge path_beg /.well-known/acme-challenge/');
    expect(http.filter((l) => l.startsWith('http-request') || l.startsWith('use_backend'))).toEqual([
      'http-request deny deny_status 403 unless from_cloudflare',
      'http-request deny deny_status 404 unless public_host',
      'http-request redirect location https://%[req.hdr(host),field(1,:),lower]%[pathq] code 301 unless acme_challenge',
      'use_backend ingress_http if acme_challenge',
    ]);
    expect(sectionOf(config, 'backend ingress_http')).toEqual(['mode http', 'server ingress 192.168.10.240:80 check']);
  });

  it('serves Prometheus metrics and stats on the gateway\'s mesh address only', () => {
    const metrics = sectionOf(config, 'frontend metrics');
    expect(metrics).toContain('bind 100.64.0.1:8405 transparent');
    expect(metrics).toContain('http-request use-service prometheus-exporter if { path /metrics }');
    expect(config.match(/^\s+bind .*/gm)).toEqual(['    bind :443', '    bind :80', '    bind 100.64.0.1:8405 transparent']);
  });

  it("forwards the path Prometheus scrapes for Headscale to Headscale's loopback metrics listener, as /metrics", () => {
    const metrics = sectionOf(config, 'frontend metrics');
    expect(metrics).toContain('use_backend headscale_metrics if { path /headscale/metrics }');
    expect(sectionOf(config, 'backend headscale_metrics')).toEqual(['mode http', 'http-request set-path /metrics', 'server headscale 127.0.0.1:9090 check']);
    // The same path and port as Prometheus' headscale job, and Headscale listens where the backend points.
    const job = scrapeJobs(platform, { connections: [] }).find((j) => j.job_name === 'headscale') as unknown as { metrics_path: string; static_configs: { targets: string[] }[] };
    expect(job.metrics_path).toBe('/headscale/metrics');
    expect(job.static_configs[0].targets).toEqual([`${platform.gateway.meshAddress}:8405`]);
    expect(renderHeadscaleConfig(platform)).toContain('metrics_listen_addr: 127.0.0.1:9090');
  });

  it('sets timeouts, limits, health checks and offline-safe address resolution', () => {
    const defaults = sectionOf(config, 'defaults');
    for (const line of ['timeout connect 5s', 'timeout client 60s', 'timeout server 60s', 'timeout tunnel 1h', 'timeout http-request 10s']) {
      expect(defaults).toContain(line);
    }
    expect(defaults).toContain('default-server init-addr libc,none inter 5s fall 3 rise 2');
    expect(sectionOf(config, 'global')).toContain('maxconn 20000');
    for (const frontend of ['https', 'http', 'metrics']) expect(sectionOf(config, `frontend ${frontend}`).some((l) => l.startsWith('maxconn '))).toBe(true);
    for (const server of config.match(/^\s+server .*/gm) ?? []) expect(server).toMatch(/ check\b/);
  });
});
