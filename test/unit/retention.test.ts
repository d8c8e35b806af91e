import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { builtinSchedule } from '../../src/retention/builtin.js';
import { addDuration, parseDuration } from '../../src/retention/duration.js';
import { buildSchedule, classify } from '../../src/retention/schedule.js';

describe('retention schedule', () => {
  const s = builtinSchedule();
  it.each([
    ['payment.created', 'sox-7y'],
    ['payment.refund.issued', 'sox-7y'],
    ['user.login', 'soc2-1y'],
    ['user.login.failed', 'auth-failed-90d'],
    ['record.accessed', 'hipaa-6y'],
    ['trade.executed', 'finra-6y'],
    ['card.tokenized', 'pci-2y'],
    ['widget.frobbed', 'default-7y'],
  ])('classifies %s as %s', (type, cls) => {
    expect(classify(s, type).name).toBe(cls);
  });

  it('refuses a schedule naming an unknown class, with the path', () => {
    expect(() =>
      buildSchedule({ classes: [{ name: 'a', duration: 'P1D', citation: 'x' }], rules: [{ match: 'x.*', class: 'b' }], default: 'a' }, 'f.json'),
    ).toThrow(new ConfigError('retention schedule f.json: rules.0.class: unknown class b'));
    expect(() => buildSchedule({ classes: [{ name: 'a', duration: '7 years', citation: 'x' }], rules: [], default: 'a' }, 'f.json')).toThrow(
      /classes\.0\.duration: not an ISO 8601 duration/,
    );
  });
});

describe('ISO 8601 durations', () => {
  it('adds calendar years and months in UTC, clamping to the month end', () => {
    expect(addDuration(new Date('2024-02-29T12:00:00Z'), parseDuration('P7Y')).toISOString()).toBe('2031-02-28T12:00:00.000Z');
    expect(addDuration(new Date('2026-01-31T00:00:00Z'), parseDuration('P1M')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(addDuration(new Date('2026-01-01T00:00:00Z'), parseDuration('P90D')).toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(addDuration(new Date('2026-01-01T00:00:00Z'), parseDuration('PT8S')).toISOString()).toBe('2026-01-01T00:00:08.000Z');
    expect(addDuration(new Date('2026-01-01T00:00:00Z'), parseDuration('P1Y6M2W')).toISOString()).toBe('2027-07-15T00:00:00.000Z');
  });
  it.each(['', 'P', 'PT', '7Y', 'P7', 'P-1D', 'P1DT'])('rejects %j', (t) => {
    expect(() => parseDuration(t)).toThrow(/not an ISO 8601 duration/);
  });
});
