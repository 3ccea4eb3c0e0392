/**
 * The one entry point. `npm run synth` renders the whole platform into `dist/`:
 *   config (validated once) -> cdk8s charts + cdktf stacks (one process) -> staging folder ->
 *   verification -> atomic swap into dist/.
 * The cdk8s and cdktf CLIs run this same file (see cdk8s.yaml and cdktf.json) and get the same files.
 *
 *   npm run synth                          render the default platform (config/default.ts)
 *   npm run synth -- --config FILE         render the platform described by a YAML or JSON file
 *   npm run synth -- --print-config        print the default model as YAML and exit
 *   npm run check                          render into a temporary folder and compare with dist/
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadDefaultPlatform, loadPlatformFile, platformToYaml } from './config';
import { diffTrees, readTree, recoverInterruptedSwap, swapIn, writeStaging } from './cli/dist';
import { renderWithObjects } from './cli/render';
import { verifyRender } from './cli/verify';

/** The project root: the nearest folder above this file with a package.json (also when bundled). */
const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

const USAGE = `usage: npm run synth -- [--config FILE] [--out DIR] [--print-config] [--check] [--stats]
  --config FILE    render the platform described by FILE (YAML or JSON) instead of the default
  --out DIR        write the render into DIR instead of dist/
  --print-config   print the effective model as YAML and exit
  --check          render into a temporary folder and compare it with dist/ (exit 1 on drift)
  --stats          print the render time and peak memory on stderr`;

function distDirFromEnvironment(out: string | undefined): string {
  if (out) return resolve(out);
  // `cdk8s synth` passes its output folder (the whole dist/); `cdktf synth` passes dist/terraform.
  if (process.env.CDK8S_OUTDIR) return resolve(process.env.CDK8S_OUTDIR);
  if (process.env.CDKTF_OUTDIR) {
    const outdir = resolve(process.env.CDKTF_OUTDIR);
    if (!outdir.endsWith(`${join('/', 'terraform')}`)) {
      throw new Error(`CDKTF_OUTDIR: "${process.env.CDKTF_OUTDIR}": must end in /terraform (set "output": "dist/terraform" in cdktf.json)`);
    }
    return dirname(outdir);
  }
  return join(PROJECT_ROOT, 'dist');
}

function main(argv: string[]): number {
  const started = performance.now();
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      'print-config': { type: 'boolean' },
      check: { type: 'boolean' },
      stats: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const platform = values.config ? loadPlatformFile(values.config) : loadDefaultPlatform();
  if (values['print-config']) {
    process.stdout.write(platformToYaml(platform));
    return 0;
  }

  const { files, objects } = renderWithObjects(platform);
  const problems = verifyRender(files, objects);
  if (problems.length) {
    throw new Error(`the render failed its checks; dist/ was not changed:\n  ${problems.join('\n  ')}`);
  }

  const distDir = distDirFromEnvironment(values.out);
  if (values.check) {
    const committed = readTree(distDir);
    const drift = diffTrees(files, committed);
    if (drift.length) {
      console.error(`${distDir} differs from a fresh render (${drift.length} file${drift.length === 1 ? '' : 's'}); run \`npm run synth\` and commit dist/:`);
      for (const line of drift) console.error(`  ${line}`);
      return 1;
    }
    console.log(`${distDir} matches a fresh render (${files.size} files)`);
    return 0;
  }

  recoverInterruptedSwap(distDir);
  const staging = writeStaging(files, distDir);
  try {
    swapIn(staging, distDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  console.log(`rendered ${files.size} files into ${distDir}`);
  if (values.stats) {
    const ms = performance.now() - started;
    console.error(JSON.stringify({ renderMs: Math.round(ms), maxRssKiB: process.resourceUsage().maxRSS }));
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(error as Error).message}\n${USAGE}`);
  } else {
    console.error(`synth failed; dist/ was not changed: ${(error as Error).message}`);
    if (process.env.DEBUG) console.error(error);
  }
  process.exitCode = 1;
}

