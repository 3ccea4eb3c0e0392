/**
 * Renovate's CronJob as the services that watch it see it: its names and how long a run may take
 * (charts/day-two/renovate.ts runs it; its alerts are charts/observability/rules/renovate.ts), and
 * the schedule arithmetic both use. Kept below both service folders so neither imports the other
 * (docs/decisions/0094-import-layers.md).
 */
import { Cron } from 'croner';

export const RENOVATE_NAMESPACE = 'renovate';
export const RENOVATE = 'renovate';
/** A run that has not finished by then is killed and counts as failed. */
export const RENOVATE_DEADLINE_SECONDS = 2 * 3600;

/** Each schedule's longest gap, computed once per process (the render asks for it more than once). */
const longestGaps = new Map<string, number>();

/**
 * The longest time between two consecutive starts of `schedule` (UTC), from a fixed date so the
 * render stays deterministic. A schedule whose day-of-month and month fields are both `*` repeats
 * every week, so two weeks of starts hold every gap it has (a gap is at most a week long); any
 * other schedule is scanned over a year. The model only admits schedules that start at least twice
 * in a year (config/schema.ts, `renovate.schedule`). Scanning a year of an hourly schedule costs
 * about half a second of croner on the 2-core machine, hence the shorter window where it is exact.
 */
export function longestGapSeconds(schedule: string): number {
  const known = longestGaps.get(schedule);
  if (known !== undefined) return known;
  const fields = schedule.trim().split(/\s+/);
  const weekly = fields.length === 5 && fields[2] === '*' && fields[3] === '*';
  const cron = new Cron(schedule, { timezone: 'Etc/UTC', paused: true });
  const start = new Date('2026-01-01T00:00:00Z');
  const end = start.getTime() + (weekly ? 15 : 366) * 86400 * 1000;
  let previous = cron.nextRun(start);
  let longest = 0;
  for (let count = 0; previous && previous.getTime() < end && count < 20000; count++) {
    const next = cron.nextRun(previous);
    if (!next) break;
    longest = Math.max(longest, (next.getTime() - previous.getTime()) / 1000);
    previous = next;
  }
  longestGaps.set(schedule, longest);
  return longest;
}

/**
 * No successful run for two whole gaps and a deadline: one failed or skipped run is not worth a
 * page (the next one usually succeeds), two in a row are.
 */
export function missedRunSeconds(schedule: string): number {
  return 2 * longestGapSeconds(schedule) + RENOVATE_DEADLINE_SECONDS;
}
