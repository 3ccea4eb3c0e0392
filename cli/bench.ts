/**
 * `npm run bench`: how long the full render takes as a whole process, against the floor, a Node
 * process that only loads cdk8s, cdk8s-plus-28, cdktf and the provider modules the project uses.
 * Median of RUNS runs after one warm-up; peak RSS of the render is read from its own stats.
 * Targets (2-core machine): render <= 2x the floor, <= 1.5 s, peak RSS <= 300 MB.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const LIMITS = { ratio: 2, renderMs: 1500, rssMiB: 300 };

/** Provider modules imported anywhere in the project's sources, by their deep path. */
function providerModules(): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) {
        for (const match of readFileSync(full, 'utf8').matchAll(/from '(@cdktf\/provider-[a-z]+\/lib\/[a-z0-9-]+)'/g)) found.add(match[1]);
      }
    }
  };
  for (const dir of ['infra', 'charts', 'config', 'cli']) walk(join(ROOT, dir));
  return [...found].sort();
}

function timeRun(args: string[]): { ms: number; stderr: string } {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed:\n${result.stderr}`);
  return { ms, stderr: result.stderr };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const modules = ['cdk8s', 'cdk8s-plus-28', 'cdktf', ...providerModules()];
const floorArgs = ['-e', modules.map((m) => `require(${JSON.stringify(m)});`).join('')];
const out = mkdtempSync(join(tmpdir(), 'platform-bench-'));
const renderArgs = ['cli/launch.mjs', 'main.ts', '--out', join(out, 'dist'), '--stats'];

try {
  timeRun(floorArgs);
  timeRun(renderArgs);
  const floor: number[] = [];
  const render: number[] = [];
  let rssKiB = 0;
  for (let i = 0; i < RUNS; i++) {
    floor.push(timeRun(floorArgs).ms);
    const run = timeRun(renderArgs);
    render.push(run.ms);
    const stats = JSON.parse(run.stderr.trim().split('\n').pop() ?? '{}') as { maxRssKiB?: number };
    rssKiB = Math.max(rssKiB, stats.maxRssKiB ?? 0);
  }
  const floorMs = median(floor);
  const renderMs = median(render);
  const ratio = renderMs / floorMs;
  const rssMiB = rssKiB / 1024;
  console.log(`floor  (load ${modules.length} modules): ${floorMs.toFixed(0)} ms median of ${RUNS}`);
  console.log(`render (full synth, whole process): ${renderMs.toFixed(0)} ms median of ${RUNS}`);
  console.log(`ratio: ${ratio.toFixed(2)}x   peak RSS: ${rssMiB.toFixed(0)} MiB`);
  const failures = [
    ratio > LIMITS.ratio && `ratio ${ratio.toFixed(2)}x is above ${LIMITS.ratio}x`,
    renderMs > LIMITS.renderMs && `render ${renderMs.toFixed(0)} ms is above ${LIMITS.renderMs} ms`,
    rssMiB > LIMITS.rssMiB && `peak RSS ${rssMiB.toFixed(0)} MiB is above ${LIMITS.rssMiB} MiB`,
  ].filter(Boolean);
  if (failures.length) {
    console.error(`over budget: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`within budget (ratio <= ${LIMITS.ratio}x, render <= ${LIMITS.renderMs} ms, RSS <= ${LIMITS.rssMiB} MiB)`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
