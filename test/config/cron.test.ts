import { describe, expect, it } from 'vitest';
import { ConfigError, defaultPlatform, validatePlatform } from '../../config';
import { cronProblem } from '../../config/cron';
import { applyPatch } from '../support/patch';

function scheduleProblems(schedule: string): readonly string[] {
  try {
    validatePlatform(applyPatch(defaultPlatform, { backups: { schedule } }), 'fixture');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('cron schedules as Velero reads them', () => {
  // Each of these is valid for robfig/cron v3's standard parser, which Velero v1.18 uses.
  const accepted = [
    '0 3 * * *',
    '0 3 * * MON',
    '0 3 * * mon-fri',
    '30 2 1-15/2 JAN,feb *',
    '*/15 * * * *',
    '0 0 ? * SUN',
    '5,35 */6 * * 0-6',
    '@daily',
    '@midnight',
    '@weekly',
  ];
  for (const schedule of accepted) {
    it(`GIVEN the schedule "${schedule}" WHEN the model is validated THEN it is accepted`, () => {
      expect(cronProblem(schedule)).toBeUndefined();
      expect(scheduleProblems(schedule)).toEqual([]);
    });
  }

  // Each of these Velero refuses (or, for croner-only syntax, robfig does not know).
  const refused: [string, RegExp][] = [
    ['99 * * * *', /minute/],
    ['60 * * * *', /minute/],
    ['*/0 * * * *', /stepping/],
    ['0 24 * * *', /hour/],
    ['0 3 32 * *', /day/],
    ['0 3 * 13 *', /month/],
    ['5-3 * * * *', /larger/],
    ['0 3 * * 7', /Sunday is 0/],
    ['0 3 * * 1-7', /Sunday is 0/],
    ['0 0 3 * * *', /6 fields/],
    ['* * * *', /4 fields/],
    ['0 3 L * *', /day of month field "L"/],
    ['0 3 * * 1#2', /day of week field "1#2"/],
    ['0 3 * * 5L', /day of week field "5L"/],
    ['0 3 * JANUARY *', /month field "JANUARY"/],
    ['@every 1h', /not a descriptor/],
    ['@reboot', /not a descriptor/],
    ['every night', /2 fields/],
  ];
  for (const [schedule, reason] of refused) {
    it(`fails when the schedule is "${schedule}", naming the config path, the value and the fix`, () => {
      const problems = scheduleProblems(schedule);
      expect(problems).toHaveLength(1);
      expect(problems[0].startsWith(`backups.schedule: ${JSON.stringify(schedule)}: is not a cron schedule Velero accepts: `)).toBe(true);
      expect(problems[0]).toMatch(reason);
      expect(problems[0]).toContain('use five fields');
    });
  }
});
