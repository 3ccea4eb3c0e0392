import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTree } from '../cli/dist';
import { ROOT } from './support/render';
import { hasCrds } from './support/validators';

describe('imports/', () => {
  it('is exactly what `npm run import` generates from the upstream CRDs (never hand-edited)', (ctx) => {
    if (!hasCrds()) ctx.skip();
    const out = mkdtempSync(join(tmpdir(), 'platform-imports-'));
    const result = spawnSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['import', '--output', out, '--language', 'typescript'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    // imports/k8s/ comes from `npm run import:k8s` (cli/import-k8s.ts), not from `cdk8s import`.
    const fromCdk8s = new Map([...readTree(join(ROOT, 'imports'))].filter(([path]) => !path.startsWith('k8s/')));
    expect(readTree(out)).toEqual(fromCdk8s);
  });
});
