/** Types of cli/pipeline-steps.mjs (plain JavaScript, so the pipeline runs it without a build). */
export type Verdict = { state: 'waiting' | 'failed' | 'blocked' | 'passed' | 'done' | 'timeout'; message: string; critical?: number };
export function scanVerdict(artifact: unknown): Verdict;
export function rolloutVerdict(deployment: unknown, container: string, image: string): Verdict;
export function basicAuthFor(dockerConfig: string, registry: string): string;
export function artifactUrl(harborUrl: string, repository: string, tag: string): string;
export function getJson(url: string, options?: { headers?: Record<string, string>; ca?: Buffer }): Promise<{ status: number; body: unknown; text?: string }>;
export function main(
  argv: string[],
  io?: { log?: (line: string) => void; error?: (line: string) => void; sleep?: (ms: number) => Promise<void>; now?: () => number },
): Promise<number>;
