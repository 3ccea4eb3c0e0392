/**
 * Test helpers for Vault's configuration as code:
 *  - `parseHcl`: the real HCL parser (Debian's hcltool, python3-pyhcl) turns a rendered file into JSON;
 *  - `mayRead`: Vault's ACL path matching (a trailing `*` globs a prefix, `+` one segment);
 *  - `fakeVault`: a stand-in `vault` CLI with its state in a JSON file, to run apply.sh for real;
 *  - `runScript`: runs a script without blocking the worker (the stand-in answers from it).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { standInServer, standInShim } from './stand-in-server';

/** The capabilities of a policy by path, as hcltool prints a policy file. */
export interface PolicyJson {
  path: Record<string, { capabilities: string[] }>;
}

/** Parses HCL with hcltool; throws with hcltool's message on a syntax error. */
export function parseHcl(text: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'hcl-'));
  const file = join(dir, 'input.hcl');
  writeFileSync(file, text);
  const result = spawnSync('hcltool', [file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`hcltool rejects the file: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Whether a policy path pattern covers a request path (Vault's `*` suffix and `+` segment globs). */
export function pathMatches(pattern: string, path: string): boolean {
  const prefix = pattern.endsWith('*');
  const patternSegments = (prefix ? pattern.slice(0, -1) : pattern).split('/');
  const pathSegments = path.split('/');
  for (let i = 0; i < patternSegments.length; i++) {
    const expected = patternSegments[i];
    const actual = pathSegments[i];
    if (actual === undefined) return false;
    const last = i === patternSegments.length - 1;
    if (expected === '+') {
      if (actual === '') return false;
      continue;
    }
    if (last && prefix) return actual.startsWith(expected);
    if (expected !== actual) return false;
  }
  return prefix || patternSegments.length === pathSegments.length;
}

/**
 * Whether any path block of the policy grants `read` on the path. Deliberately generous (the
 * union of every matching block, `deny` ignored): "may not read" from this is certain.
 */
export function mayRead(policy: PolicyJson, path: string): boolean {
  return Object.entries(policy.path ?? {}).some(([pattern, block]) => pathMatches(pattern, path) && block.capabilities.includes('read'));
}

export interface FakeVault {
  /** PATH with the fake `vault` first. */
  readonly path: string;
  /** The state the fake keeps between calls. */
  state(): FakeVaultState;
  /** Every call: argv joined with spaces. */
  calls(): string[];
  setState(state: FakeVaultState): void;
}

export interface FakeVaultState {
  audit: string[];
  mounts: Record<string, { type: string; version: string }>;
  auth: string[];
  authConfig?: Record<string, string>;
  policies: Record<string, string>;
  roles: Record<string, unknown>;
  revoked: number;
  /** KV version 2 entries by the path `vault kv put` takes. */
  kv?: Record<string, Record<string, string>>;
  /** The OIDC auth method's configuration (the secret as it arrived on stdin) and roles. */
  oidc?: { config?: Record<string, string>; roles: Record<string, unknown> };
  /** Identity groups by name, with their one alias. */
  groups?: Record<string, { id: string; type: string; policies: string; alias?: { canonical_id: string; id: string; mount_accessor: string; name: string } }>;
}

const TOKEN = 's.fake-admin-token';

/**
 * The stand-in `vault` CLI as a Node program: it answers the subcommands apply.sh uses, keeps its
 * state in a JSON file, and refuses every call after login that does not carry the token login
 * returned. It is run in the worker (runProgram), once per call of the `vault` on PATH.
 */
function vaultProgram(stateFile: string, logFile: string): string {
  return `
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(logFile)}, args.join(' ') + '\\n');
const state = JSON.parse(fs.readFileSync(${JSON.stringify(stateFile)}, 'utf8'));
const save = () => fs.writeFileSync(${JSON.stringify(stateFile)}, JSON.stringify(state));
const fail = (message, code = 2) => { process.stderr.write(message + '\\n'); process.exit(code); };
const flags = args.filter((a) => a.startsWith('-'));
const words = args.filter((a) => !a.startsWith('-'));
const [command, sub] = words;
if (command === 'write' && sub === 'auth/kubernetes/login') {
  if (!flags.includes('-field=token')) fail('login without -field=token');
  if (!state.auth.includes('kubernetes/')) fail('no handler for route "auth/kubernetes/login"');
  if (!state.roles['vault-config']) fail('role "vault-config" could not be found', 2);
  process.stdout.write(${JSON.stringify(TOKEN)});
  process.exit(0);
}
if (process.env.VAULT_TOKEN !== ${JSON.stringify(TOKEN)}) fail('permission denied (no valid VAULT_TOKEN)');
if (command === 'audit' && sub === 'list') { process.stdout.write(JSON.stringify(Object.fromEntries(state.audit.map((p) => [p, { type: 'file' }])), null, 2)); process.exit(0); }
if (command === 'audit' && sub === 'enable') {
  const path = (flags.find((f) => f.startsWith('-path=')) || '').slice(6) + '/';
  if (state.audit.includes(path)) fail('path already in use at ' + path);
  state.audit.push(path); save(); process.exit(0);
}
if (command === 'read' && sub.startsWith('sys/mounts/')) {
  const mount = state.mounts[sub.slice('sys/mounts/'.length) + '/'];
  if (!mount) fail('No value found at ' + sub);
  process.stdout.write(JSON.stringify({ data: { type: mount.type, options: { version: mount.version } } }, null, 2));
  process.exit(0);
}
if (command === 'secrets' && sub === 'enable') {
  const path = (flags.find((f) => f.startsWith('-path=')) || '').slice(6) + '/';
  if (state.mounts[path]) fail('path is already in use at ' + path);
  state.mounts[path] = { type: words[2], version: (flags.find((f) => f.startsWith('-version=')) || '-version=1').slice(9) };
  save(); process.exit(0);
}
if (command === 'write' && sub === 'auth/kubernetes/config') { state.authConfig = Object.fromEntries(words.slice(2).map((w) => w.split('='))); save(); process.exit(0); }
if (command === 'policy' && sub === 'write') { state.policies[words[2]] = fs.readFileSync(words[3], 'utf8'); save(); process.exit(0); }
if (command === 'policy' && sub === 'list') { process.stdout.write(['default', ...Object.keys(state.policies), 'root'].join('\\n') + '\\n'); process.exit(0); }
if (command === 'policy' && sub === 'delete') { delete state.policies[words[2]]; save(); process.exit(0); }
if (command === 'write' && sub.startsWith('auth/kubernetes/role/')) {
  const file = words[2];
  if (!file || !file.startsWith('@')) fail('role data must come from @file');
  state.roles[sub.slice('auth/kubernetes/role/'.length)] = JSON.parse(fs.readFileSync(file.slice(1), 'utf8'));
  save(); process.exit(0);
}
if (command === 'list' && sub === 'auth/kubernetes/role') {
  const names = Object.keys(state.roles).sort();
  if (names.length === 0) fail('No value found at auth/kubernetes/role');
  process.stdout.write(names.map((n) => '- ' + n).join('\\n') + '\\n'); process.exit(0);
}
if (command === 'delete' && sub.startsWith('auth/kubernetes/role/')) { delete state.roles[sub.slice('auth/kubernetes/role/'.length)]; save(); process.exit(0); }
if (command === 'token' && sub === 'revoke' && flags.includes('-self')) { state.revoked++; save(); process.exit(0); }
if (command === 'kv' && (sub === 'put' || sub === 'patch')) {
  const [path, pair] = [words[2], words[3]];
  const [key, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
  if (value !== '-') fail('fake vault: values must come from stdin, not the command line');
  state.kv = state.kv || {};
  if (sub === 'patch' && !state.kv[path]) fail('No value found at ' + path);
  state.kv[path] = { ...(sub === 'patch' ? state.kv[path] : {}), [key]: fs.readFileSync(0, 'utf8') };
  save(); process.exit(0);
}
const pairs = (list) => Object.fromEntries(list.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
const field = (flags.find((f) => f.startsWith('-field=')) || '').slice(7);
if (command === 'kv' && sub === 'get') {
  const entry = (state.kv || {})[words[2]];
  if (!entry) fail('No value found at ' + words[2].replace('secret/', 'secret/data/'));
  if (!(field in entry)) fail('Field "' + field + '" not present in secret');
  process.stdout.write(entry[field]); process.exit(0);
}
if (command === 'auth' && sub === 'list') { process.stdout.write(JSON.stringify(Object.fromEntries(state.auth.map((p) => [p, { type: p.slice(0, -1), accessor: 'auth_' + p.slice(0, -1) + '_fake' }])), null, 2)); process.exit(0); }
if (command === 'auth' && sub === 'enable') {
  const path = (flags.find((f) => f.startsWith('-path=')) || '').slice(6) + '/';
  if (state.auth.includes(path)) fail('path is already in use at ' + path);
  state.auth.push(path); save(); process.exit(0);
}
if (command === 'read' && sub.startsWith('sys/auth/')) {
  const path = sub.slice('sys/auth/'.length) + '/';
  if (!state.auth.includes(path)) fail('No value found at ' + sub);
  if (field !== 'accessor') fail('fake vault: read sys/auth/<path> only with -field=accessor');
  process.stdout.write('auth_' + path.slice(0, -1) + '_fake'); process.exit(0);
}
if (command === 'write' && sub === 'auth/oidc/config') {
  if (!state.auth.includes('oidc/')) fail('no handler for route "auth/oidc/config"');
  const config = pairs(words.slice(2));
  if (config.oidc_client_secret !== '-') fail('fake vault: the client secret must come from stdin, not the command line');
  config.oidc_client_secret = fs.readFileSync(0, 'utf8');
  state.oidc = { roles: {}, ...(state.oidc || {}), config }; save(); process.exit(0);
}
if (command === 'write' && sub.startsWith('auth/oidc/role/')) {
  if (!state.auth.includes('oidc/')) fail('no handler for route "' + sub + '"');
  const file = words[2];
  if (!file || !file.startsWith('@')) fail('role data must come from @file');
  state.oidc = { roles: {}, ...(state.oidc || {}) };
  state.oidc.roles[sub.slice('auth/oidc/role/'.length)] = JSON.parse(fs.readFileSync(file.slice(1), 'utf8'));
  save(); process.exit(0);
}
if (sub && sub.startsWith('identity/group/name/')) {
  const name = sub.slice('identity/group/name/'.length);
  state.groups = state.groups || {};
  if (command === 'write') {
    const group = state.groups[name] || { id: 'group-' + name };
    state.groups[name] = { ...group, ...pairs(words.slice(2)) }; save(); process.exit(0);
  }
  const group = state.groups[name];
  if (command === 'read' && !group) fail('No value found at ' + sub);
  if (command === 'read' && field === 'id') { process.stdout.write(group.id); process.exit(0); }
  if (command === 'read' && field === 'alias' && flags.includes('-format=json')) { process.stdout.write(JSON.stringify(group.alias || {}, null, 2) + '\\n'); process.exit(0); }
}
if (command === 'write' && (sub === 'identity/group-alias' || (sub || '').startsWith('identity/group-alias/id/'))) {
  const values = pairs(words.slice(2));
  const groups = Object.values(state.groups || {});
  const group = groups.find((g) => g.id === values.canonical_id);
  if (!group) fail('invalid canonical ID');
  if (groups.some((g) => g !== group && g.alias && g.alias.name === values.name && g.alias.mount_accessor === values.mount_accessor)) fail('combination of mount and group alias name is already in use');
  if (sub === 'identity/group-alias') {
    if (group.alias) fail('group already has an alias');
    group.alias = { canonical_id: group.id, id: 'alias-' + values.name, mount_accessor: values.mount_accessor, name: values.name };
  } else {
    if (!group.alias || group.alias.id !== sub.slice('identity/group-alias/id/'.length)) fail('invalid alias ID');
    group.alias = { ...group.alias, name: values.name, mount_accessor: values.mount_accessor };
  }
  save(); process.exit(0);
}
fail('fake vault: unsupported call: ' + args.join(' '), 3);
`;
}

/** How the stand-in program stops: `process.exit(status)`. */
class ProgramExit {
  constructor(readonly status: number) {}
}

interface Call {
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** What the caller's stdin held, when the shim passed it on (a `KEY=-` argument). */
  stdin?: string;
}

/**
 * Runs the stand-in program in a fresh context of this process, as `node program args...` run in
 * the caller's folder with its environment would: its output, and its exit status (1 on an uncaught
 * error, as Node). fd 0 reads the stdin the shim passed on; relative paths are the caller's.
 */
function runProgram(text: string, call: Call): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const readFile = (file: fs.PathOrFileDescriptor, options?: unknown): string => {
    if (file === 0) {
      if (call.stdin === undefined) throw new Error('fake vault: the shim did not pass stdin on for this call');
      return call.stdin;
    }
    return fs.readFileSync(typeof file === 'string' ? resolve(call.cwd, file) : file, options as BufferEncoding) as string;
  };
  const process = {
    argv: ['node', 'vault', ...call.args],
    env: call.env,
    stdout: { write: (chunk: string) => void (stdout += chunk) },
    stderr: { write: (chunk: string) => void (stderr += chunk) },
    exit: (status = 0) => {
      throw new ProgramExit(status);
    },
  };
  const require = (name: string) => {
    if (name !== 'node:fs') throw new Error(`fake vault: the program may require node:fs only, not ${name}`);
    return { ...fs, readFileSync: readFile };
  };
  try {
    runInNewContext(text, { require, process });
    return { status: 0, stdout, stderr };
  } catch (error) {
    if (error instanceof ProgramExit) return { status: error.status, stdout, stderr };
    return { status: 1, stdout, stderr: `${stderr}${String((error as Error)?.stack ?? error)}\n` };
  }
}

/**
 * One server per worker answers every fake's `vault` calls, by the fake's name, through the bash
 * shims of test/support/stand-in-server.ts (apply.sh makes about 50 calls a run). A script that
 * calls the stand-in must not block the worker: run it with `runScript`, never `spawnSync`.
 */
const programs = new Map<string, string>();

let server: Promise<number> | undefined;

/** The worker's one server for every fake's `vault` calls (test/support/stand-in-server.ts). */
function vaultServer(): Promise<number> {
  server ??= standInServer(VAULT_CALL_FIELDS.length, ({ name, fixed, args }) => {
    const program = programs.get(name);
    if (program === undefined) return undefined;
    const [cwd, token, input] = fixed;
    const env: Record<string, string> = token === '' ? {} : { VAULT_TOKEN: token.slice(1) };
    return runProgram(program, { args: [...args], env, cwd, stdin: input === '' ? undefined : fs.readFileSync(input, 'utf8') });
  }).then(({ port }) => port);
  return server;
}

/**
 * What the `vault` shim sends besides its argv: its folder, VAULT_TOKEN (`=` and the token when it
 * is set, empty when not) and the file holding its stdin, only for a `KEY=-` argument, where the
 * real CLI reads stdin.
 */
const VAULT_CALL_FIELDS = ['"$PWD"', '"${VAULT_TOKEN+=${VAULT_TOKEN}}"', '"$i"'];

/** The `vault` on PATH (see stand-in-server.ts). */
function vaultShim(id: string, port: number, work: string): string {
  const stdin = `i=
for a in "$@"; do case $a in *=-) i=$r.i ;; esac; done
[ -z "$i" ] || cat >"$i"
`;
  return standInShim({ name: id, port, work, prelude: stdin, fixed: VAULT_CALL_FIELDS });
}

let fakes = 0;

/** A stand-in Vault with the given state; its `vault` is first on `path`. */
export async function fakeVault(initial: FakeVaultState): Promise<FakeVault> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-vault-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const stateFile = join(dir, 'state.json');
  const logFile = join(dir, 'calls.log');
  writeFileSync(stateFile, JSON.stringify(initial));
  writeFileSync(logFile, '');
  const port = await vaultServer();
  const id = `vault-${process.pid}-${++fakes}`;
  programs.set(id, vaultProgram(stateFile, logFile));
  writeFileSync(join(bin, 'vault'), vaultShim(id, port, dir));
  chmodSync(join(bin, 'vault'), 0o755);
  return {
    path: `${bin}:${process.env.PATH}`,
    state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as FakeVaultState,
    calls: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
    setState: (state) => writeFileSync(stateFile, JSON.stringify(state)),
  };
}

export interface ScriptResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end without blocking the worker (spawnSync would starve the stand-in's server). */
export function runScript(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; input?: string }): Promise<ScriptResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env: opts.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
