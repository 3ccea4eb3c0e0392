import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The project root: the nearest folder at or above `start` holding a package.json. Entries pass
 * their own folder (`dirname(fileURLToPath(import.meta.url))`), which is `.build/` once
 * cli/launch.mjs has bundled them, so the search goes upwards rather than a fixed `..`.
 */
export function projectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
