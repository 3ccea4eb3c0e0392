import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, readTree, recoverInterruptedSwap, swapIn, writeStaging } from '../../cli/dist';

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('writing dist/', () => {
  it('swaps a staged render in and drops what the old one had', () => {
    const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
    const dist = join(root, 'dist');
    swapIn(writeStaging(files({ 'a/old.yaml': 'old\n' }), dist), dist);
    swapIn(writeStaging(files({ 'a/new.yaml': 'new\n' }), dist), dist);
    expect(readTree(dist)).toEqual(files({ 'a/new.yaml': 'new\n' }));
    expect(existsSync(join(root, '.dist-previous-dist'))).toBe(false);
  });

  it('puts the previous dist/ back when a run died between the two renames', () => {
    const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
    const previous = join(root, '.dist-previous-dist');
    mkdirSync(previous);
    writeFileSync(join(previous, 'kept.yaml'), 'kept\n');
    recoverInterruptedSwap(join(root, 'dist'));
    expect(readTree(join(root, 'dist'))).toEqual(files({ 'kept.yaml': 'kept\n' }));
  });

  it('removes staging folders of processes that no longer run, and keeps live ones', () => {
    const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
    const dead = join(root, '.synth-staging-999999999-dist');
    const live = join(root, `.synth-staging-${process.pid}-dist`);
    mkdirSync(dead);
    mkdirSync(live);
    recoverInterruptedSwap(join(root, 'dist'));
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it("keeps the operator's Terraform state, lock file and plugins across a swap, outside the render", () => {
    const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
    const dist = join(root, 'dist');
    swapIn(writeStaging(files({ 'terraform/state/cdk.tf.json': '{}\n' }), dist), dist);
    writeFileSync(join(dist, 'terraform/state/terraform.tfstate'), 'state\n');
    writeFileSync(join(dist, 'terraform/state/.terraform.lock.hcl'), 'lock\n');
    mkdirSync(join(dist, 'terraform/state/.terraform/providers'), { recursive: true });
    swapIn(writeStaging(files({ 'terraform/state/cdk.tf.json': '{"v":2}\n' }), dist), dist);
    expect(readFileSync(join(dist, 'terraform/state/terraform.tfstate'), 'utf8')).toBe('state\n');
    expect(readFileSync(join(dist, 'terraform/state/.terraform.lock.hcl'), 'utf8')).toBe('lock\n');
    expect(existsSync(join(dist, 'terraform/state/.terraform/providers'))).toBe(true);
    // They are not part of the render: the drift check does not see them.
    expect(readTree(dist)).toEqual(files({ 'terraform/state/cdk.tf.json': '{"v":2}\n' }));
  });

  it("recovers the operator's state from the previous dist/ when a run died after the swap", () => {
    const root = mkdtempSync(join(tmpdir(), 'dist-test-'));
    const previous = join(root, '.dist-previous-dist');
    mkdirSync(join(previous, 'terraform/state'), { recursive: true });
    writeFileSync(join(previous, 'terraform/state/terraform.tfstate'), 'state\n');
    mkdirSync(join(root, 'dist/terraform/state'), { recursive: true });
    recoverInterruptedSwap(join(root, 'dist'));
    expect(readFileSync(join(root, 'dist/terraform/state/terraform.tfstate'), 'utf8')).toBe('state\n');
    expect(existsSync(previous)).toBe(false);
  });

  it('names added, removed and changed files in the drift report', () => {
    expect(diffTrees(files({ a: '1', b: '2', c: '3' }), files({ b: '2', c: 'x', d: '4' }))).toEqual([
      '+ a (missing from the committed dist/)',
      '~ c',
      '- d (stale: a fresh render no longer produces it)',
    ]);
  });
});
