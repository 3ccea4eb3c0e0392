/** Types of cli/transaction.mjs (plain JavaScript, so cli/launch.mjs runs it before any build). */
export const LOCK_FILE: string;
export const JOURNAL_FILE: string;
export const OPERATOR_FILES: readonly string[];
export interface CommitIntent {
  readonly command: string;
  readonly distDir: string;
  readonly staging: string;
  readonly previous: string;
  /** The model file and the complete temporary file that replaces it. */
  readonly model?: { readonly file: string; readonly next: string };
}
export function processAlive(pid: number): boolean;
export function crashPoint(step: 'staged' | 'journal' | 'model' | 'dist-moved' | 'dist-swapped' | 'previous-removed'): void;
export function acquireLock(root: string, command: string): () => void;
export function withLock<T>(root: string, command: string, action: () => T): T;
export function previousDirOf(distDir: string): string;
export function carryOverOperatorFiles(from: string, to: string): void;
export function commit(root: string, intent: CommitIntent): void;
export function recoverJournal(root: string): string | undefined;
export function recoverBeforeLaunch(root: string, command: string): string | undefined;
