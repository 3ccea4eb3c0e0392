/**
 * Stand-ins for what the gateway's mesh join script talks to, so the rendered script runs for real
 * in a test: `headscale` (the CLI of the pinned 0.29, with its state in a JSON file), `tailscale`,
 * and `curl` for the instance metadata service (IMDSv2). The SSM request goes to the real curl,
 * redirected to a local Parameter Store stand-in that checks its AWS signature like AWS does.
 *
 * The headscale stand-in answers like the real CLI: `--output json` prints Go's encoding of the
 * API types (snake_case fields, empty ones omitted, `null` for an empty list), `preauthkeys create
 * --user` takes a numeric user ID (cobra rejects a name), `preauthkeys list` shows only a key's
 * prefix (0.28+ stores a hash), and a key is tagged or owned by a user.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { runInNewContext } from 'node:vm';
import { sigv4Problems } from './sigv4';
import { standInServer, standInShim } from './stand-in-server';

export interface FakeUser {
  id: number;
  name: string;
}

export interface FakeNode {
  id: number;
  name: string;
  /** The owner, for a device a user registered; tagged devices have tags instead. */
  user?: FakeUser;
  tags?: string[];
}

export interface FakeKey {
  id: number;
  /** The full key, as `preauthkeys create` printed it once. */
  key: string;
  user?: FakeUser;
  aclTags?: string[];
  used?: boolean;
  /** Unix seconds. */
  expiration: number;
}

export interface FakeGatewayState {
  users: FakeUser[];
  nodes: FakeNode[];
  keys: FakeKey[];
  nextId: number;
  /** Whether the gateway's own tailscaled is logged in to the mesh. */
  loggedIn: boolean;
  /** Every headscale call fails as when the service is not running. */
  headscaleDown?: boolean;
}

export interface StoredParameter {
  readonly value: string;
  readonly type: string;
  readonly keyId?: string;
  readonly version: number;
}

/** One request the Parameter Store stand-in received, with what it found wrong with it. */
export interface SsmRequest {
  readonly target: string | undefined;
  readonly body: Record<string, unknown>;
  readonly problems: string[];
}

export interface FakeGateway {
  /** PATH with the stand-ins first. */
  readonly path: string;
  /** A folder for the script's own files (the state volume). */
  readonly dir: string;
  /** The temporary credentials the metadata service hands out for the instance role. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** The role name the metadata service reports. */
  readonly role: string;
  state(): FakeGatewayState;
  setState(state: FakeGatewayState): void;
  /** Every call of a stand-in: the program and its argv, joined with spaces. */
  calls(): string[];
  /** The config texts curl read with -K for the SSM requests. */
  curlConfigs(): string[];
  /** What the Parameter Store stand-in holds, by name. */
  readonly parameters: Map<string, StoredParameter>;
  readonly ssmRequests: SsmRequest[];
  /** The next PutParameter calls are refused as AccessDenied (an instance role without the policy). */
  denyPutParameter: boolean;
  /** Runs a script with bash, the stand-ins on PATH; resolves when it exits. */
  run(script: string): Promise<{ status: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

/** The stand-in `headscale`: a Node program over the JSON state file. */
function headscaleProgram(stateFile: string, logFile: string): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const crypto = require('node:crypto');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(logFile)}, ['headscale', ...args].join(' ') + '\\n');
const state = JSON.parse(fs.readFileSync(${JSON.stringify(stateFile)}, 'utf8'));
const save = () => fs.writeFileSync(${JSON.stringify(stateFile)}, JSON.stringify(state));
const fail = (message) => { process.stderr.write('Error: ' + message + '\\n'); process.exit(1); };
if (state.headscaleDown) fail('connecting to headscale: dial unix /var/run/headscale/headscale.sock: connect: no such file or directory');
const flags = {};
const words = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (!arg.startsWith('--')) { words.push(arg); continue; }
  const [name, inline] = arg.slice(2).split('=');
  if (['reusable', 'ephemeral', 'force'].includes(name)) flags[name] = true;
  else flags[name] = inline ?? args[++i];
}
const json = flags.output === 'json';
const out = (value, human) => process.stdout.write((json ? JSON.stringify(value, null, '\\t') : human) + '\\n');
const list = (items) => (items.length ? items : null);
const userJson = (u) => ({ id: u.id, name: u.name, created_at: { seconds: 1700000000 } });
const keyJson = (k, full) => ({
  ...(k.user ? { user: userJson(k.user) } : {}),
  id: k.id,
  key: full ? k.key : k.key.split('-').slice(0, 3).join('-') + '-***',
  ...(k.used ? { used: true } : {}),
  expiration: { seconds: k.expiration },
  created_at: { seconds: 1700000000 },
  ...(k.aclTags && k.aclTags.length ? { acl_tags: k.aclTags } : {}),
});
const duration = (text) => {
  const m = /^(\\d+)(m|h|d)$/.exec(text || '1h');
  if (!m) fail('parsing duration: not a valid duration string: "' + text + '"');
  return Number(m[1]) * { m: 60, h: 3600, d: 86400 }[m[2]];
};
const [noun, verb, name] = words;
if (noun === 'users' && verb === 'list') {
  out(list(state.users.map(userJson)), 'ID | Name | Username | Email | Created');
} else if (noun === 'users' && verb === 'create') {
  if (!name) fail('missing parameters');
  if (state.users.some((u) => u.name === name)) fail('creating user: rpc error: code = Internal desc = failed to create user: UNIQUE constraint failed: users.name');
  const user = { id: state.nextId++, name };
  state.users.push(user); save(); out(userJson(user), 'User created');
} else if (noun === 'nodes' && verb === 'list') {
  out(list(state.nodes.map((n) => ({ id: n.id, name: n.name, ...(n.user ? { user: userJson(n.user) } : {}), given_name: n.name, ...(n.tags && n.tags.length ? { tags: n.tags } : {}) }))), 'ID | Hostname | Name | ...');
} else if (noun === 'preauthkeys' && verb === 'list') {
  out(list(state.keys.map((k) => keyJson(k, false))), 'ID | Key/Prefix | Reusable | ...');
} else if (noun === 'preauthkeys' && verb === 'create') {
  let user;
  if (flags.user !== undefined) {
    if (!/^\\d+$/.test(flags.user)) { process.stderr.write('Error: invalid argument "' + flags.user + '" for "-u, --user" flag: strconv.ParseUint: parsing "' + flags.user + '": invalid syntax\\n'); process.exit(1); }
    user = state.users.find((u) => u.id === Number(flags.user));
    if (!user) fail('creating preauthkey: rpc error: code = Unknown desc = user not found');
  }
  const aclTags = flags.tags ? flags.tags.split(',') : [];
  if (!user && !aclTags.length) fail('creating preauthkey: a key needs a user or tags');
  const key = { id: state.nextId++, key: 'hskey-auth-' + crypto.randomBytes(6).toString('hex') + '-' + crypto.randomBytes(24).toString('base64url'), user, aclTags, used: false, expiration: Math.floor(Date.now() / 1000) + duration(flags.expiration) };
  state.keys.push(key); save(); out(keyJson(key, true), key.key);
} else if (noun === 'preauthkeys' && verb === 'delete') {
  const id = Number(flags.id);
  if (!state.keys.some((k) => k.id === id)) fail('deleting preauthkey: rpc error: code = NotFound desc = preauthkey not found');
  state.keys = state.keys.filter((k) => k.id !== id); save(); out({}, 'Key deleted');
} else {
  process.stderr.write('fake headscale: unsupported call: ' + args.join(' ') + '\\n'); process.exit(3);
}
`;
}

/** The stand-in `tailscale`: logged in or not; `up` registers with a pre-auth key of the state. */
function tailscaleProgram(stateFile: string, logFile: string): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(logFile)}, ['tailscale', ...args].join(' ') + '\\n');
const state = JSON.parse(fs.readFileSync(${JSON.stringify(stateFile)}, 'utf8'));
const flag = (name) => (args.find((a) => a.startsWith('--' + name + '=')) || '').slice(name.length + 3);
if (args[0] === 'status') process.exit(state.loggedIn ? 0 : 1);
if (args[0] === 'up') {
  const key = state.keys.find((k) => k.key === flag('auth-key'));
  if (!key || key.used || key.expiration < Date.now() / 1000) { process.stderr.write('backend error: invalid key\\n'); process.exit(1); }
  key.used = true;
  state.nodes.push({ id: state.nextId++, name: flag('hostname'), ...(key.aclTags.length ? { tags: key.aclTags } : { user: key.user }) });
  state.loggedIn = true;
  fs.writeFileSync(${JSON.stringify(stateFile)}, JSON.stringify(state));
  process.exit(0);
}
process.stderr.write('fake tailscale: unsupported call: ' + args.join(' ') + '\\n'); process.exit(3);
`;
}

/**
 * The stand-in `curl`: answers the instance metadata service (IMDSv2: a token first, then the
 * role and its credentials, each only with the token), and hands the SSM request to the real curl,
 * pointed at the local Parameter Store with the same options, config (-K) and stdin.
 */
function curlProgram(opts: { logFile: string; work: string; realCurl: string; ssmEndpoint: string; localEndpoint: string; role: string; credentials: string; imdsToken: string }): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(opts.logFile)}, ['curl', ...args].join(' ') + '\\n');
const url = args[args.length - 1];
const headers = args.flatMap((a, i) => (args[i - 1] === '-H' ? [a] : []));
const fail = (code, message) => { process.stderr.write('curl: (' + code + ') ' + message + '\\n'); process.exit(code); };
const imds = 'http://169.254.169.254/latest/';
if (url.startsWith(imds)) {
  const path = url.slice(imds.length);
  if (path === 'api/token') {
    const ttl = headers.find((h) => h.startsWith('X-aws-ec2-metadata-token-ttl-seconds: '));
    if (!args.includes('PUT') || !ttl) fail(22, 'The requested URL returned error: 400');
    process.stdout.write(${JSON.stringify(opts.imdsToken)});
    process.exit(0);
  }
  if (!headers.includes('X-aws-ec2-metadata-token: ' + ${JSON.stringify(opts.imdsToken)})) fail(22, 'The requested URL returned error: 401');
  if (path === 'meta-data/iam/security-credentials/') { process.stdout.write(${JSON.stringify(opts.role)}); process.exit(0); }
  if (path === 'meta-data/iam/security-credentials/' + ${JSON.stringify(opts.role)}) { process.stdout.write(${JSON.stringify(opts.credentials)}); process.exit(0); }
  fail(22, 'The requested URL returned error: 404');
}
if (url === ${JSON.stringify(opts.ssmEndpoint)}) {
  // The options stay as the script wrote them; only the config (a pipe only this process can
  // read) becomes a file, and the URL the local Parameter Store.
  const forwarded = args.slice(0, -1).map((a, i) => {
    if (args[i - 1] !== '-K') return a;
    const copy = ${JSON.stringify(opts.work)} + '/curl-config-' + process.pid;
    const config = fs.readFileSync(a, 'utf8');
    fs.writeFileSync(copy, config, { mode: 0o600 });
    fs.appendFileSync(${JSON.stringify(opts.logFile)}, '#config ' + JSON.stringify(config) + '\\n');
    return copy;
  });
  const result = spawnSync(${JSON.stringify(opts.realCurl)}, [...forwarded, ${JSON.stringify(opts.localEndpoint)}], { input: fs.readFileSync(0), encoding: 'utf8' });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exit(result.status ?? 1);
}
fail(6, 'Could not resolve host: ' + url);
`;
}

function writeProgram(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/** How a stand-in program run in the server stops: `process.exit(status)`. */
class ProgramExit {
  constructor(readonly status: number) {}
}

/**
 * Runs a stand-in program (the text of a Node script) in a fresh context of this process, as
 * `node program args...` would: its output, and its exit status (1 on an uncaught error, as Node).
 */
function runProgram(text: string, args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const process = {
    argv: ['node', 'program', ...args],
    stdout: { write: (chunk: string) => void (stdout += chunk) },
    stderr: { write: (chunk: string) => void (stderr += chunk) },
    exit: (status = 0) => {
      throw new ProgramExit(status);
    },
  };
  try {
    runInNewContext(text.replace(/^#!.*\n/, ''), { require: createRequire(import.meta.url), process });
    return { status: 0, stdout, stderr };
  } catch (error) {
    if (error instanceof ProgramExit) return { status: error.status, stdout, stderr };
    return { status: 1, stdout, stderr: `${stderr}${String((error as Error)?.stack ?? error)}\n` };
  }
}

/**
 * The `headscale`, `tailscale` and `curl` on PATH: shims that call the fake's stand-in server
 * (test/support/stand-in-server.ts). The script calls them about ten times a run.
 * `ownProcess`: a call with this argument runs the program as its own Node process instead (the
 * SSM request, whose -K pipe and stdin only the called process can read).
 */
function programShim(name: string, opts: { work: string; port: number; ownProcess?: { argument: string; program: string } }): string {
  const own = opts.ownProcess
    ? `for a in "$@"; do [ "$a" != ${JSON.stringify(opts.ownProcess.argument)} ] || exec ${JSON.stringify(opts.ownProcess.program)} "$@"; done\n`
    : '';
  return standInShim({ name, port: opts.port, work: opts.work, prelude: own });
}

/**
 * Starts the stand-ins and the local Parameter Store for one SSM endpoint (the region the script
 * signs for). The real curl must be installed: it signs the request (`--aws-sigv4`).
 */
export async function fakeGateway(initial: FakeGatewayState, ssm: { endpoint: string; region: string }): Promise<FakeGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gateway-'));
  const bin = join(dir, 'bin');
  const work = join(dir, 'work');
  mkdirSync(bin);
  mkdirSync(work);
  const stateFile = join(dir, 'state.json');
  const logFile = join(dir, 'calls.log');
  writeFileSync(stateFile, JSON.stringify(initial));
  writeFileSync(logFile, '');
  const realCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
  if (!realCurl) throw new Error('fake gateway: the real curl is not installed (apt-get install curl)');

  // Temporary credentials as the instance role gets them, new for every fake: nothing fixed in Git.
  const credentials = { accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: random(30), sessionToken: random(120) };
  const role = 'platform-gateway';
  const parameters = new Map<string, StoredParameter>();
  const ssmRequests: SsmRequest[] = [];
  const fake = { denyPutParameter: false };

  const imdsToken = random(40);
  const programs = new Map([
    ['headscale', headscaleProgram(stateFile, logFile)],
    ['tailscale', tailscaleProgram(stateFile, logFile)],
  ]);

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const target = req.headers['x-amz-target'] as string | undefined;
      let body: Record<string, unknown> = {};
      const problems = sigv4Problems({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: raw }, credentials, {
        region: ssm.region,
        service: 'ssm',
        mustSign: ['x-amz-target', 'content-type'],
      });
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') problems.push(`Content-Type ${String(req.headers['content-type'])} is not application/x-amz-json-1.1`);
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        problems.push('the body is not JSON');
      }
      ssmRequests.push({ target, body, problems });
      if (problems.length) return reply(400, { __type: 'InvalidSignatureException', message: problems.join('; ') });
      if (target !== 'AmazonSSM.PutParameter') return reply(400, { __type: 'UnknownOperationException' });
      if (fake.denyPutParameter) {
        return reply(400, {
          __type: 'AccessDeniedException',
          Message: `User: arn:aws:sts::123456789012:assumed-role/${role}/i-0 is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:${ssm.region}:123456789012:parameter${String(body.Name)} because no identity-based policy allows the ssm:PutParameter action`,
        });
      }
      const name = String(body.Name);
      const existing = parameters.get(name);
      if (existing && body.Overwrite !== true) return reply(400, { __type: 'ParameterAlreadyExists', message: 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.' });
      const version = (existing?.version ?? 0) + 1;
      parameters.set(name, { value: String(body.Value), type: String(body.Type), ...(body.KeyId ? { keyId: String(body.KeyId) } : {}), version });
      return reply(200, { Tier: 'Standard', Version: version });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const { server: standins, port: standinPort } = await standInServer(0, ({ name, args }) => {
    const program = programs.get(name);
    return program === undefined ? undefined : runProgram(program, [...args]);
  });

  const imdsCredentials = JSON.stringify(
    {
      Code: 'Success',
      LastUpdated: '2026-11-26T04:00:00Z',
      Type: 'AWS-HMAC',
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: '2026-11-26T10:00:00Z',
    },
    null,
    2,
  );
  const curl = curlProgram({ logFile, work, realCurl, ssmEndpoint: ssm.endpoint, localEndpoint: `http://127.0.0.1:${port}/`, role, credentials: imdsCredentials, imdsToken });
  programs.set('curl', curl);
  const ssmCurl = join(dir, 'curl-ssm');
  writeProgram(ssmCurl, curl);
  for (const name of programs.keys()) {
    const ownProcess = name === 'curl' ? { argument: ssm.endpoint, program: ssmCurl } : undefined;
    writeProgram(join(bin, name), programShim(name, { work, port: standinPort, ownProcess }));
  }
  const path = `${bin}:${process.env.PATH}`;

  return {
    path,
    dir: work,
    credentials,
    role,
    parameters,
    ssmRequests,
    get denyPutParameter() {
      return fake.denyPutParameter;
    },
    set denyPutParameter(value: boolean) {
      fake.denyPutParameter = value;
    },
    state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as FakeGatewayState,
    setState: (state) => writeFileSync(stateFile, JSON.stringify(state)),
    calls: () => readFileSync(logFile, 'utf8').split('\n').filter((line) => line && !line.startsWith('#config ')),
    curlConfigs: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('#config '))
        .map((line) => JSON.parse(line.slice('#config '.length)) as string),
    run: (script) =>
      new Promise((resolve, reject) => {
        const file = join(work, `script-${Date.now()}-${random(4)}.sh`);
        writeFileSync(file, script, { mode: 0o700 });
        const child = spawn('bash', [file], { env: { ...process.env, PATH: path } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        standins.close();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
