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
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { ConfigError, loadDefaultPlatform, parsePlatformText, platformToYaml, readModelFile, type Platform } from './config';
import { APP_IMAGE_TAGS_FILE, DEFAULT_IMAGE_TAGS } from './config/app-images';
import { checkOutputTarget, commitRender, diffTrees, markerText, OutputTargetError, readTree, recoverAll, RENDER_MARKER } from './cli/dist';
import { withLock } from './cli/transaction.mjs';
import { renderWithObjects } from './cli/render';
import { verifyRender } from './cli/verify';
import { projectRoot } from './cli/project-root';

/** The project root (also when bundled into .build/). */
const PROJECT_ROOT = projectRoot(dirname(fileURLToPath(import.meta.url)));

const USAGE = `usage: npm run synth -- [--config FILE] [--out DIR] [--print-config] [--check] [--stats]
  --config FILE    render the platform described by FILE (YAML or JSON) instead of the default
  --out DIR        write the render into DIR instead of dist/
  --print-config   print the effective model as YAML and exit
  --check          render into a temporary folder and compare it with dist/ (exit 1 on drift)
  --stats          print the render time and peak memory on stderr`;

/** The output folder, and where it came from (for messages). */
function distDirFromEnvironment(out: string | undefined, env: NodeJS.ProcessEnv): { readonly dir: string; readonly source: string } {
  if (out) return { dir: resolve(out), source: '--out' };
  // `cdk8s synth` passes its output folder (the whole dist/); `cdktf synth` passes dist/terraform.
  if (env.CDK8S_OUTDIR) return { dir: resolve(env.CDK8S_OUTDIR), source: 'CDK8S_OUTDIR' };
  if (env.CDKTF_OUTDIR) {
    const outdir = resolve(env.CDKTF_OUTDIR);
    if (!outdir.endsWith(`${join('/', 'terraform')}`)) {
      throw new Error(`CDKTF_OUTDIR: "${env.CDKTF_OUTDIR}": must end in /terraform (set "output": "dist/terraform" in cdktf.json)`);
    }
    return { dir: dirname(outdir), source: 'CDKTF_OUTDIR' };
  }
  return { dir: join(PROJECT_ROOT, 'dist'), source: '' };
}

/**
 * The model this process rendered must still be the one on disk when it writes: a deploy
 * (`npm run set-image`) that committed in between would otherwise be overwritten in dist/.
 */
function checkModelUnchanged(configFile: string | undefined, renderedText: string | undefined): void {
  const changed = (file: string) =>
    new Error(`${file} changed while this command ran (another command wrote it, e.g. npm run set-image); run it again to use the new model`);
  if (configFile) {
    if (readModelFile(configFile) !== renderedText) throw changed(configFile);
    return;
  }
  const file = join(PROJECT_ROOT, APP_IMAGE_TAGS_FILE);
  let onDisk: unknown;
  try {
    onDisk = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw changed(APP_IMAGE_TAGS_FILE);
  }
  if (!isDeepStrictEqual(onDisk, DEFAULT_IMAGE_TAGS)) throw changed(APP_IMAGE_TAGS_FILE);
}

function main(argv: string[], env: NodeJS.ProcessEnv): number {
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

  const configText = values.config ? readModelFile(values.config) : undefined;
  const platform: Platform = values.config ? parsePlatformText(configText!, values.config) : loadDefaultPlatform();
  if (values['print-config']) {
    process.stdout.write(platformToYaml(platform));
    return 0;
  }

  const { dir: distDir, source } = distDirFromEnvironment(values.out, env);
  // Fail fast on a folder a render must not replace, before a second of rendering; checked again
  // under the lock, where it counts.
  if (!values.check) checkOutputTarget(distDir, PROJECT_ROOT, source);

  const { files, objects } = renderWithObjects(platform);
  const problems = verifyRender(files, objects);
  if (problems.length) {
    throw new Error(`the render failed its checks; dist/ was not changed:\n  ${problems.join('\n  ')}`);
  }

  const command = values.check ? 'npm run check' : 'npm run synth';
  const outcome = withLock(PROJECT_ROOT, command, () => {
    const recovered = recoverAll(PROJECT_ROOT, distDir);
    if (recovered) console.error(recovered);
    checkModelUnchanged(values.config, configText);
    if (values.check) {
      const drift = diffTrees(files, readTree(distDir));
      const marker = join(distDir, RENDER_MARKER);
      if (!existsSync(marker) || readFileSync(marker, 'utf8') !== markerText(files)) drift.push(`~ ${RENDER_MARKER} (the render marker)`);
      return drift;
    }
    checkOutputTarget(distDir, PROJECT_ROOT, source);
    commitRender(PROJECT_ROOT, command, files, distDir);
    return [];
  });
  if (values.check) {
    if (outcome.length) {
      console.error(`${distDir} differs from a fresh render (${outcome.length} file${outcome.length === 1 ? '' : 's'}); run \`npm run synth\` and commit dist/:`);
      for (const line of outcome) console.error(`  ${line}`);
      return 1;
    }
    console.log(`${distDir} matches a fresh render (${files.size} files)`);
    return 0;
  }
  console.log(`rendered ${files.size} files into ${distDir}`);
  if (values.stats) {
    const ms = performance.now() - started;
    console.error(JSON.stringify({ renderMs: Math.round(ms), maxRssKiB: process.resourceUsage().maxRSS }));
  }
  return 0;
}

/**
 * The whole command: runs it with these arguments and environment against this project, prints
 * what it did (or why it refused) on stdout/stderr as the CLI does, and returns the exit code.
 * Exported so tests can run refusals and renders in-process (test/main.test.ts); the entry below
 * calls it.
 */
export function runSynth(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  try {
    return main(argv, env);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof OutputTargetError) {
      console.error(error.message);
    } else if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n${USAGE}`);
    } else if ((error as { committed?: boolean }).committed) {
      console.error(`synth interrupted: ${(error as Error).message}`);
    } else {
      console.error(`synth failed; dist/ was not changed: ${(error as Error).message}`);
      if (process.env.DEBUG) console.error(error);
    }
    return 1;
  }
}

// Only as the entry (`node cli/launch.mjs main.ts`, which the npm scripts, cdk8s.yaml and
// cdktf.json run): a test that imports the module must not run the command with its own argv.
if (/(^|[\\/])(launch\.mjs|main\.ts)$/.test(process.argv[1] ?? '')) process.exitCode = runSynth(process.argv.slice(2));
