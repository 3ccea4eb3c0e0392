/**
 * The transport of the bash stand-ins of real CLIs (the fake Vault's `vault`, the fake gateway's
 * `headscale`, `tailscale` and `curl`): the command on PATH is a bash shim that writes its call to a
 * TCP server in the test worker over bash's own `/dev/tcp` (no curl, no Node per call): the
 * stand-in's name, the argument count, the files for stdout and stderr, the caller's fixed fields,
 * then its argv, as NUL-terminated fields. The server answers the call (the fake runs the stand-in
 * program), writes the output to those files and replies with the exit status, which the shim
 * replays. A Node process per call cost about 60 ms of CPU (docs/decisions/0096-test-run-speed.md).
 * A script that calls a shim must not block the worker: spawn it, never `spawnSync`.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';

export interface StandInCall {
  /** The stand-in's name, as its shim sends it. */
  readonly name: string;
  /** The caller's fixed fields (`fixed` of its shim), in order. */
  readonly fixed: readonly string[];
  readonly args: readonly string[];
}

export interface StandInAnswer {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The fields of one call once all have arrived: name, count, stdout file, stderr file, `fixedCount` more, then count arguments. */
export function completeCall(buffer: Buffer, fixedCount: number): string[] | undefined {
  const fields: string[] = [];
  let at = 0;
  while (true) {
    const end = buffer.indexOf(0, at);
    if (end < 0) return undefined;
    fields.push(buffer.subarray(at, end).toString('utf8'));
    at = end + 1;
    if (fields.length >= 4 + fixedCount && fields.length === 4 + fixedCount + Number(fields[1])) return fields;
  }
}

/**
 * A server answering the shims' calls with `answer` (undefined: no such stand-in, status 99).
 * Listening on 127.0.0.1 and unref'd: it never keeps a worker alive. Resolves with its port.
 */
export function standInServer(fixedCount: number, answer: (call: StandInCall) => StandInAnswer | undefined): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const fields = completeCall(buffer, fixedCount);
      if (!fields) return;
      const [name, , out, err, ...rest] = fields;
      const result = answer({ name, fixed: rest.slice(0, fixedCount), args: rest.slice(fixedCount) });
      if (result === undefined) return void socket.end('99\n');
      writeFileSync(out, result.stdout);
      writeFileSync(err, result.stderr);
      socket.end(`${result.status}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

export interface StandInShimOptions {
  /** The name the server knows the stand-in by. */
  readonly name: string;
  readonly port: number;
  /** Where the shim's output files go (`<work>/<name>-<pid>.o` and `.e`). */
  readonly work: string;
  /** Bash lines run before the call (e.g. saving stdin for the stand-in). @default - none */
  readonly prelude?: string;
  /** Bash words sent as the fixed fields, in order (each expands to one field). @default - none */
  readonly fixed?: readonly string[];
}

/** The shim on PATH: bash alone, and cat for the output. `$r` is its output files' prefix. */
export function standInShim(opts: StandInShimOptions): string {
  return `#!/bin/bash
r=${opts.work}/${opts.name}-$$
${opts.prelude ?? ''}exec 3<>/dev/tcp/127.0.0.1/${opts.port} || exit 99
printf '%s\\0' ${opts.name} "$#" "$r.o" "$r.e" ${(opts.fixed ?? []).join(' ')} "$@" >&3
s=99
read -r s <&3
exec 3<&-
[ ! -s "$r.o" ] || cat "$r.o"
[ ! -s "$r.e" ] || cat "$r.e" >&2
exit "$s"
`;
}
