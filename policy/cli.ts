/**
 * `npm run policy`: checks the rendered dist/ (or --dir) against every rule; exits 1 on any
 * violation. `--exceptions` lists every declared exception with its reason and granting profile.
 *
 *   npm run policy                         check dist/ rendered from the default model
 *   npm run policy -- --config FILE        ... rendered from FILE (the model drives consistency)
 *   npm run policy -- --dir DIR            check another rendered folder
 *   npm run policy -- --exceptions         list the exceptions
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { projectRoot } from '../cli/project-root';
import { readTree, recoverAll } from '../cli/dist';
import { withLock } from '../cli/transaction.mjs';
import { ConfigError, loadDefaultPlatform, loadPlatformFile } from '../config';
import { declaredExceptions } from './exceptions';
import { checkPolicy, formatViolation, policyInput } from './index';

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, dir: { type: 'string' }, exceptions: { type: 'boolean' } },
    strict: true,
  });
  const platform = values.config ? loadPlatformFile(values.config) : loadDefaultPlatform();
  const root = projectRoot(dirname(fileURLToPath(import.meta.url)));
  const dir = values.dir ? resolve(values.dir) : join(root, 'dist');
  // A commit a kill interrupted is finished first: the gate checks a consistent dist/.
  const files = withLock(root, 'npm run policy', () => {
    const recovered = recoverAll(root, dir);
    if (recovered) console.error(recovered);
    return readTree(dir);
  });
  if (files.size === 0) throw new Error(`${dir} holds no rendered files; run npm run synth first`);
  const input = policyInput(files, platform);

  if (values.exceptions) {
    const declared = declaredExceptions(input.objects, input.stacks);
    for (const e of declared) console.log(`${e.rule}  ${e.ref}  ${e.reason}  [${e.component ?? 'NOT GRANTED by policy/exceptions.ts'}]`);
    console.log(`${declared.length} declared exception${declared.length === 1 ? '' : 's'}`);
    return 0;
  }

  const violations = checkPolicy(input);
  for (const v of violations) console.log(formatViolation(v));
  const summary = `${input.objects.length} Kubernetes objects, ${input.stacks.length} Terraform stacks, ${files.size} files checked`;
  if (violations.length) {
    console.error(`${violations.length} policy violation${violations.length === 1 ? '' : 's'} (${summary})`);
    return 1;
  }
  console.log(`no policy violations (${summary})`);
  return 0;
}

/**
 * The whole command: runs it with these arguments, prints the violations (or the exceptions) as
 * the CLI does and returns the exit code. Exported so tests can run it in-process
 * (test/policy/*.test.ts); the entry below calls it.
 */
export function runPolicy(argv: string[]): number {
  try {
    return main(argv);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `policy check failed: ${(error as Error).message}`);
    return 1;
  }
}

// Only as the entry (`node cli/launch.mjs policy/cli.ts`): a test that imports the module must not
// run the command with the test runner's argv.
if (/(^|[\\/])(launch\.mjs|cli\.ts)$/.test(process.argv[1] ?? '')) process.exitCode = runPolicy(process.argv.slice(2));
