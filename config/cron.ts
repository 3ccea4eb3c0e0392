/**
 * Cron schedules as Velero reads them. Velero v1.18.1 parses `Schedule.spec.schedule` with
 * robfig/cron v3.0.1's `cron.ParseStandard` (vmware-tanzu/velero, tag v1.18.1,
 * pkg/controller/schedule_controller.go `parseCronSchedule`; go.mod pins robfig/cron/v3 v3.0.1).
 * That dialect is five fields (minute, hour, day of month, month, day of week 0-6), month and
 * weekday names, `*`, `?`, lists, ranges and steps, or a descriptor (`@daily`...). A schedule it
 * refuses is only reported in the Schedule's status, and backups silently stop, so the model
 * refuses it up front.
 *
 * The value check (ranges, steps, names, out-of-range numbers) is croner's parser; the dialect
 * rules croner is more generous about (a seconds field, `L`, `W`, `#`, weekday 7) are refused
 * here first, so what passes is what both accept. docs/decisions/0073-cron-dialect.md says why.
 */
import { Cron } from 'croner';

/** robfig/cron v3's descriptors, except `@every <duration>` (croner cannot check it; write five fields). */
export const CRON_DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
/** What robfig/cron's standard parser lets each field hold besides names: digits and `* ? , - /`. */
const FIELD_CHARACTERS = /^[0-9*?,/-]+$/;

const USAGE = 'use five fields "minute hour day-of-month month day-of-week" such as "0 3 * * *" (03:00 UTC every day) or "0 3 * * MON-FRI", or one of ' + CRON_DESCRIPTORS.join(', ');

/** Why Velero would refuse `value` as a schedule, or `undefined` when it accepts it. */
export function cronProblem(value: string): string | undefined {
  if (value.startsWith('@')) {
    return (CRON_DESCRIPTORS as readonly string[]).includes(value) ? undefined : `not a descriptor Velero knows; ${USAGE}`;
  }
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 5) return `has ${fields.length} field${fields.length === 1 ? '' : 's'}, Velero's cron takes exactly five (no seconds field); ${USAGE}`;
  for (const [index, field] of fields.entries()) {
    const names = index === 3 ? MONTHS : index === 4 ? WEEKDAYS : [];
    // Letters are allowed only as whole month or weekday names: croner's `L`, `W` and `#` are not robfig's.
    const unnamed = field.replace(/[A-Za-z]+/g, (word) => (names.includes(word.toLowerCase()) ? '0' : word));
    if (!FIELD_CHARACTERS.test(unnamed)) {
      return `the ${FIELDS[index]} field "${field}" holds something other than numbers${names.length ? ', names' : ''} and * ? , - /; ${USAGE}`;
    }
    // robfig/cron's weekdays are 0-6 (Sunday is 0, never 7).
    if (index === 4 && /(^|[^0-9])7($|[^0-9])/.test(field.replace(/\/[0-9]+/g, ''))) return `the day of week field "${field}" uses 7; Sunday is 0 (weekdays are 0-6); ${USAGE}`;
  }
  try {
    new Cron(fields.join(' '), { paused: true });
  } catch (error) {
    const message = (error as Error).message.replace(/^CronPattern: /, '').replace(/\.$/, '');
    // croner names the offending value zero-based for days and months; name the allowed ranges instead.
    const field = /^Invalid value for (\w+)/.exec(message)?.[1];
    if (field) return `a ${field} value is out of range (minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-6); ${USAGE}`;
    return `${message}; ${USAGE}`;
  }
  return undefined;
}
