/**
 * Where `npm run import` gets upstream files: over HTTPS in real use, or from a local mirror
 * folder that stands in for the network (CI without internet, tests, air-gapped machines).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Reads upstream files by URL. */
export interface UpstreamReader {
  /** The bytes at `url`; throws naming the URL when it cannot be had. */
  read(url: string): Promise<Buffer>;
}

/** Downloads with Node's fetch; any status but 200 is an error (no silent empty file). */
export class HttpReader implements UpstreamReader {
  async read(url: string): Promise<Buffer> {
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow' });
    } catch (error) {
      throw new Error(`${url}: download failed (${(error as Error).message}); check the network, or pass --mirror DIR / --charts-mirror DIR`);
    }
    if (response.status !== 200) throw new Error(`${url}: download failed with HTTP ${response.status}; check the URL and the pinned version`);
    return Buffer.from(await response.arrayBuffer());
  }
}

/**
 * A mirror laid out like the URLs it stands for: `https://host/a/b.yaml` is `DIR/host/a/b.yaml`,
 * so one folder can mirror files from several hosts and a reader can see where each came from.
 */
export class MirrorReader implements UpstreamReader {
  constructor(private readonly dir: string) {}

  static pathFor(dir: string, url: string): string {
    const parsed = new URL(url);
    return join(dir, parsed.host, ...decodeURIComponent(parsed.pathname).split('/').filter(Boolean));
  }

  async read(url: string): Promise<Buffer> {
    const path = MirrorReader.pathFor(this.dir, url);
    if (!existsSync(path)) throw new Error(`--mirror ${this.dir}: ${url} is not in the mirror (expected ${path}); add the file there or run without --mirror to download it`);
    return readFileSync(path);
  }
}
