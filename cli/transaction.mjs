// One writer at a time, and the model file and dist/ change together or not at all.
//
// Plain JavaScript (types in transaction.d.mts) because cli/launch.mjs runs it before it builds
// and loads an entry's bundle: the default model is bundled (config/app-images.json), so an
// interrupted deploy must be finished before the bundle is built, or a command would render the
// model as it was before the deploy and compare it with the dist/ of after.
//
//   lock     <project>/.platform.lock          created with O_EXCL; holds pid, command, start time
//   journal  <project>/.platform-journal.json  the intent of one commit: written after the new
//            model text and the staged render are complete, removed when both are in place
//
// A commit: stage (render folder + model temp file) -> journal -> model rename -> dist/ -> previous
// -> staging -> dist/ -> drop previous -> journal removed. A kill before the journal leaves only
// scratch files (removed later); a kill after it is rolled forward by the next command of any kind.
// See docs/decisions/0050-render-marker-lock-journal.md.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const LOCK_FILE = '.platform.lock';
export const JOURNAL_FILE = '.platform-journal.json';

/** How long a second writer waits for the lock before it fails naming the holder. */
const DEFAULT_LOCK_WAIT_SECONDS = 120;

/**
 * Files Terraform writes into a stack's folder when an operator runs it there (provider plugins,
 * the lock file, and the local state of releases before the state moved out of dist/). They are
 * not rendered, so a swap carries them over from the previous dist/ into the new one.
 */
export const OPERATOR_FILES = ['.terraform', '.terraform.lock.hcl', 'terraform.tfstate', 'terraform.tfstate.backup', '.terraform.tfstate.lock.info'];

export function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Tests only: PLATFORM_TEST_CRASH_AT=<step> kills this process with SIGKILL when it reaches that
 * step of a commit, so a test can check recovery from a kill at every rename. Steps, in order:
 * staged, journal, model, dist-moved, dist-swapped, previous-removed.
 */
export function crashPoint(step) {
  if (process.env.PLATFORM_TEST_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readHolder(lockPath) {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function describeHolder(holder) {
  if (!holder) return 'a process that is still writing its lock file';
  return `pid ${holder.pid} (${holder.command}, since ${holder.started})`;
}

/**
 * Takes the project's lock and returns its release. A lock whose process no longer runs is stale
 * and taken over; a live holder is waited for up to PLATFORM_LOCK_WAIT_SECONDS (default 120), then
 * this fails naming the holder.
 */
export function acquireLock(root, command) {
  const lockPath = join(root, LOCK_FILE);
  const waitSeconds = Number(process.env.PLATFORM_LOCK_WAIT_SECONDS ?? DEFAULT_LOCK_WAIT_SECONDS);
  const deadline = Date.now() + (Number.isFinite(waitSeconds) && waitSeconds >= 0 ? waitSeconds : DEFAULT_LOCK_WAIT_SECONDS) * 1000;
  const body = `${JSON.stringify({ pid: process.pid, command, started: new Date().toISOString() })}\n`;
  let unreadableSince;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      try {
        writeSync(fd, body);
      } finally {
        closeSync(fd);
      }
      return () => {
        // Only our own lock: a release after a takeover must not remove another writer's.
        if (readHolder(lockPath)?.pid === process.pid) rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = readHolder(lockPath);
    // A lock file that stays unreadable was left by a process killed between create and write.
    if (!holder) unreadableSince ??= Date.now();
    else unreadableSince = undefined;
    const stale = holder ? !processAlive(holder.pid) : Date.now() - unreadableSince > 2000;
    if (stale) {
      // Rename first: of two processes that both saw the stale lock, only one moves it away.
      const aside = `${lockPath}.stale-${process.pid}`;
      try {
        renameSync(lockPath, aside);
        rmSync(aside, { force: true });
      } catch (error) {
        if (error.code !== 'ENOENT') throw error;
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${lockPath}: held by ${describeHolder(holder)}; another command is writing dist/ or the model. Wait for it and run again (or raise PLATFORM_LOCK_WAIT_SECONDS)`);
    }
    sleepMs(100);
  }
}

export function withLock(root, command, action) {
  const release = acquireLock(root, command);
  try {
    return action();
  } finally {
    release();
  }
}

export function previousDirOf(distDir) {
  return join(dirname(distDir), `.dist-previous-${basename(distDir)}`);
}

/** Moves the operator's Terraform files of `from` into `to` where `to` has none yet. */
export function carryOverOperatorFiles(from, to) {
  const terraform = join(from, 'terraform');
  if (!existsSync(terraform)) return;
  for (const stack of readdirSync(terraform)) {
    for (const name of OPERATOR_FILES) {
      const source = join(terraform, stack, name);
      const target = join(to, 'terraform', stack, name);
      if (!existsSync(source) || existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      renameSync(source, target);
    }
  }
}

/** Every step after the journal; idempotent, so recovery runs the same code from any point. */
function rollForward(intent) {
  const { distDir, staging, previous, model } = intent;
  if (model && existsSync(model.next)) renameSync(model.next, model.file);
  crashPoint('model');
  if (existsSync(staging)) {
    if (existsSync(distDir)) {
      rmSync(previous, { recursive: true, force: true });
      renameSync(distDir, previous);
    }
    crashPoint('dist-moved');
    renameSync(staging, distDir);
  }
  crashPoint('dist-swapped');
  if (existsSync(previous)) {
    carryOverOperatorFiles(previous, distDir);
    rmSync(previous, { recursive: true, force: true });
  }
  crashPoint('previous-removed');
}

/**
 * Commits a staged change, holding the lock: the model file (optional) takes its new text from
 * `model.next`, and `staging` replaces `distDir`.
 */
export function commit(root, intent) {
  const journal = join(root, JOURNAL_FILE);
  const temporary = `${journal}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ version: 1, pid: process.pid, ...intent }, null, 2)}\n`);
  renameSync(temporary, journal);
  crashPoint('journal');
  try {
    rollForward(intent);
  } catch (error) {
    // Past the journal the change is decided: say so, never "nothing was changed".
    const committed = new Error(`the change is committed but not yet in place (${error.message}); the next command (npm run check, synth, diff, policy or set-image) finishes it from ${journal}`);
    committed.committed = true;
    throw committed;
  }
  rmSync(journal, { force: true });
}

/**
 * Finishes a commit a killed process left (call it holding the lock). Returns what it did, for
 * the caller to report, or undefined when there was nothing to do.
 */
export function recoverJournal(root) {
  const journal = join(root, JOURNAL_FILE);
  if (!existsSync(journal)) return undefined;
  let intent;
  try {
    intent = JSON.parse(readFileSync(journal, 'utf8'));
  } catch (error) {
    throw new Error(`${journal}: an interrupted commit left it unreadable (${error.message}); inspect it, then delete it`);
  }
  rollForward(intent);
  rmSync(journal, { force: true });
  return `finished an interrupted ${intent.command} (pid ${intent.pid}): ${intent.model ? `${intent.model.file} and ` : ''}${intent.distDir} now hold its result`;
}

/**
 * What cli/launch.mjs runs before it builds an entry: if a journal exists, take the lock (a live
 * writer finishes first) and roll it forward. Cheap when there is nothing to recover.
 */
export function recoverBeforeLaunch(root, command) {
  if (!existsSync(join(root, JOURNAL_FILE))) return undefined;
  return withLock(root, command, () => recoverJournal(root));
}
