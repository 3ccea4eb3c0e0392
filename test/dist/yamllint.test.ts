import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/render';
import { hasCommand, requireValidator } from '../support/validators';

describe('yamllint', () => {
  it('accepts every YAML file of the committed dist/', (ctx) => {
    if (!requireValidator('yamllint', hasCommand('yamllint'), 'apt-get install yamllint')) ctx.skip();
    const result = spawnSync('yamllint', ['--strict', '--config-file', join(ROOT, '.yamllint.yaml'), 'dist', 'test/fixtures', 'cdk8s.yaml'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('would reject a broken file (the check is not a no-op)', (ctx) => {
    if (!requireValidator('yamllint', hasCommand('yamllint'), 'apt-get install yamllint')) ctx.skip();
    const result = spawnSync('yamllint', ['--strict', '--config-file', join(ROOT, '.yamllint.yaml'), '-'], {
      input: 'a: 1\na: 2\n',
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('duplication of key "a"');
  });
});
