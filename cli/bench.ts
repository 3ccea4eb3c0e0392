/**
 * `npm run bench`: how long the full render takes as a whole process, against the floor, a Node
 * process that only loads cdk8s, cdk8s-plus-28, cdktf and the provider modules the project uses.
 * Median of RUNS runs after one warm-up; peak RSS of the render is read from its own stats.
 * Then how the render grows: the seed scaled to more apps and environments, rendered in this
 * process (median of SCALE_RUNS each), and the cost of one more app-environment in the upper half
 * of the sizes against the lower half.
 * Targets (2-core machine, issue 19 and docs/decisions/0126-render-budget.md): the seed renders in
 * <= 1.2 s as a whole process, peak RSS <= 300 MB, and the render is linear in apps x
 * environments (upper-half cost per app-environment <= 1.5x the lower half's). The ratio to the
 * floor is shown, not judged.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SCALE_RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 5);
const LIMITS = { renderMs: 1200, rssMiB: 300, superlinear: 1.5 };
/** Sizes of the scaled model (apps, environments): 3 to 96 app-environments, both dimensions grow. */
const SIZES: readonly (readonly [number, number])[] = [
  [1, 3],
  [4, 3],
  [8, 3],
  [8, 6],
  [16, 6],
];

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

/**
 * The seed with `apps` copies of its app (each with its own Harbor project, as the model requires)
 * in `environments` environments (dev, staging, prod, then qa1, qa2, ...), validated by the schema.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a model copy edited by key
function scaledSeed(defaultModel: Record<string, any>, validate: (input: unknown, source: string) => unknown, apps: number, environments: number) {
  const model = structuredClone(defaultModel);
  const envs = ['dev', 'staging', 'prod', ...Array.from({ length: Math.max(0, environments - 3) }, (_, i) => `qa${i + 1}`)].slice(0, environments);
  model.environments = Object.fromEntries(envs.map((env) => [env, { certificateIssuer: 'letsencrypt-prod' }]));
  const [[seedName, seedApp]] = Object.entries(model.apps as Record<string, any>);
  const envOf = (env: string) => seedApp.environments[env] ?? seedApp.environments.dev;
  model.apps = Object.fromEntries(
    Array.from({ length: apps }, (_, i) => {
      const name = i === 0 ? seedName : `${seedName}${i + 1}`;
      const app = {
        ...seedApp,
        repository: `apps/${name}`,
        image: i === 0 ? seedApp.image : `${name}/${name}`,
        environments: Object.fromEntries(envs.map((env) => [env, { ...envOf(env), host: `${name}-${env}.${model.domain}` }])),
      };
      return [name, app];
    }),
  );
  return validate(model, `the seed scaled to ${apps} apps x ${environments} environments`);
}

/** Renders the scaled seeds in this process; returns the upper-half to lower-half cost ratio. */
async function scaling(): Promise<number> {
  const { defaultPlatform } = await import('../config/default');
  const { validatePlatform } = await import('../config');
  const { renderPlatform } = await import('./render');
  const models = SIZES.map(([apps, environments]) => scaledSeed(defaultPlatform, validatePlatform, apps, environments) as Parameters<typeof renderPlatform>[0]);
  // Warm the JIT on every size first: otherwise the first sizes measured pay the compilation.
  for (let i = 0; i < 2; i++) models.forEach((model) => renderPlatform(model));
  const rows = SIZES.map(([apps, environments], index) => {
    const model = models[index];
    let files = 0;
    const times: number[] = [];
    for (let i = 0; i < SCALE_RUNS; i++) {
      const start = performance.now();
      files = renderPlatform(model).size;
      times.push(performance.now() - start);
    }
    return { apps, environments, units: apps * environments, files, ms: median(times) };
  });
  console.log(`\nrender in this process, median of ${SCALE_RUNS}:`);
  console.log('apps  envs  app-envs  files      ms  ms per added app-env');
  rows.forEach((row, i) => {
    const previous = rows[i - 1];
    const marginal = previous ? ((row.ms - previous.ms) / (row.units - previous.units)).toFixed(1) : '';
    console.log(`${String(row.apps).padStart(4)}  ${String(row.environments).padStart(4)}  ${String(row.units).padStart(8)}  ${String(row.files).padStart(5)}  ${row.ms.toFixed(0).padStart(6)}  ${marginal.padStart(20)}`);
  });
  // Cost per app-environment from the smallest to the middle size, and from the middle to the largest.
  const [first, middle, last] = [rows[0], rows[Math.floor(rows.length / 2)], rows[rows.length - 1]];
  const lower = (middle.ms - first.ms) / (middle.units - first.units);
  const upper = (last.ms - middle.ms) / (last.units - middle.units);
  const growth = upper / Math.max(lower, 0.1);
  console.log(`per app-environment: ${lower.toFixed(1)} ms (${first.units}-${middle.units}), ${upper.toFixed(1)} ms (${middle.units}-${last.units}): ${growth.toFixed(2)}x`);
  return growth;
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
  console.log(`ratio to the floor: ${ratio.toFixed(2)}x   peak RSS: ${rssMiB.toFixed(0)} MiB`);

  const growth = await scaling();
  const failures = [
    renderMs > LIMITS.renderMs && `render ${renderMs.toFixed(0)} ms is above ${LIMITS.renderMs} ms`,
    rssMiB > LIMITS.rssMiB && `peak RSS ${rssMiB.toFixed(0)} MiB is above ${LIMITS.rssMiB} MiB`,
    growth > LIMITS.superlinear && `an app-environment costs ${growth.toFixed(2)}x more in the upper half of the sizes than in the lower (above ${LIMITS.superlinear}x: not linear)`,
  ].filter(Boolean);
  if (failures.length) {
    console.error(`over budget: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`within budget (render <= ${LIMITS.renderMs} ms, RSS <= ${LIMITS.rssMiB} MiB, linear in apps x environments)`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
