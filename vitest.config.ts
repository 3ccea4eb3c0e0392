import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Speed without losing a check (docs/decisions/0096-test-run-speed.md):
// - isolate: false: a worker keeps its module cache from file to file, so cdk8s, cdktf, the
//   providers and our sources load once per worker, and test/support/render.ts renders the
//   default platform once per worker instead of once per file. The fixtures hand out copies, and
//   every file that changes process state (environment, spies) restores it in the same file.
// - at least two workers: vitest's default is cores - 1, one worker on a 2-core machine, which runs
//   the files one after another while most of them wait on child processes (renders, validators).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Whole-render tests spawn real renders and CLIs; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    isolate: false,
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
  },
});
