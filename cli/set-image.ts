/**
 * `npm run set-image`: deploy an image tag to one environment of one app, as the delivery
 * pipeline does (and a person can, e.g. to roll back). It edits the model, renders the whole
 * platform again, checks the render, and only then writes the model and swaps `dist/`; Argo CD
 * deploys the change once it is pushed.
 *
 *   npm run set-image -- --app hello --env dev --tag 3f9c2d1...
 *   npm run set-image -- --config platform.yaml --app hello --env prod --tag 3f9c2d1...
 *   npm run set-image -- ... --out DIR        render into DIR instead of dist/
 *
 * Where the tag is written: with the default model, config/app-images.json (config/default.ts
 * reads its tags from there); with `--config FILE`, `apps.<app>.environments.<env>.tag` in FILE
 * (YAML keeps its comments and layout). See docs/decisions/0042-image-tags-file.md.
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
  imageTagSchema,
  readModelFile,
  validatePlatform,
  type Platform,
} from '../config';
import { APP_IMAGE_TAGS_FILE, DEFAULT_IMAGE_TAGS, imageTagsToJson, type ImageTags } from '../config/app-images';
import { checkOutputTarget, commitRender, OutputTargetError, readTree, recoverAll } from './dist';
import { processAlive, withLock } from './transaction.mjs';
import { renderWithObjects } from './render';
import { formatDiff, semanticDiff } from './semantic-diff';
import { verifyRender } from './verify';
import { projectRoot } from './project-root';

const USAGE = `usage: npm run set-image -- --app NAME --env ENV --tag TAG [--config FILE] [--out DIR]
  --app NAME      an app of the model (apps.NAME)
  --env ENV       one of its environments
  --tag TAG       the image tag to deploy there (the commit SHA the pipeline built)
  --config FILE   the model file to edit instead of the default model (config/app-images.json)
  --out DIR       render into DIR instead of dist/`;

/** A refusal: the message says what is wrong and how to fix it; nothing was changed. */
class SetImageError extends Error {}

/** What to change, after the arguments were checked against the model. */
interface SetImageRequest {
  readonly app: string;
  readonly env: string;
  readonly tag: string;
}

/** The edited model file (its path and new text) and the model it describes. */
interface ModelEdit {
  readonly file: string;
  readonly text: string;
  readonly platform: Platform;
  /** The tag the environment had before. */
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
      if (deployment.tag !== DEFAULT_IMAGE_TAGS[app]?.[env]) {
        throw new SetImageError(`config/default.ts: apps.${app}.environments.${env}.tag is not read from ${APP_IMAGE_TAGS_FILE}; use imageTagOf('${app}', '${env}') so set-image can change it`);
      }
    }
  }
  const model = structuredClone(defaultPlatform);
  checkRequest(validatePlatform(structuredClone(model), 'config/default.ts'), request, 'the default model');
  if (!Object.hasOwn(tags, request.app) || !Object.hasOwn(tags[request.app], request.env)) {
    throw new SetImageError(`${APP_IMAGE_TAGS_FILE}: has no tag for ${request.app} in ${request.env}; add "${request.app}": { "${request.env}": "<tag>" } to it`);
  }
  const previous = tags[request.app][request.env];
  const edited: ImageTags = { ...tags, [request.app]: { ...tags[request.app], [request.env]: request.tag } };
  for (const [app, spec] of Object.entries(model.apps)) {
    for (const env of Object.keys(spec.environments)) spec.environments[env].tag = edited[app]?.[env] ?? spec.environments[env].tag;
  }
  return {
    file,
    text: imageTagsToJson(edited),
    platform: validatePlatform(model, 'config/default.ts'),
    previous,
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
  const scalar = json ? JSON.stringify(request.tag) : stringify(request.tag, { lineWidth: 0 }).trimEnd();
  const edited = `${text.slice(0, node.range[0])}${scalar}${text.slice(node.range[1])}`;
  const reparsed = parseDocument(edited, { uniqueKeys: true });
  return { file, text: edited, platform: validatePlatform(reparsed.toJS(), file), previous: String(node.value), field: path.join('.') };
}

/** Removes the temporary model files of set-image runs that were killed before their journal. */
function removeDeadTemporaries(modelFile: string): void {
  const prefix = `.${basename(modelFile)}.next-`;
  const folder = dirname(modelFile);
  for (const entry of existsSync(folder) ? readdirSync(folder) : []) {
    if (entry.startsWith(prefix) && !processAlive(Number(entry.slice(prefix.length)))) rmSync(join(folder, entry), { force: true });
  }
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      app: { type: 'string' },
      env: { type: 'string' },
      tag: { type: 'string' },
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
  const root = projectRoot(dirname(fileURLToPath(import.meta.url)));
  const request = { app: values.app, env: values.env, tag: values.tag };
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
    if (edit.previous === request.tag) {
      console.log(`${label} already runs ${request.tag}; nothing changed`);
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
    console.log(`${label}: ${edit.previous} -> ${request.tag}`);
    console.log(`model: ${relative(process.cwd(), edit.file)} (${edit.field})`);
    console.log(changes.length ? `${relative(process.cwd(), distDir) || '.'}/ changed:\n${formatDiff(changes)}` : `${distDir}: unchanged`);
    return 0;
  });
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError || error instanceof SetImageError || error instanceof OutputTargetError) {
    console.error(error.message);
    process.exitCode = 1;
  } else if ((error as { committed?: boolean }).committed) {
    console.error(`set-image interrupted: ${(error as Error).message}`);
    process.exitCode = 1;
  } else if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`set-image failed; nothing was changed: ${(error as Error).message}`);
    if (process.env.DEBUG) console.error(error);
    process.exitCode = 1;
  }
}
