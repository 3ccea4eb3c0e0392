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
  const capture = startCapture();
  try {
    return capture.result(command());
  } finally {
    capture.stop();
  }
}

/** captureOutput for a command that resolves to its exit code (the tests of a file run one at a time). */
export async function captureOutputAsync(command: () => Promise<number>): Promise<Captured> {
  const capture = startCapture();
  try {
    return capture.result(await command());
  } finally {
    capture.stop();
  }
}

function startCapture() {
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
  return {
    result: (status: number): Captured => ({ status, stdout: stdout.join(''), stderr: stderr.join('') }),
    stop: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
