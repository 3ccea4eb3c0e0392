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

/**
 * What one environment runs: the tag alone (models written before digests), or the tag and the
 * digest the pipeline pushed and the scan approved (docs/decisions/0107-deploy-by-digest.md).
 */
export type ImageEntry = string | { readonly tag: string; readonly digest: string };

/** App -> environment -> image entry. */
export type ImageTags = Readonly<Record<string, Readonly<Record<string, ImageEntry>>>>;

/** The entry of an environment, missing fields as "" / undefined. */
export function entryParts(entry: unknown): { readonly tag: string; readonly digest?: string } {
  if (typeof entry === 'string') return { tag: entry };
  if (entry !== null && typeof entry === 'object') {
    const { tag, digest } = entry as { tag?: unknown; digest?: unknown };
    return { tag: typeof tag === 'string' ? tag : '', ...(typeof digest === 'string' ? { digest } : {}) };
  }
  return { tag: '' };
}

export const DEFAULT_IMAGE_TAGS: ImageTags = tags as ImageTags;

/**
 * The tag of an app in an environment, as config/default.ts reads it. A missing entry yields "",
 * which the model refuses with a message naming `apps.<app>.environments.<env>.tag`.
 */
export function imageTagOf(app: string, env: string, source: ImageTags = DEFAULT_IMAGE_TAGS): string {
  // Own entries only: an inherited name ("constructor") is not an app. A broken document yields
  // "" here; loadDefaultPlatform reports it in the file's own terms (checkImageTags).
  const environments: unknown = Object.hasOwn(source, app) ? source[app] : undefined;
  if (environments === null || typeof environments !== 'object' || !Object.hasOwn(environments, env)) return '';
  return entryParts((environments as Record<string, unknown>)[env]).tag;
}

/**
 * The digest of an app in an environment, as config/default.ts spreads it into the environment:
 * `{ digest }`, or nothing for an entry that is a tag alone.
 */
export function imageDigestOf(app: string, env: string, source: ImageTags = DEFAULT_IMAGE_TAGS): { readonly digest?: string } {
  const environments: unknown = Object.hasOwn(source, app) ? source[app] : undefined;
  if (environments === null || typeof environments !== 'object' || !Object.hasOwn(environments, env)) return {};
  const { digest } = entryParts((environments as Record<string, unknown>)[env]);
  return digest === undefined ? {} : { digest };
}

/** The JSON text of a tags document, as `npm run set-image` writes it (two-space indent, newline). */
export function imageTagsToJson(tagsDocument: ImageTags): string {
  return `${JSON.stringify(tagsDocument, null, 2)}\n`;
}
