import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDiff } from '../../cli/diff';
import { diffValues, formatDiff, semanticDiff } from '../../cli/semantic-diff';
import { captureOutput } from '../support/in-process';
import { defaultRender, ROOT } from '../support/render';

describe('the semantic diff', () => {
  it('reports nothing for identical renders', () => {
    expect(semanticDiff(defaultRender(), new Map(defaultRender()))).toEqual([]);
  });

  it('shows a known change as exactly that change', () => {
    // GIVEN the render with one Application's target revision changed and one project removed
    const after = new Map(defaultRender());
    const app = 'k8s/platform/apps/application-platform-root.yaml';
    after.set(app, after.get(app)!.replace('targetRevision: main', 'targetRevision: release-1'));
    after.delete('k8s/platform/argocd/appproject-hello-dev.yaml');
    // WHEN compared THEN exactly those two changes show, grouped by service folder
    expect(formatDiff(semanticDiff(defaultRender(), after))).toBe(
      [
        'k8s/platform/apps: 0 added, 0 removed, 1 changed',
        '  ~ Application argocd/platform-root',
        '      spec.source.targetRevision: main -> release-1',
        'k8s/platform/argocd: 0 added, 1 removed, 0 changed',
        '  - AppProject argocd/hello-dev',
      ].join('\n'),
    );
  });

  it('matches named list items by name, not position', () => {
    const before = { containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }] };
    const after = { containers: [{ name: 'b', image: 'y:2' }, { name: 'a', image: 'x:1' }] };
    expect(diffValues(before, after)).toEqual([{ path: 'containers[b].image', before: 'y:1', after: 'y:2' }]);
  });

  it('reports Terraform resources by type and name, ignoring cdktf metadata', () => {
    const before = new Map([['terraform/s/cdk.tf.json', JSON.stringify({ resource: { aws_instance: { gw: { '//': { path: 'a' }, instance_type: 't3.small' } } } })]]);
    const after = new Map([['terraform/s/cdk.tf.json', JSON.stringify({ resource: { aws_instance: { gw: { '//': { path: 'b' }, instance_type: 't3.medium' } } } })]]);
    expect(formatDiff(semanticDiff(before, after))).toBe(
      ['terraform/s: 0 added, 0 removed, 1 changed', '  ~ aws_instance.gw', '      instance_type: t3.small -> t3.medium'].join('\n'),
    );
  });

  it('reports changed lines of configuration files', () => {
    const before = new Map([['gateway/haproxy.cfg', 'global\n  maxconn 2000\n']]);
    const after = new Map([['gateway/haproxy.cfg', 'global\n  maxconn 4000\n']]);
    expect(formatDiff(semanticDiff(before, after))).toBe(
      ['gateway: 0 added, 0 removed, 1 changed', '  ~ haproxy.cfg', '      - 2:   maxconn 2000', '      + 2:   maxconn 4000'].join('\n'),
    );
  });

  it('GIVEN two swapped HAProxy rules WHEN compared THEN the move is reported, not "no changes"', () => {
    // First match wins in HAProxy: swapping these two lines changes which backend serves git.
    const rules = ['frontend https', '  use_backend git if { req.ssl_sni -i git.example.com }', '  use_backend catchall if { req.ssl_sni -m end .example.com }', ''];
    const swapped = [rules[0], rules[2], rules[1], rules[3]];
    const groups = semanticDiff(new Map([['gateway/haproxy.cfg', rules.join('\n')]]), new Map([['gateway/haproxy.cfg', swapped.join('\n')]]));
    const fields = groups.flatMap((g) => g.changes.flatMap((c) => c.fields));
    expect(fields.length).toBeGreaterThan(0);
    // One of the two rules leaves its place and comes back at the other: removed at one line, added at another.
    const moved = fields.filter((f) => f.before !== undefined).map((f) => f.before);
    expect(moved).toHaveLength(1);
    expect(fields.filter((f) => f.after === moved[0])).toHaveLength(1);
    expect(fields.find((f) => f.before === moved[0])!.line).not.toBe(fields.find((f) => f.after === moved[0])!.line);
  });

  it('GIVEN a duplicated line WHEN compared THEN the extra copy is reported as added', () => {
    const before = 'acl admin src 100.64.0.1\nhttp-request deny if !admin\n';
    const after = 'acl admin src 100.64.0.1\nhttp-request deny if !admin\nhttp-request deny if !admin\n';
    expect(formatDiff(semanticDiff(new Map([['gateway/haproxy.cfg', before]]), new Map([['gateway/haproxy.cfg', after]])))).toBe(
      ['gateway: 0 added, 0 removed, 1 changed', '  ~ haproxy.cfg', '      + 3: http-request deny if !admin'].join('\n'),
    );
  });

  it('npm run diff exits 0 when nothing changed and 1 (with the summary) when something did', () => {
    // The first as a process (its exit code reaches the shell), the second in this process
    // (runDiff, what the entry calls): a render process costs about a second of CPU.
    const same = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/diff.ts'], { cwd: ROOT, encoding: 'utf8' });
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toBe('no changes: a fresh render equals the committed dist/\n');

    const dir = join(mkdtempSync(join(tmpdir(), 'platform-diff-test-')), 'dist');
    cpSync(join(ROOT, 'dist'), dir, { recursive: true });
    const file = join(dir, 'k8s/platform/apps/application-platform-root.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('targetRevision: main', 'targetRevision: old'));
    const changed = captureOutput(() => runDiff(['--dir', dir]));
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain('k8s/platform/apps: 0 added, 0 removed, 1 changed\n  ~ Application argocd/platform-root\n      spec.source.targetRevision: old -> main\n');
  });

  it('npm run diff -- --rev compares with dist/ at a Git revision, and fails clearly on a bad one', () => {
    const run = (args: string[]) => captureOutput(() => runDiff(args));
    const head = run(['--rev', 'HEAD']);
    expect([0, 1], head.stderr).toContain(head.status);
    expect(head.stdout).toMatch(/dist\/ at HEAD/);
    const bad = run(['--rev', 'no-such-revision']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('diff failed: --rev "no-such-revision": names no commit of this repository; name a commit, branch or tag, e.g. --rev main~1\n');
  });
});
