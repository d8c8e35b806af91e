import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseDuration, retainUntilFor } from '../../src/retention/duration.js';

const base = { DATABASE_URL: 'postgres://u@localhost/db' };

describe('retention configuration', () => {
  it('keeps sealed hot rows 30 days unless WORMSEAL_HOT_WINDOW says otherwise', () => {
    expect(loadConfig(base, 'db').hotWindow).toBe('P30D');
    expect(loadConfig({ ...base, WORMSEAL_HOT_WINDOW: 'PT12H' }, 'db').hotWindow).toBe('PT12H');
  });

  it('refuses a hot window that is not an ISO 8601 duration, naming the variable', () => {
    expect(() => loadConfig({ ...base, WORMSEAL_HOT_WINDOW: '30 days' }, 'db')).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, WORMSEAL_HOT_WINDOW: '30 days' }, 'db')).toThrow(/WORMSEAL_HOT_WINDOW: not an ISO 8601 duration: "30 days"/);
  });

  it('rounds retain-until up to the whole second, never down', () => {
    expect(retainUntilFor(new Date('2026-01-01T00:00:00.001Z'), parseDuration('PT3S')).toISOString()).toBe('2026-01-01T00:00:04.000Z');
    expect(retainUntilFor(new Date('2026-01-01T00:00:00.000Z'), parseDuration('P7Y')).toISOString()).toBe('2033-01-01T00:00:00.000Z');
  });
});
