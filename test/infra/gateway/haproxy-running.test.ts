/**
 * The rendered haproxy.cfg, run by the real HAProxy inside network namespaces this test creates
 * (test/support/haproxy.ts): what reaches which backend, what is refused, and what the backends
 * receive (the PROXY v2 header, the SNI, the redirect's Location). Needs root, `ip` and
 * `haproxy`: skips visibly locally without them and fails under CI=true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultPlatform } from '../../../config';
import { renderHaproxyConfig } from '../../../infra/gateway/haproxy';
import { publicHosts } from '../../../infra/lib/hosts';
import { GATEWAY_PORTS, HEADSCALE_METRICS_PATH, INGRESS_GATEWAY_PORT } from '../../../config/gateway';
import { CLOUDFLARE_IPV4_RANGES } from '../../../config/cloudflare';
import { intToIpv4, parseCidr } from '../../../config/net';
import { LAB_GATEWAY_PUBLIC, labPrerequisites, startHaproxyLab, type HaproxyLab, type Probe, type StandInRecord } from '../../support/haproxy';
import { requireValidator } from '../../support/validators';

const platform = loadDefaultPlatform();
const hosts = publicHosts(platform).map((h) => h.host);
const headscaleHost = platform.mesh.headscaleHost;
const ingress = platform.cluster.ingressAddress;
const gatewayMesh = platform.gateway.meshAddress;
/** A Cloudflare edge address (inside the first published range) and an address outside every range. */
const CLOUDFLARE_CLIENT = intToIpv4(parseCidr(CLOUDFLARE_IPV4_RANGES[0])!.first + 10);
const STRANGER = '198.51.100.7';

const prerequisites = labPrerequisites();
const runnable = requireValidator('haproxy lab (network namespaces)', prerequisites.ok, `needs ${prerequisites.missing}`);
let lab: HaproxyLab;

beforeAll(async () => {
  if (!runnable) return;
  lab = await startHaproxyLab({
    config: renderHaproxyConfig(platform),
    gatewayMeshAddress: gatewayMesh,
    routerMeshAddress: platform.nodes[platform.mesh.subnetRouter].meshAddress,
    ingressAddress: ingress,
    clientAddresses: [CLOUDFLARE_CLIENT, STRANGER],
    standIns: {
      gateway: [
        { name: 'headscale', host: '127.0.0.1', port: GATEWAY_PORTS.headscale, kind: 'tls' },
        { name: 'headscale-metrics', host: '127.0.0.1', port: GATEWAY_PORTS.headscaleMetrics, kind: 'http' },
      ],
      mesh: [
        { name: 'ingress-gateway', host: ingress, port: INGRESS_GATEWAY_PORT, kind: 'tls', proxy: true },
        { name: 'ingress-http', host: ingress, port: GATEWAY_PORTS.http, kind: 'http' },
        // The controller's plain ports exist too: HAProxy must never use them.
        { name: 'ingress-plain-https', host: ingress, port: GATEWAY_PORTS.https, kind: 'tls' },
      ],
    },
  });
}, 30_000);

afterAll(async () => {
  await lab?.close();
}, 30_000);

/** Connections that came from a client (not HAProxy's own health checks, which send PROXY LOCAL). */
const fromClients = (records: StandInRecord[]) => records.filter((r) => typeof r.proxy === 'object' && r.proxy.command === 'PROXY');
const tls = (id: string, from: string, sni: string): Probe => ({ id, kind: 'tls', host: LAB_GATEWAY_PUBLIC, port: GATEWAY_PORTS.https, from, sni });
const http = (id: string, from: string, path: string, host: string, port = GATEWAY_PORTS.http): Probe => ({
  id,
  kind: 'http',
  host: LAB_GATEWAY_PUBLIC,
  port,
  from,
  data: `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
});
const status = (received: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1]);
const location = (received: string) => /\r\nlocation: *([^\r]*)/i.exec(received)?.[1];

describe('haproxy.cfg, running', () => {
  it('passes each public host from Cloudflare to the ingress controller\'s gateway port, with a PROXY v2 header naming the client', async (ctx) => {
    if (!runnable) ctx.skip();
    const results = lab.probe(lab.public, hosts.map((host) => tls(host, CLOUDFLARE_CLIENT, host)));
    const records = await lab.waitFor('mesh', (r) => fromClients(r).length >= hosts.length);
    for (const result of results) {
      const record = fromClients(records).find((r) => typeof r.proxy === 'object' && r.proxy.srcPort === result.localPort);
      expect(record, `${result.id}: ${result.outcome}`).toBeDefined();
      expect(record).toEqual({
        listener: 'ingress-gateway',
        sni: result.id,
        proxy: { command: 'PROXY', src: CLOUDFLARE_CLIENT, srcPort: result.localPort, dst: LAB_GATEWAY_PUBLIC, dstPort: GATEWAY_PORTS.https },
      });
    }
    // The TLS handshake went through to the backend, which answered with its name.
    expect(results.map((r) => [r.id, r.received])).toEqual(hosts.map((host) => [host, 'ingress-gateway']));
    expect(records.filter((r) => r.listener === 'ingress-plain-https')).toEqual([]);
    expect(records.filter((r) => r.proxy === 'missing')).toEqual([]);
  });

  it('passes the Headscale host to Headscale on loopback, from anywhere, without a PROXY header', async (ctx) => {
    if (!runnable) ctx.skip();
    const results = lab.probe(lab.public, [tls('stranger', STRANGER, headscaleHost), tls('cloudflare', CLOUDFLARE_CLIENT, headscaleHost)]);
    expect(results.map((r) => r.received)).toEqual(['headscale', 'headscale']);
    const records = await lab.waitFor('gateway', (r) => r.filter((x) => x.listener === 'headscale').length >= 2);
    expect(records.filter((r) => r.listener === 'headscale')).toEqual([
      { listener: 'headscale', sni: headscaleHost },
      { listener: 'headscale', sni: headscaleHost },
    ]);
  });

  it('refuses a public host that does not come from Cloudflare, unknown names, no SNI and anything but TLS', async (ctx) => {
    if (!runnable) ctx.skip();
    const before = { mesh: fromClients(lab.records('mesh')).length, gateway: lab.records('gateway').length };
    const results = lab.probe(lab.public, [
      tls('stranger to a public host', STRANGER, hosts[0]),
      tls('unknown name', CLOUDFLARE_CLIENT, `unknown.${platform.domain}`),
      tls('no SNI', CLOUDFLARE_CLIENT, ''),
      { id: 'plain HTTP on 443', kind: 'raw', host: LAB_GATEWAY_PUBLIC, port: GATEWAY_PORTS.https, from: CLOUDFLARE_CLIENT, data: `GET / HTTP/1.1\r\nHost: ${hosts[0]}\r\n\r\n` },
      { id: 'SSH banner on 443', kind: 'raw', host: LAB_GATEWAY_PUBLIC, port: GATEWAY_PORTS.https, from: CLOUDFLARE_CLIENT, data: 'SSH-2.0-OpenSSH_9.2\r\n' },
    ]);
    // HAProxy closes each connection itself; nothing reaches a backend.
    for (const result of results) {
      expect(result.outcome, result.id).toMatch(/^(closed|ECONNRESET)$/);
      expect(result.received, result.id).toBe('');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fromClients(lab.records('mesh')).length).toBe(before.mesh);
    expect(lab.records('gateway').slice(before.gateway)).toEqual([]);
  });

  it('redirects port 80 to HTTPS on the same host without its port, keeping path and query', (ctx) => {
    if (!runnable) ctx.skip();
    const [host] = hosts;
    const results = lab.probe(lab.public, [
      http('explicit :80', CLOUDFLARE_CLIENT, '/group/project?tab=files&x=1', `${host}:80`),
      http('plain host', CLOUDFLARE_CLIENT, '/', host),
      http('upper case', CLOUDFLARE_CLIENT, '/a%20b', host.toUpperCase()),
    ]);
    expect(results.map((r) => [r.id, status(r.received), location(r.received)])).toEqual([
      ['explicit :80', 301, `https://${host}/group/project?tab=files&x=1`],
      ['plain host', 301, `https://${host}/`],
      ['upper case', 301, `https://${host}/a%20b`],
    ]);
  });

  it('sends ACME HTTP-01 challenges of public hosts to the ingress controller, refuses strangers and unknown hosts on 80', async (ctx) => {
    if (!runnable) ctx.skip();
    const token = '/.well-known/acme-challenge/Zm9vYmFy';
    const results = lab.probe(lab.public, [
      http('challenge', CLOUDFLARE_CLIENT, token, hosts[1]),
      http('stranger', STRANGER, '/', hosts[1]),
      http('unknown host', CLOUDFLARE_CLIENT, '/', `unknown.${platform.domain}`),
      http('stats on 80', CLOUDFLARE_CLIENT, '/stats', hosts[1]),
    ]);
    expect(results.map((r) => [r.id, status(r.received)])).toEqual([
      ['challenge', 200],
      ['stranger', 403],
      ['unknown host', 404],
      ['stats on 80', 301],
    ]);
    expect(results[0].received).toContain(`ingress-http ${token}`);
    const records = await lab.waitFor('mesh', (r) => r.some((x) => x.listener === 'ingress-http'));
    expect(records.filter((r) => r.listener === 'ingress-http').map((r) => r.http)).toEqual([{ method: 'GET', path: token, host: hosts[1] }]);
  });

  it('serves metrics and stats on the mesh address only: reachable from the mesh, not from the public side', (ctx) => {
    if (!runnable) ctx.skip();
    const get = (id: string, host: string, path: string): Probe => ({ id, kind: 'http', host, port: GATEWAY_PORTS.metrics, data: `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n` });
    const mesh = lab.probe(lab.mesh, [get('metrics', gatewayMesh, '/metrics'), get('headscale', gatewayMesh, HEADSCALE_METRICS_PATH), get('stats', gatewayMesh, '/stats')]);
    expect(mesh.map((r) => [r.id, status(r.received)])).toEqual([
      ['metrics', 200],
      ['headscale', 200],
      ['stats', 200],
    ]);
    expect(mesh[0].received).toContain('haproxy_process_');
    // Headscale's own listener gets the path it serves its metrics on.
    expect(mesh[1].received).toContain('headscale-metrics /metrics');
    const outside = lab.probe(lab.public, [get('metrics', LAB_GATEWAY_PUBLIC, '/metrics'), get('stats', LAB_GATEWAY_PUBLIC, '/stats')]);
    expect(outside.map((r) => [r.id, r.outcome])).toEqual([
      ['metrics', 'ECONNREFUSED'],
      ['stats', 'ECONNREFUSED'],
    ]);
    // HAProxy's only TCP listeners: 80 and 443 on every address, the metrics port on the mesh
    // address; the admin socket is a unix socket (no network listener).
    const sockets = lab.gateway
      .exec('ss', ['-Hltnp'])
      .stdout.split('\n')
      .filter((line) => line.includes('"haproxy"'))
      .map((line) => line.split(/\s+/)[3])
      .sort();
    expect(sockets).toEqual([`${gatewayMesh}:${GATEWAY_PORTS.metrics}`, `0.0.0.0:${GATEWAY_PORTS.https}`, `0.0.0.0:${GATEWAY_PORTS.http}`].sort());
  });
});
