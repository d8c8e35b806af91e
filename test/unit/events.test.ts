import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/config/clock.js';
import { canonicalize } from '../../src/events/canonical.js';
import { EventRejectedError, preparedBytes, prepareEvent, prepareEventText } from '../../src/events/prepare.js';
import { normalizeTimestamp } from '../../src/events/schema.js';
import { builtinSchedule } from '../../src/retention/builtin.js';

const opts = { clock: fixedClock(new Date('2026-11-23T10:00:00.000Z')), schedule: builtinSchedule(), maxEventBytes: 64 * 1024 };

const valid = {
  event_id: '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  namespace: 'billing',
  event_type: 'payment.created',
  occurred_at: '2026-11-23T09:59:58.123+01:00',
  actor: { id: 'u_ana', type: 'user', role: 'clerk', email: 'ana@example.com', ip: '10.0.0.1' },
  resource: { type: 'payment', id: 'pay_1' },
  outcome: 'success',
  data: { amount: 50, currency: 'USD' },
};

function rejection(line: string): EventRejectedError {
  try {
    prepareEventText(line, opts);
  } catch (e) {
    if (e instanceof EventRejectedError) return e;
    throw e;
  }
  throw new Error(`accepted: ${line}`);
}

describe('event validation and canonical bytes', () => {
  it('produces RFC 8785 bytes with the server fields and the format version', () => {
    const prepared = prepareEvent(valid, opts);
    const { record } = prepared;
    const bytes = preparedBytes(prepared);
    expect(prepared.byteLength).toBe(bytes.length);
    expect(prepared.canonical).toBe(canonicalize(record));
    expect(record.recorded_at).toBe('2026-11-23T10:00:00.000Z');
    expect(record.retention_class).toBe('sox-7y');
    expect(record.occurred_at).toBe('2026-11-23T08:59:58.123Z');
    const text = bytes.toString('utf8');
    expect(text.startsWith('{"actor":{"email":"ana@example.com","id":"u_ana","ip":"10.0.0.1","role":"clerk","type":"user"}')).toBe(true);
    expect(text).toContain('"v":1');
    expect(text.endsWith('"v":1}')).toBe(true);
    // Same input, same bytes: key order of the input does not matter.
    const shuffled = Object.fromEntries(Object.entries(valid).reverse());
    expect(preparedBytes(prepareEvent(shuffled, opts)).equals(bytes)).toBe(true);
  });

  it('generates an event_id when absent', () => {
    const { event_id: _drop, ...rest } = valid;
    const a = prepareEvent(rest, opts).record.event_id;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(prepareEvent(rest, opts).record.event_id).not.toBe(a);
  });

  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...valid, ...patch });
  const cases: [string, string, string, RegExp][] = [
    ['malformed JSON', '{"namespace": "billing",', '', /malformed JSON at character/],
    ['missing required field', JSON.stringify({ ...valid, actor: undefined }), 'actor', /./],
    ['bad event_type', line({ event_type: 'PAYMENT_CREATED' }), 'event_type', /lowercase resource\.action/],
    ['event_type without action', line({ event_type: 'payment' }), 'event_type', /resource\.action/],
    ['oversize event', line({ data: { blob: 'x'.repeat(70_000) } }), '', /over the 65536-byte limit/],
    ['lone surrogate', line({}).replace('"clerk"', '"\\ud800"'), 'actor.role', /surrogate/i],
    ['duplicate key', line({}).replace('{"event_id"', '{"namespace":"other","event_id"'), 'namespace', /duplicate/i],
    ['__proto__ key', line({}).replace('"data":{', '"data":{"__proto__":{"admin":true},'), 'data.__proto__', /__proto__/],
    ['integer beyond 2^53', line({}).replace('"amount":50', '"amount":9007199254740993'), 'data.amount', /2\^53|safe|string/i],
    ['bad enum', line({ outcome: 'maybe' }), 'outcome', /./],
    ['bad actor type', line({ actor: { id: 'x', type: 'robot' } }), 'actor.type', /./],
    ['impossible date', line({ occurred_at: '2026-02-30T10:00:00Z' }), 'occurred_at', /not a valid RFC 3339/],
    ['date without offset', line({ occurred_at: '2026-02-03T10:00:00' }), 'occurred_at', /offset/],
    ['unknown field', line({ colour: 'red' }), '', /colour/],
    ['server field sent', line({ recorded_at: '2026-01-01T00:00:00Z' }), 'recorded_at', /set by the server/],
    ['failure without reason', line({ outcome: 'failure' }), 'failure_reason', /required/],
    ['NUL in an indexed field', line({ actor: { id: 'a\u0000b', type: 'user' } }), 'actor.id', /NUL/],
    ['not an object', '[1,2]', '', /must be a JSON object/],
    ['bad uuid', line({ event_id: 'not-a-uuid' }), 'event_id', /./],
    ['bad namespace', line({ namespace: 'Billing/EU' }), 'namespace', /lowercase/],
  ];
  it.each(cases)('rejects %s, naming the field', (_name, text, field, message) => {
    const e = rejection(text);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  it('normalizes timestamps to UTC and refuses impossible ones', () => {
    expect(normalizeTimestamp('2026-03-01T00:30:00-01:30')).toBe('2026-03-01T02:00:00Z');
    expect(normalizeTimestamp('2024-02-29T23:59:59.123456Z')).toBe('2024-02-29T23:59:59.123456Z');
    expect(normalizeTimestamp('2025-02-29T00:00:00Z')).toBeUndefined();
    expect(normalizeTimestamp('2026-01-01T24:00:00Z')).toBeUndefined();
    expect(normalizeTimestamp('2026-13-01T00:00:00Z')).toBeUndefined();
    expect(normalizeTimestamp('2026-01-01T00:00:00.1234567Z')).toBeUndefined();
  });

  it("completes the validated copy, never the caller's event", () => {
    // prepareEvent adds the server's fields to zod's output in place: that output must be a copy.
    const input = structuredClone(valid);
    const { record } = prepareEvent(input, opts);
    expect(input).toEqual(valid);
    expect(record).not.toBe(input);
    expect(record).toMatchObject({ v: 1, recorded_at: '2026-11-23T10:00:00.000Z', occurred_at: '2026-11-23T08:59:58.123Z' });
    const { event_id: _id, ...anonymous } = structuredClone(valid);
    expect(prepareEvent(anonymous, opts).record.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(anonymous).not.toHaveProperty('event_id');
  });

  it('reads UTC timestamps as Date does: same instant, same digits, same refusals', () => {
    // Oracle: the calendar as Date.UTC knows it (years below 100 shifted by 400, which keeps leap years).
    const oracle = (y: number, mo: number, d: number, h: number, mi: number, se: number) => {
      if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
      const t = new Date(Date.UTC(y + 400, mo - 1, d, h, mi, se));
      return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
    };
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    for (const y of [1, 4, 99, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999]) {
      for (let mo = 0; mo <= 13; mo++) {
        for (const d of [0, 1, 28, 29, 30, 31, 32]) {
          for (const [h, mi, se] of [[0, 0, 0], [23, 59, 59], [24, 0, 0], [0, 60, 0], [0, 0, 60]] as const) {
            const body = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(se, 2)}`;
            const ok = oracle(y, mo, d, h, mi, se);
            expect(normalizeTimestamp(`${body}.5z`), body).toBe(ok ? `${body}.5Z` : undefined);
            expect(normalizeTimestamp(body.replace('T', 't') + 'Z'), body).toBe(ok ? `${body}Z` : undefined);
          }
        }
      }
    }
  });
});
