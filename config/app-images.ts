/**
 * The image tags of the default model's apps live in config/app-images.json, not in
 * config/default.ts: the delivery pipeline changes them on every deployment (`npm run set-image`),
 * and a program can rewrite a JSON document safely where it cannot rewrite TypeScript. People edit
 * config/default.ts; the pipeline edits this file; both are reviewed in Git. A platform rendered
 * from its own file (`--config FILE`) keeps its tags in that file instead.
 *
 * The JSON is bundled with the model (esbuild and vitest import it), so the render still reads no
 * file at run time, and a changed tag invalidates the render cache like any other source change.
 *
 * @see docs/decisions/0042-image-tags-file.md
 */
import tags from './app-images.json';

/** The file, relative to the project root. */
export const APP_IMAGE_TAGS_FILE = 'config/app-images.json';

/** App -> environment -> tag. */
export type ImageTags = Readonly<Record<string, Readonly<Record<string, string>>>>;

export const DEFAULT_IMAGE_TAGS: ImageTags = tags;

/**
 * The tag of an app in an environment, as config/default.ts reads it. A missing entry yields "",
 * which the model refuses with a message naming `apps.<app>.environments.<env>.tag`.
 */
export function imageTagOf(app: string, env: string, source: ImageTags = DEFAULT_IMAGE_TAGS): string {
  // Own entries only: an inherited name ("constructor") is not an app. A broken document yields
  // "" here; loadDefaultPlatform reports it in the file's own terms (checkImageTags).
  const environments: unknown = Object.hasOwn(source, app) ? source[app] : undefined;
  if (environments === null || typeof environments !== 'object' || !Object.hasOwn(environments, env)) return '';
  return (environments as Record<string, string>)[env];
}

/** The JSON text of a tags document, as `npm run set-image` writes it (two-space indent, newline). */
export function imageTagsToJson(tagsDocument: ImageTags): string {
  return `${JSON.stringify(tagsDocument, null, 2)}\n`;
}
