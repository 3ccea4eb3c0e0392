/**
 * Runs a command's exported `run...` function (runSynth, runSetImage, runDiff) in the test's own
 * process and captures what it prints, as the process would have printed it. A process costs half
 * a second to a second of CPU (Node, the bundle, cdk8s and cdktf); run one only where the process
 * is the property: an exit code reaching the shell, the lock between processes, a kill, a model
 * bundled per process (docs/decisions/0096-test-run-speed.md).
 */
import { vi } from 'vitest';

export interface Captured {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Calls `command` with console and process.stdout/stderr captured; restores them whatever happens. */
export function captureOutput(command: () => number): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const line = (sink: string[]) => (...parts: unknown[]) => void sink.push(`${parts.join(' ')}\n`);
  const raw = (sink: string[]) => (chunk: string | Uint8Array) => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(line(stdout)),
    vi.spyOn(console, 'error').mockImplementation(line(stderr)),
    vi.spyOn(process.stdout, 'write').mockImplementation(raw(stdout) as typeof process.stdout.write),
    vi.spyOn(process.stderr, 'write').mockImplementation(raw(stderr) as typeof process.stderr.write),
  ];
  try {
    return { status: command(), stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
