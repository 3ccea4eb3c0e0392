// Runs a TypeScript entry of this project without type-checking and without a loader hook:
// esbuild bundles our own sources (never node_modules) into one CommonJS file, which plain Node
// runs. A loader such as tsx intercepts every module node_modules loads and doubles the render
// time. CommonJS, because the provider packages are imported by folder
// (`@cdktf/provider-aws/lib/instance`), which ES module resolution refuses.
//
// The bundle is cached in .build/ and rebuilt when any of its source files changed (size or
// mtime), so a repeated render does not even load esbuild.
//   node cli/launch.mjs main.ts [args...]
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverBeforeLaunch } from './transaction.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: node cli/launch.mjs ENTRY.ts [args...]');
  process.exit(2);
}
const cacheDir = join(root, '.build');
const name = basename(entry, '.ts');
const bundle = join(cacheDir, `${name}.cjs`);
const stampFile = join(cacheDir, `${name}.inputs.json`);

/** `path size mtime` for every input of the last build; any change means rebuild. */
function fingerprint(inputs) {
  return inputs
    .map((input) => {
      const path = resolve(root, input);
      if (!existsSync(path)) return `${input} missing`;
      const stat = statSync(path);
      return `${input} ${stat.size} ${stat.mtimeMs}`;
    })
    .join('\n');
}

function cacheIsFresh() {
  if (!existsSync(bundle) || !existsSync(stampFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    return stamp.fingerprint === fingerprint(stamp.inputs);
  } catch {
    return false;
  }
}

async function rebuild() {
  const { build } = await import('esbuild');
  mkdirSync(cacheDir, { recursive: true });
  // Unique temporary names, then renames: parallel renders (tests) never see a half-written file.
  const tmp = join(cacheDir, `${name}.${process.pid}.tmp.cjs`);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    outfile: tmp,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    metafile: true,
    logLevel: 'error',
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  const stampTmp = join(cacheDir, `${name}.${process.pid}.tmp.json`);
  writeFileSync(stampTmp, JSON.stringify({ inputs, fingerprint: fingerprint(inputs) }));
  renameSync(tmp, bundle);
  renameSync(stampTmp, stampFile);
}

// Before the build: a deploy that a kill interrupted is finished first, so the bundle is built from
// the model that matches dist/ (cli/transaction.mjs).
try {
  const recovered = recoverBeforeLaunch(root, `node cli/launch.mjs ${entry}`);
  if (recovered) console.error(recovered);
} catch (error) {
  console.error(`${entry}: ${error.message}`);
  process.exit(1);
}

try {
  if (!cacheIsFresh()) await rebuild();
} catch (error) {
  rmSync(join(cacheDir, `${name}.${process.pid}.tmp.cjs`), { force: true });
  // esbuild has printed each error with its file and line (a broken config/app-images.json, a
  // syntax error): a stack trace of esbuild itself would only hide them.
  if (!Array.isArray(error?.errors)) throw error;
  console.error(`${entry}: cannot be built; nothing was changed:\n${error.errors.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : ''}${e.text}`).join('\n')}`);
  process.exit(1);
}
process.argv.splice(2, 1);
// The bundle was read into memory before another process could replace it: require() is synchronous.
createRequire(import.meta.url)(bundle);
