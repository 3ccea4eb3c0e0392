/**
 * `npm run set-image`: deploy an image tag to one environment of one app, as the delivery
 * pipeline does (and a person can, e.g. to roll back). It edits the model, renders the whole
 * platform again, checks the render, and only then writes the model and swaps `dist/`; Argo CD
 * deploys the change once it is pushed.
 *
 *   npm run set-image -- --app hello --env dev --tag 3f9c2d1...
 *   npm run set-image -- --app hello --env dev --tag 3f9c2d1... --digest sha256:...   (what the pipeline runs)
 *   npm run set-image -- --config platform.yaml --app hello --env prod --tag 3f9c2d1...
 *   npm run set-image -- ... --out DIR        render into DIR instead of dist/
 *
 * Where the tag is written: with the default model, config/app-images.json (config/default.ts
 * reads its tags from there); with `--config FILE`, `apps.<app>.environments.<env>.tag` in FILE
 * (YAML keeps its comments and layout). See docs/decisions/0042-image-tags-file.md. With
 * `--digest`, the digest is written next to the tag (`{"tag", "digest"}` in the JSON file,
 * `digest:` beside `tag:` in FILE) and the Deployment runs `repo:tag@digest`; without it an
 * environment that has a digest is refused, so a tag never runs with another image's digest
 * (docs/decisions/0107-deploy-by-digest.md).
 *
 * A bad app, environment or tag, an invalid model or a failed render is a clear error and changes
 * nothing. Exit codes: 0 done (or the environment already runs that tag), 1 refused, 2 usage.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isAlias, isMap, isScalar, parseDocument, stringify } from 'yaml';
import {
  checkImageTags,
  ConfigError,
  defaultPlatform,
  echo,
  imageDigestSchema,
  imageTagSchema,
  readModelFile,
  validatePlatform,
  type Platform,
} from '../config';
import { APP_IMAGE_TAGS_FILE, DEFAULT_IMAGE_TAGS, entryParts, imageTagsToJson, type ImageEntry, type ImageTags } from '../config/app-images';
import { checkOutputTarget, commitRender, OutputTargetError, readTree, recoverAll } from './dist';
import { processAlive, withLock } from './transaction.mjs';
import { renderWithObjects } from './render';
import { formatDiff, semanticDiff } from './semantic-diff';
import { verifyRender } from './verify';
import { projectRoot } from './project-root';

const USAGE = `usage: npm run set-image -- --app NAME --env ENV --tag TAG [--digest sha256:HEX] [--config FILE] [--out DIR]
  --app NAME      an app of the model (apps.NAME)
  --env ENV       one of its environments
  --tag TAG       the image tag to deploy there (the commit SHA the pipeline built)
  --digest D      its digest, sha256:<64 hex> (what the pipeline pushed and the scan approved)
  --config FILE   the model file to edit instead of the default model (config/app-images.json)
  --out DIR       render into DIR instead of dist/`;

/** A refusal: the message says what is wrong and how to fix it; nothing was changed. */
class SetImageError extends Error {}

/** What to change, after the arguments were checked against the model. */
interface SetImageRequest {
  readonly app: string;
  readonly env: string;
  readonly tag: string;
  readonly digest?: string;
}

/** How a tag and digest read in reports: `tag` or `tag@sha256:...`. */
function imageLabel(tag: string, digest?: string): string {
  return digest ? `${tag}@${digest}` : tag;
}

/** The edited model file (its path and new text) and the model it describes. */
interface ModelEdit {
  readonly file: string;
  readonly text: string;
  readonly platform: Platform;
  /** The tag (and digest) the environment had before. */
  readonly previous: string;
  /** The edited value inside the file, for the report. */
  readonly field: string;
}

/** Checks app, environment and tag against a valid model; throws SetImageError naming the flag. */
function checkRequest(platform: Platform, request: SetImageRequest, source: string): void {
  // Own entries only: "constructor" or "__proto__" is no app and no environment.
  if (!Object.hasOwn(platform.apps, request.app)) {
    const apps = Object.keys(platform.apps);
    throw new SetImageError(`--app ${echo(request.app)}: no such app in ${source}; ${apps.length ? `choose one of: ${apps.join(', ')}` : 'it declares no apps'}`);
  }
  const app = platform.apps[request.app];
  if (!Object.hasOwn(app.environments, request.env)) {
    throw new SetImageError(`--env ${echo(request.env)}: app ${request.app} has no such environment; choose one of: ${Object.keys(app.environments).join(', ')}`);
  }
  const tag = imageTagSchema.safeParse(request.tag);
  if (!tag.success) throw new SetImageError(`--tag ${echo(request.tag)}: ${tag.error.issues.map((i) => i.message).join('; ')}`);
  if (request.digest !== undefined) {
    const digest = imageDigestSchema.safeParse(request.digest);
    if (!digest.success) throw new SetImageError(`--digest ${echo(request.digest)}: ${digest.error.issues.map((i) => i.message).join('; ')}`);
  }
}

/** A tag without a digest where the environment has one would run the new tag with the old image's digest. */
function refuseLosingDigest(request: SetImageRequest, where: string, current: string | undefined): void {
  if (request.digest === undefined && current !== undefined) {
    throw new SetImageError(
      `--digest: (missing): ${where} has a digest, and the new tag would run with it; pass the new image's digest (crane digest <image>:${request.tag} prints it), or remove the digest by hand to deploy by tag alone`,
    );
  }
}

/** The default model with its tags from `tags` (the file on disk) and the request applied. */
function editDefaultModel(root: string, request: SetImageRequest): ModelEdit {
  const file = join(root, APP_IMAGE_TAGS_FILE);
  let data: unknown;
  try {
    data = JSON.parse(readModelFile(file, 'set-image'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(APP_IMAGE_TAGS_FILE, [`(file): is not valid JSON: ${(error as Error).message.split('\n')[0]}; fix it or restore it with git checkout ${APP_IMAGE_TAGS_FILE}`]);
  }
  const tags = checkImageTags(data, APP_IMAGE_TAGS_FILE);
  // config/default.ts must take every tag from the file, or editing the file would change nothing.
  for (const [app, spec] of Object.entries(defaultPlatform.apps)) {
    for (const [env, deployment] of Object.entries(spec.environments)) {
      const entry = entryParts(DEFAULT_IMAGE_TAGS[app]?.[env]);
      if (deployment.tag !== entry.tag) {
        throw new SetImageError(`config/default.ts: apps.${app}.environments.${env}.tag is not read from ${APP_IMAGE_TAGS_FILE}; use imageTagOf('${app}', '${env}') so set-image can change it`);
      }
      if (deployment.digest !== entry.digest) {
        throw new SetImageError(`config/default.ts: apps.${app}.environments.${env}.digest is not read from ${APP_IMAGE_TAGS_FILE}; spread ...imageDigestOf('${app}', '${env}') into it so set-image can change it`);
      }
    }
  }
  const model = structuredClone(defaultPlatform);
  checkRequest(validatePlatform(structuredClone(model), 'config/default.ts'), request, 'the default model');
  if (!Object.hasOwn(tags, request.app) || !Object.hasOwn(tags[request.app], request.env)) {
    throw new SetImageError(`${APP_IMAGE_TAGS_FILE}: has no tag for ${request.app} in ${request.env}; add "${request.app}": { "${request.env}": "<tag>" } to it`);
  }
  const previous = entryParts(tags[request.app][request.env]);
  refuseLosingDigest(request, `${APP_IMAGE_TAGS_FILE} (${request.app}.${request.env})`, previous.digest);
  const entry: ImageEntry = request.digest ? { tag: request.tag, digest: request.digest } : request.tag;
  const edited: ImageTags = { ...tags, [request.app]: { ...tags[request.app], [request.env]: entry } };
  for (const [app, spec] of Object.entries(model.apps)) {
    for (const env of Object.keys(spec.environments)) {
      if (!Object.hasOwn(edited, app) || !Object.hasOwn(edited[app], env)) continue;
      const { tag, digest } = entryParts(edited[app][env]);
      spec.environments[env].tag = tag;
      if (digest === undefined) delete spec.environments[env].digest;
      else spec.environments[env].digest = digest;
    }
  }
  return {
    file,
    text: imageTagsToJson(edited),
    platform: validatePlatform(model, 'config/default.ts'),
    previous: imageLabel(previous.tag, previous.digest),
    field: `${request.app}.${request.env}`,
  };
}

/**
 * A model file (YAML or JSON) with the request applied. Only the tag's own characters change:
 * the new scalar replaces the old one at its offsets in the text, so comments, layout and every
 * other line stay byte for byte as they were.
 */
function editModelFile(file: string, request: SetImageRequest): ModelEdit {
  const text = readModelFile(file);
  const json = file.endsWith('.json');
  // JSON is YAML too: one parser gives both formats their node offsets.
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length) throw new SetImageError(`--config ${file}: is not valid ${json ? 'JSON' : 'YAML'}: ${document.errors[0].message.split('\n')[0]}`);
  const path = ['apps', request.app, 'environments', request.env, 'tag'];
  // Walk the path node by node: an anchored or aliased node is shared with other places, and
  // editing it would deploy to environments nobody asked for (prod, without approval).
  let node: unknown = document.contents;
  for (let depth = 0; ; depth++) {
    const where = depth === 0 ? 'the document' : path.slice(0, depth).join('.');
    if (isAlias(node)) throw new SetImageError(`--config ${file}: ${where} is an alias (*${node.source}) of a value shared with other places; write it out in full so only ${request.app} in ${request.env} changes`);
    const anchor = (node as { anchor?: string } | undefined)?.anchor;
    if (anchor) throw new SetImageError(`--config ${file}: ${where} is anchored (&${anchor}) and may be shared with other places; write it out in full so only ${request.app} in ${request.env} changes`);
    if (depth === path.length) break;
    if (!isMap(node)) break;
    node = node.items.find((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === path[depth])?.value;
  }
  // After the walk: a shared node is refused first, even where sharing also breaks the model.
  checkRequest(validatePlatform(document.toJS(), file), request, file);
  if (!isScalar(node) || !node.range) throw new SetImageError(`--config ${file}: ${path.join('.')} is not a plain value; write it as "tag: <value>"`);
  const scalarText = (value: string) => (json ? JSON.stringify(value) : stringify(value, { lineWidth: 0 }).trimEnd());
  // Replacements at offsets of the original text, applied from the last one backwards.
  const edits: { start: number; end: number; text: string }[] = [{ start: node.range[0], end: node.range[1], text: scalarText(request.tag) }];

  // The digest beside the tag: replaced in place, or added after the tag (same indentation, or
  // as one more entry of a flow mapping such as JSON's).
  const environment = document.getIn(path.slice(0, -1), true);
  const digestPath = [...path.slice(0, -1), 'digest'].join('.');
  const digestNode = isMap(environment) ? environment.items.find((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === 'digest')?.value : undefined;
  if (isAlias(digestNode) || (digestNode as { anchor?: string } | undefined)?.anchor) {
    throw new SetImageError(`--config ${file}: ${digestPath} is shared with other places (an alias or anchor); write it out in full`);
  }
  const previousDigest = isScalar(digestNode) ? String(digestNode.value) : undefined;
  refuseLosingDigest(request, `--config ${file}: ${digestPath}`, previousDigest);
  if (request.digest !== undefined) {
    if (isScalar(digestNode) && digestNode.range) {
      edits.push({ start: digestNode.range[0], end: digestNode.range[1], text: scalarText(request.digest) });
    } else if (isMap(environment) && environment.flow) {
      edits.push({ start: node.range[1], end: node.range[1], text: `, ${scalarText('digest')}: ${scalarText(request.digest)}` });
    } else {
      const tagPair = isMap(environment) ? environment.items.find((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === 'tag') : undefined;
      const keyStart = isScalar(tagPair?.key) && tagPair.key.range ? tagPair.key.range[0] : node.range[0];
      const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
      const indent = text.slice(lineStart, keyStart);
      if (!/^\s*$/.test(indent)) throw new SetImageError(`--config ${file}: ${path.join('.')} does not start its own line; write "tag:" on a line of its own so the digest can go below it`);
      const lineEnd = text.indexOf('\n', node.range[1]);
      const at = lineEnd === -1 ? text.length : lineEnd;
      edits.push({ start: at, end: at, text: `\n${indent}digest: ${scalarText(request.digest)}` });
    }
  }
  const edited = edits.sort((a, b) => b.start - a.start).reduce((result, e) => `${result.slice(0, e.start)}${e.text}${result.slice(e.end)}`, text);
  const reparsed = parseDocument(edited, { uniqueKeys: true });
  return { file, text: edited, platform: validatePlatform(reparsed.toJS(), file), previous: imageLabel(String(node.value), previousDigest), field: path.join('.') };
}

/** Removes the temporary model files of set-image runs that were killed before their journal. */
function removeDeadTemporaries(modelFile: string): void {
  const prefix = `.${basename(modelFile)}.next-`;
  const folder = dirname(modelFile);
  for (const entry of existsSync(folder) ? readdirSync(folder) : []) {
    if (entry.startsWith(prefix) && !processAlive(Number(entry.slice(prefix.length)))) rmSync(join(folder, entry), { force: true });
  }
}

function main(argv: string[], root: string): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      app: { type: 'string' },
      env: { type: 'string' },
      tag: { type: 'string' },
      digest: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.app || !values.env || values.tag === undefined) {
    console.error(`missing ${['app', 'env', 'tag'].filter((k) => values[k as 'app'] === undefined).map((k) => `--${k}`).join(', ')}\n${USAGE}`);
    return 2;
  }
  const request: SetImageRequest = { app: values.app, env: values.env, tag: values.tag, ...(values.digest === undefined ? {} : { digest: values.digest }) };
  const wanted = imageLabel(request.tag, request.digest);
  const distDir = values.out ? resolve(values.out) : join(root, 'dist');
  const source = values.out ? '--out' : '';
  const modelFile = values.config ? resolve(values.config) : join(root, APP_IMAGE_TAGS_FILE);
  const label = `${request.app} in ${request.env}`;
  // Fail fast on a wrong --out; checked again under the lock, where it counts.
  checkOutputTarget(distDir, root, source);

  // The lock spans read, render and write: a second deploy reads the model this one wrote.
  return withLock(root, `npm run set-image --app ${request.app} --env ${request.env}`, () => {
    const recovered = recoverAll(root, distDir);
    if (recovered) console.error(recovered);
    removeDeadTemporaries(modelFile);
    const edit = values.config ? editModelFile(modelFile, request) : editDefaultModel(root, request);
    if (edit.previous === wanted) {
      console.log(`${label} already runs ${wanted}; nothing changed`);
      return 0;
    }

    // Render and check everything before writing anything.
    const { files, objects } = renderWithObjects(edit.platform);
    const problems = verifyRender(files, objects);
    if (problems.length) throw new SetImageError(`the render failed its checks; nothing was changed:\n  ${problems.join('\n  ')}`);

    checkOutputTarget(distDir, root, source);
    const before = readTree(distDir);
    commitRender(root, 'npm run set-image', files, distDir, { file: edit.file, text: edit.text });
    const changes = semanticDiff(before, files);
    console.log(`${label}: ${edit.previous} -> ${wanted}`);
    console.log(`model: ${relative(process.cwd(), edit.file)} (${edit.field})`);
    console.log(changes.length ? `${relative(process.cwd(), distDir) || '.'}/ changed:\n${formatDiff(changes)}` : `${distDir}: unchanged`);
    return 0;
  });
}

/**
 * The whole command: runs it with these arguments against the project at `root`, prints what it
 * did (or why it refused) on stdout/stderr as the CLI does, and returns the exit code. Exported so
 * tests can run the refusals in-process (test/cli/set-image.test.ts); the CLI entry below calls it.
 */
export function runSetImage(argv: string[], root: string = projectRoot(dirname(fileURLToPath(import.meta.url)))): number {
  try {
    return main(argv, root);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SetImageError || error instanceof OutputTargetError) {
      console.error(error.message);
      return 1;
    } else if ((error as { committed?: boolean }).committed) {
      console.error(`set-image interrupted: ${(error as Error).message}`);
      return 1;
    } else if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n${USAGE}`);
      return 2;
    } else {
      console.error(`set-image failed; nothing was changed: ${(error as Error).message}`);
      if (process.env.DEBUG) console.error(error);
      return 1;
    }
  }
}

// Only as the entry (`node cli/launch.mjs cli/set-image.ts`, which runs the bundle in its own
// process): a test that imports the module must not run the command with the test runner's argv.
if (/(launch\.mjs|set-image\.ts)$/.test(process.argv[1] ?? '')) process.exitCode = runSetImage(process.argv.slice(2));
