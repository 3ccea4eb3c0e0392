import { spawn, spawnSync as runSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync as makeTempDir, rmSync as removeDir, writeFileSync as writeFile } from 'node:fs';
import { tmpdir as tempRoot } from 'node:os';
import { join } from 'node:path';

/** The directive lines of one section (`frontend https`, `backend ingress_http`, ...), comments dropped. */
export function sectionOf(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`no section "${header}"`);
  const end = lines.findIndex((line, i) => i > start && line !== '' && !line.startsWith(' ') && !line.startsWith('#'));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

// ---- HAProxy running for real, inside network namespaces the test creates ------------------
//
// Three namespaces, joined by veth pairs, hold every address the lab uses (nothing outside them
// is touched): `public` (the internet: a Cloudflare address and a stranger), `gateway` (HAProxy
// with its public and mesh interfaces, and stand-ins for Headscale on loopback) and `mesh` (the
// subnet router holding the ingress controller's MetalLB address, with a stand-in controller).
// The stand-ins record what reaches them: the PROXY v2 header, the TLS SNI, the HTTP request.

/** One listener of a stand-in: `tls` records the ClientHello's SNI, `http` answers 200 with its name and path. */
export interface StandInListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly kind: 'tls' | 'http';
  /** A PROXY v2 header must come first. */
  readonly proxy?: boolean;
}

/** What a stand-in saw on one connection. */
export interface StandInRecord {
  readonly listener: string;
  /** The PROXY v2 header: `missing` when the listener expects one and none came. */
  readonly proxy?: { command: 'PROXY' | 'LOCAL'; src?: string; srcPort?: number; dst?: string; dstPort?: number } | 'missing';
  readonly sni?: string;
  readonly http?: { method: string; path: string; host: string };
}

/** A client's attempt, as the client program runs it. */
export type Probe =
  | { readonly id: string; readonly kind: 'tls'; readonly host: string; readonly port: number; readonly from: string; readonly sni: string }
  | { readonly id: string; readonly kind: 'raw' | 'http'; readonly host: string; readonly port: number; readonly from?: string; readonly data: string };

export interface ProbeResult {
  readonly id: string;
  /** The client's local port (the PROXY header must carry it). */
  readonly localPort?: number;
  /** `closed` (by the peer), `timeout`, or the socket error code, e.g. `ECONNREFUSED`. */
  readonly outcome: string;
  readonly received: string;
}

/** The stand-in server: a Node program, one process per namespace, JSON lines on stdout. */
const STAND_IN_PROGRAM = String.raw`
const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const listeners = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// TLS listeners complete the handshake (HAProxy's check-ssl needs one) with a throwaway
// certificate, then answer the client's first bytes with their name and close: a loopback TLS
// server (the terminator) behind each of them.
const credentials = { key: fs.readFileSync(process.argv[3]), cert: fs.readFileSync(process.argv[4]) };
function terminator(name) {
  const server = tls.createServer(credentials, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(name));
  });
  server.on('tlsClientError', () => {});
  return server;
}
const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const ip4 = (b, o) => [b[o], b[o + 1], b[o + 2], b[o + 3]].join('.');
function proxyHeader(buf) {
  if (buf.length < 16) return undefined;
  if (!buf.subarray(0, 12).equals(SIG)) return { header: 'missing', rest: buf };
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return undefined;
  const command = (buf[12] & 0x0f) === 1 ? 'PROXY' : 'LOCAL';
  const header = { command };
  if (command === 'PROXY' && buf[13] === 0x11) Object.assign(header, { src: ip4(buf, 16), dst: ip4(buf, 20), srcPort: buf.readUInt16BE(24), dstPort: buf.readUInt16BE(26) });
  return { header, rest: buf.subarray(16 + len) };
}
function sniOf(b) {
  if (b.length < 5 || b[0] !== 0x16) return b.length >= 5 ? null : undefined;
  const recordLength = b.readUInt16BE(3);
  if (b.length < 5 + recordLength) return undefined;
  let o = 5 + 4 + 2 + 32;
  o += 1 + b[o];
  o += 2 + b.readUInt16BE(o);
  o += 1 + b[o];
  const end = o + 2 + b.readUInt16BE(o);
  o += 2;
  while (o + 4 <= end) {
    const type = b.readUInt16BE(o), length = b.readUInt16BE(o + 2);
    if (type === 0) return b.subarray(o + 9, o + 9 + b.readUInt16BE(o + 7)).toString('latin1');
    o += 4 + length;
  }
  return null;
}
let pending = listeners.length;
for (const l of listeners) {
  const behind = terminator(l.name);
  behind.listen(0, '127.0.0.1', () => listen(l, behind.address().port));
}
function listen(l, terminatorPort) {
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    let proxy;
    let done = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      let data = buf;
      if (l.proxy) {
        const parsed = proxyHeader(buf);
        if (!parsed) return;
        proxy = parsed.header;
        data = parsed.rest;
        if (proxy === 'missing') { done = true; emit({ listener: l.name, proxy }); socket.destroy(); return; }
      }
      if (l.kind === 'tls') {
        const sni = sniOf(data);
        if (sni === undefined) return;
        done = true;
        emit({ listener: l.name, ...(proxy ? { proxy } : {}), ...(sni ? { sni } : {}) });
        // The TLS bytes go on to the terminator; it tells the client which listener it reached.
        const up = net.connect(terminatorPort, '127.0.0.1');
        up.on('error', () => socket.destroy());
        socket.on('close', () => up.destroy());
        up.on('close', () => socket.destroy());
        up.write(data);
        socket.on('data', (more) => up.write(more));
        up.on('data', (more) => socket.write(more));
      } else {
        const text = data.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        done = true;
        const [method, path] = text.split('\r\n')[0].split(' ');
        const host = (/\r\nhost: *([^\r]*)/i.exec(text) || [])[1] || '';
        emit({ listener: l.name, ...(proxy ? { proxy } : {}), http: { method, path, host } });
        const body = l.name + ' ' + path;
        socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ' + body.length + '\r\nConnection: close\r\n\r\n' + body);
      }
    });
  });
  server.listen(l.port, l.host, () => { if (--pending === 0) emit({ ready: true }); });
}
`;

/** The client: runs its probes one after the other, each bounded by a timeout, and prints the results. */
const CLIENT_PROGRAM = String.raw`
const net = require('node:net');
const tls = require('node:tls');
const probes = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
function run(p) {
  return new Promise((resolve) => {
    let received = '';
    let localPort;
    let settled = false;
    const finish = (outcome) => { if (settled) return; settled = true; clearTimeout(timer); socket.destroy(); resolve({ id: p.id, localPort, outcome, received }); };
    const socket = p.kind === 'tls'
      ? tls.connect({ host: p.host, port: p.port, localAddress: p.from, servername: p.sni, rejectUnauthorized: false })
      : net.connect({ host: p.host, port: p.port, ...(p.from ? { localAddress: p.from } : {}) });
    const timer = setTimeout(() => finish('timeout'), 4000);
    socket.on('connect', () => { localPort = socket.localPort; if (p.kind !== 'tls') socket.write(p.data); });
    if (p.kind === 'tls') socket.on('secureConnect', () => socket.write('hello'));
    socket.on('data', (d) => { received += d.toString('latin1'); });
    socket.on('error', (e) => finish(e.code || 'error'));
    socket.on('close', () => finish('closed'));
  });
}
(async () => {
  const results = [];
  for (const p of probes) results.push(await run(p));
  process.stdout.write(JSON.stringify(results));
})();
`;

/** One namespace, its processes, and a command runner inside it. */
export interface LabNamespace {
  readonly name: string;
  /** Runs a command inside the namespace, synchronously (bounded by a timeout). */
  exec(command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string };
}

export interface HaproxyLabOptions {
  /** The rendered haproxy.cfg, as the gateway receives it. */
  readonly config: string;
  /** The gateway's mesh address (HAProxy's metrics listener binds it). */
  readonly gatewayMeshAddress: string;
  /** The subnet router's mesh address, the next hop to the ingress address. */
  readonly routerMeshAddress: string;
  /** The ingress controller's MetalLB address, held by the `mesh` namespace. */
  readonly ingressAddress: string;
  /** The addresses public clients connect from (each on the `public` namespace's loopback). */
  readonly clientAddresses: readonly string[];
  /** The stand-ins: `gateway` (beside HAProxy, e.g. Headscale on loopback) and `mesh` (the ingress controller). */
  readonly standIns: { readonly gateway: readonly StandInListener[]; readonly mesh: readonly StandInListener[] };
}

/** The gateway's public address inside the lab (documentation range TEST-NET-3, only inside the lab's namespaces). */
export const LAB_GATEWAY_PUBLIC = '203.0.113.1';
const LAB_PUBLIC_PEER = '203.0.113.2';

export interface HaproxyLab {
  readonly public: LabNamespace;
  readonly gateway: LabNamespace;
  readonly mesh: LabNamespace;
  /** Every record the stand-ins emitted so far, by namespace. */
  records(where: 'gateway' | 'mesh'): StandInRecord[];
  /** Runs probes from a namespace. */
  probe(from: LabNamespace, probes: readonly Probe[]): ProbeResult[];
  /** Waits (bounded) until `test` holds for the records of a namespace; returns them either way. */
  waitFor(where: 'gateway' | 'mesh', test: (records: StandInRecord[]) => boolean, timeoutMs?: number): Promise<StandInRecord[]>;
  /** HAProxy's output (its log goes to stdout). */
  haproxyOutput(): string;
  /** Stops every process the lab started and deletes its namespaces and files. */
  close(): Promise<void>;
}

/**
 * HAProxy needs about two descriptors per connection and raises its own limit as root; where the
 * machine forbids that (a container's hard limit below 2 x the global maxconn), the lab lowers
 * the global maxconn to what fits. The only change besides the admin socket's path: connection
 * limits are checked statically, not here.
 */
function fitGlobalMaxconn(config: string): string {
  const hard = Number(runSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim());
  const match = /^global\n(?:(?: {4}.*)?\n)*? {4}maxconn (\d+)$/m.exec(config);
  if (!match) throw new Error('haproxy lab: no maxconn in the global section');
  if (!Number.isFinite(hard) || hard >= 2 * Number(match[1]) + 200) return config;
  const fitting = Math.floor((hard - 200) / 2);
  return config.replace(match[0], match[0].replace(/maxconn \d+$/, `maxconn ${fitting}`));
}

/** Whether this machine can run the lab: root (network namespaces), `ip` and `haproxy`. */
export function labPrerequisites(): { ok: boolean; missing: string } {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (to create network namespaces)');
  const has = (command: string) => runSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
  if (!has('ip')) missing.push('ip (apt-get install iproute2)');
  if (!has('haproxy')) missing.push('haproxy (apt-get install haproxy)');
  if (!has('openssl')) missing.push('openssl (apt-get install openssl)');
  return { ok: missing.length === 0, missing: missing.join(', ') };
}

function must(result: { status: number | null; stdout: string; stderr: string }, what: string) {
  if (result.status !== 0) throw new Error(`haproxy lab: ${what} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result;
}

const ip = (args: string) => must(runSync('ip', args.split(' '), { encoding: 'utf8', timeout: 10_000 }), `ip ${args}`);

/**
 * Builds the namespaces, starts the stand-ins and HAProxy on the given configuration (its admin
 * socket moved into the lab's folder: `/run/haproxy` belongs to the machine), and waits until
 * HAProxy listens. On any failure everything started so far is torn down before the error.
 */
export async function startHaproxyLab(options: HaproxyLabOptions): Promise<HaproxyLab> {
  // Short, unique names: interface names are limited to 15 characters.
  const tag = `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const names = { public: `hlp-${tag}`, gateway: `hlg-${tag}`, mesh: `hlm-${tag}` };
  const dir = makeTempDir(join(tempRoot(), 'haproxy-lab-'));
  const children: ChildProcess[] = [];
  const output = { haproxy: '', gateway: '', mesh: '' };
  const created: string[] = [];

  const close = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill('SIGKILL'), 2000);
            child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
          }),
      ),
    );
    // Deleting a namespace deletes its end of each veth pair, and with it the other end.
    for (const name of created) runSync('ip', ['netns', 'del', name], { encoding: 'utf8', timeout: 10_000 });
    removeDir(dir, { recursive: true, force: true });
  };

  const namespace = (name: string): LabNamespace => ({
    name,
    exec: (command, args) => {
      const r = runSync('ip', ['netns', 'exec', name, command, ...args], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
  });

  try {
    for (const name of Object.values(names)) {
      ip(`netns add ${name}`);
      created.push(name);
      ip(`-n ${name} link set lo up`);
    }
    // public <-> gateway (the gateway's public interface)
    ip(`link add p${tag} netns ${names.public} type veth peer name g${tag} netns ${names.gateway}`);
    ip(`-n ${names.public} addr add ${LAB_PUBLIC_PEER}/24 dev p${tag}`);
    ip(`-n ${names.public} link set p${tag} up`);
    ip(`-n ${names.public} route add default via ${LAB_GATEWAY_PUBLIC}`);
    for (const address of options.clientAddresses) ip(`-n ${names.public} addr add ${address}/32 dev lo`);
    ip(`-n ${names.gateway} addr add ${LAB_GATEWAY_PUBLIC}/24 dev g${tag}`);
    ip(`-n ${names.gateway} link set g${tag} up`);
    for (const address of options.clientAddresses) ip(`-n ${names.gateway} route add ${address}/32 via ${LAB_PUBLIC_PEER}`);
    // gateway <-> mesh (the gateway's tailscale0 and the subnet router)
    ip(`link add t${tag} netns ${names.gateway} type veth peer name m${tag} netns ${names.mesh}`);
    ip(`-n ${names.gateway} addr add ${options.gatewayMeshAddress}/32 dev t${tag}`);
    ip(`-n ${names.gateway} link set t${tag} up`);
    ip(`-n ${names.gateway} route add ${options.routerMeshAddress}/32 dev t${tag}`);
    ip(`-n ${names.gateway} route add ${options.ingressAddress}/32 via ${options.routerMeshAddress}`);
    ip(`-n ${names.mesh} addr add ${options.routerMeshAddress}/32 dev m${tag}`);
    ip(`-n ${names.mesh} link set m${tag} up`);
    ip(`-n ${names.mesh} route add ${options.gatewayMeshAddress}/32 dev m${tag}`);
    ip(`-n ${names.mesh} addr add ${options.ingressAddress}/32 dev lo`);

    const start = (ns: string, command: string, args: string[], sink: 'haproxy' | 'gateway' | 'mesh') => {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (output[sink] += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output[sink] += d.toString()));
      children.push(child);
      return child;
    };
    const standIn = join(dir, 'stand-in.js');
    writeFile(standIn, STAND_IN_PROGRAM);
    const key = join(dir, 'stand-in.key');
    const cert = join(dir, 'stand-in.crt');
    must(
      runSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=stand-in', '-days', '1'], { encoding: 'utf8', timeout: 10_000 }),
      'openssl (a throwaway certificate for the stand-ins)',
    );
    for (const where of ['gateway', 'mesh'] as const) {
      const file = join(dir, `${where}-listeners.json`);
      writeFile(file, JSON.stringify(options.standIns[where]));
      start(names[where], process.execPath, [standIn, file, key, cert], where);
    }

    // The stand-ins listen before HAProxy starts: its first failed health check would mark a
    // server down for `rise` x `inter` (10 s).
    const deadline = Date.now() + 10_000;
    const waitUntil = async (ready: () => boolean, what: string) => {
      while (!ready()) {
        if (children.some((c) => c.exitCode !== null)) throw new Error(`haproxy lab: a process exited early:\n${output.haproxy}\n${output.gateway}\n${output.mesh}`);
        if (Date.now() > deadline) throw new Error(`haproxy lab: ${what} not ready after 10 s:\n${output.haproxy}\n${output.gateway}\n${output.mesh}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await waitUntil(() => (['gateway', 'mesh'] as const).every((w) => output[w].includes('{"ready":true}')), 'the stand-ins');

    const socketPath = join(dir, 'admin.sock');
    let config = options.config.replace(/^(\s+stats socket )\/run\/haproxy\/admin\.sock /m, `$1${socketPath} `);
    if (config === options.config) throw new Error('haproxy lab: the configuration has no `stats socket /run/haproxy/admin.sock` line to move');
    config = fitGlobalMaxconn(config);
    const configFile = join(dir, 'haproxy.cfg');
    writeFile(configFile, config);
    start(names.gateway, 'haproxy', ['-db', '-f', configFile], 'haproxy');

    // HAProxy is ready when it listens on its three sockets.
    const gatewayNs = namespace(names.gateway);
    const haproxySockets = () => gatewayNs.exec('ss', ['-Hltnp']).stdout.split('\n').filter((line) => line.includes('"haproxy"')).length;
    await waitUntil(() => haproxySockets() >= 3, 'HAProxy');
  } catch (error) {
    await close();
    throw error;
  }

  const clientFile = join(dir, 'client.js');
  writeFile(clientFile, CLIENT_PROGRAM);
  const records = (where: 'gateway' | 'mesh') =>
    output[where]
      .split('\n')
      .filter((line) => line.startsWith('{"listener"'))
      .map((line) => JSON.parse(line) as StandInRecord);
  let probeFiles = 0;
  return {
    public: namespace(names.public),
    gateway: namespace(names.gateway),
    mesh: namespace(names.mesh),
    records,
    probe: (from, probes) => {
      const file = join(dir, `probes-${probeFiles++}.json`);
      writeFile(file, JSON.stringify(probes));
      const result = must(from.exec(process.execPath, [clientFile, file]), 'the client');
      return JSON.parse(result.stdout) as ProbeResult[];
    },
    waitFor: async (where, test, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      while (!test(records(where)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return records(where);
    },
    haproxyOutput: () => output.haproxy,
    close,
  };
}
