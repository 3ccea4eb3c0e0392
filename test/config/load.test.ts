/**
 * The model's entry bounds what it reads and what it repeats: a size limit, no read of a FIFO or
 * a device, a depth limit before zod, non-finite numbers by name, and every echoed value short.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkImageTags, ConfigError, defaultPlatform, echo, loadPlatformFile, MAX_ECHO_CHARS, MAX_MODEL_DEPTH, MAX_MODEL_FILE_BYTES, validatePlatform } from '../../config';
import { applyPatch } from '../support/patch';
import { ROOT } from '../support/render';

const work = mkdtempSync(join(tmpdir(), 'load-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('reading a model file', () => {
  it('fails when the file is larger than the limit, naming its size and the limit', () => {
    const file = join(work, 'huge.yaml');
    writeFileSync(file, `domain: ${'x'.repeat(MAX_MODEL_FILE_BYTES)}\n`);
    expect(problemsOf(() => loadPlatformFile(file))).toEqual([
      `(file): is ${MAX_MODEL_FILE_BYTES + 9} bytes; a model file holds at most ${MAX_MODEL_FILE_BYTES} bytes (1 MiB); pass the platform model, not another file`,
    ]);
  });

  it('fails at once when the file is a device such as /dev/zero (never reads it)', () => {
    expect(problemsOf(() => loadPlatformFile('/dev/zero'))).toEqual(['(file): is a device, not a regular file; pass a YAML or JSON file to --config']);
  });

  it('fails at once when the file is a FIFO (opening it would block)', () => {
    const fifo = join(work, 'model.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status, String(made.stderr)).toBe(0);
    expect(problemsOf(() => loadPlatformFile(fifo))).toEqual(['(file): is a pipe (FIFO), not a regular file; pass a YAML or JSON file to --config']);
  });

  it('fails when the file is a folder', () => {
    expect(problemsOf(() => loadPlatformFile(work))).toEqual(['(file): is a folder, not a regular file; pass a YAML or JSON file to --config']);
  });

  it('fails when the document nests too deeply, before validation and without a stack overflow', () => {
    const json = join(work, 'deep.json');
    writeFileSync(json, `${'['.repeat(100000)}${']'.repeat(100000)}`);
    const [problem] = problemsOf(() => loadPlatformFile(json));
    expect(problem).toMatch(new RegExp(`^\\[0\\]\\[0\\].*\\.\\.\\.: nests deeper than ${MAX_MODEL_DEPTH} levels; `));
    const yaml = join(work, 'deep.yaml');
    writeFileSync(yaml, `${'['.repeat(100000)}${']'.repeat(100000)}\n`);
    const [yamlProblem] = problemsOf(() => loadPlatformFile(yaml));
    expect(yamlProblem).toMatch(/nests (deeper than 64 levels|too deeply to read)/);
    expect(yamlProblem).not.toMatch(/call stack/);
  });

  it('fails when a number is NaN or infinite, saying so by name', () => {
    const input = applyPatch(defaultPlatform, { backups: { retentionDays: Number.NaN } }) as Record<string, unknown>;
    expect(problemsOf(() => validatePlatform(input, 'x'))).toEqual(['backups.retentionDays: NaN: must be a finite number']);
    const file = join(work, 'infinite.yaml');
    writeFileSync(file, stringify(defaultPlatform, { lineWidth: 0 }).replace('retentionDays: 30', 'retentionDays: .inf'));
    expect(problemsOf(() => loadPlatformFile(file))).toEqual(['backups.retentionDays: Infinity: must be a finite number']);
  });

  it('shortens every echoed value and key to a bounded length that says how long it was', () => {
    const long = 'h'.repeat(5_000_000);
    const input = applyPatch(defaultPlatform, { services: { grafana: { host: long } }, [long]: 1 });
    const problems = problemsOf(() => validatePlatform(input, 'x'));
    expect(problems.length).toBe(2);
    for (const problem of problems) expect(problem.length).toBeLessThan(4 * MAX_ECHO_CHARS + 200);
    expect(problems.join('\n')).toContain(`… (${long.length + 2} characters)`);
    expect(echo('x'.repeat(MAX_ECHO_CHARS - 2))).toBe(`"${'x'.repeat(MAX_ECHO_CHARS - 2)}"`);
    expect(echo('x'.repeat(MAX_ECHO_CHARS))).toHaveLength(MAX_ECHO_CHARS + ' (82 characters)'.length);
  });
});

describe('config/app-images.json', () => {
  it('fails when an entry is broken, naming that file and the key, not config/default.ts', () => {
    const error = (() => {
      try {
        checkImageTags({ hello: { dev: 5, staging: 'latest', prod: '0.1.0' }, shop: ['x'] });
      } catch (caught) {
        return caught as ConfigError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message.split('\n')[0]).toBe('config/app-images.json: the platform model is invalid (3 problems):');
    expect(error!.problems).toEqual([
      'hello.dev: 5: must be a string, the image tag (e.g. the commit SHA the pipeline built)',
      'hello.staging: "latest": "latest" moves under a running deployment; use the immutable commit SHA the pipeline built',
      'shop: ["x"]: must be a mapping environment -> tag, e.g. {"dev": "<tag>"}',
    ]);
  });

  it('accepts the committed file', () => {
    expect(checkImageTags(JSON.parse(readFileSync(join(ROOT, 'config/app-images.json'), 'utf8')))).toBeTruthy();
  });
});
