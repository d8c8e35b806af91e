import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/config/clock.js';
import { copyEvents, insertEvents } from '../../src/db/events.js';
import { preparedBytes, prepareEvent, type PreparedEvent } from '../../src/events/prepare.js';
import { generateEvents } from '../demo/generate.js';
import { setupHarness, type Harness } from './harness.js';

// The ingest fast path writes binary COPY rows (uuid and timestamptz as numbers, text as UTF-8):
// every column it stores must be what the set-based INSERT, which sends text the server parses,
// stores for the same event.
describe('binary COPY of events on a real server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('copy_in');
  });
  afterAll(async () => {
    await h?.close();
  });

  const COLUMNS = `namespace, retention_class, event_type, occurred_at, recorded_at, actor_id, actor_type, resource_type,
    resource_id, subject_id, outcome, correlation_id, canonical`;

  it('stores every column exactly as INSERT does, for ordinary and unusual events', async () => {
    const base = generateEvents({ count: 300, seed: 11 }).map(({ event_id: _id, ...e }) => e);
    const unusual = [
      { occurred_at: '0001-01-01T00:00:00Z' },
      { occurred_at: '9999-12-31T23:59:59.999999Z' },
      { occurred_at: '1969-12-31T23:59:59.5Z' },
      { occurred_at: '2026-03-01T01:30:00.123456+05:30' },
      { occurred_at: '2024-02-29T23:59:59.1-00:30' },
      { actor: { id: 'José Ñúñez ✓ 日本', type: 'user' } },
      { actor: { id: 'tab\there \\ back\\slash', type: 'service' }, subject_id: 'emoji 😀 subject' },
      { resource: { type: 'doc', id: 'line\nbreak\rreturn' }, correlation_id: 'corr-1' },
    ];
    const inputs = [...base, ...unusual.map((patch, i) => ({ ...base[i]!, ...patch }))];
    const clock = fixedClock(new Date('2026-11-23T17:00:00.123Z'));
    const prepare = (e: object) => prepareEvent({ ...e, event_id: randomUUID() }, { clock, schedule: h.schedule, maxEventBytes: 64 * 1024 });
    const viaCopy: PreparedEvent[] = inputs.map(prepare);
    const viaInsert: PreparedEvent[] = inputs.map(prepare);

    const client = await h.pool.connect();
    try {
      const copy = copyEvents(client);
      await copy.write(viaCopy.slice(0, 100));
      await copy.write(viaCopy.slice(100));
      await copy.finish();
    } finally {
      client.release();
    }
    expect((await insertEvents(h.pool, viaInsert)).size).toBe(viaInsert.length);

    const read = async (events: PreparedEvent[]) => {
      const res = await h.pool.query<Record<string, unknown>>(
        `SELECT ${COLUMNS}, occurred_at::text AS occurred_text FROM wormseal.events e
         JOIN unnest($1::uuid[]) WITH ORDINALITY AS x(id, n) ON e.event_id = x.id ORDER BY x.n`,
        [events.map((e) => e.record.event_id)],
      );
      return res.rows;
    };
    const copied = await read(viaCopy);
    const inserted = await read(viaInsert);
    expect(copied).toHaveLength(inputs.length);
    // The canonical bytes differ only in event_id: compare them with it cut out.
    const strip = (r: Record<string, unknown>, id: string) => ({ ...r, canonical: (r.canonical as Buffer).toString('utf8').replace(id, '<id>') });
    for (let i = 0; i < inputs.length; i++) {
      expect(strip(copied[i]!, viaCopy[i]!.record.event_id), `event ${i}`).toEqual(strip(inserted[i]!, viaInsert[i]!.record.event_id));
      expect((copied[i]!.canonical as Buffer).equals(preparedBytes(viaCopy[i]!)), `event ${i} canonical`).toBe(true);
    }
    // And the extremes are the instants the event names, not merely the same on both paths.
    const at = (iso: string) => copied.find((r) => (r.canonical as Buffer).includes(`"occurred_at":"${iso}"`))?.occurred_text;
    expect(at('0001-01-01T00:00:00Z')).toBe('0001-01-01 00:00:00+00');
    expect(at('9999-12-31T23:59:59.999999Z')).toBe('9999-12-31 23:59:59.999999+00');
    expect(at('1969-12-31T23:59:59.5Z')).toBe('1969-12-31 23:59:59.5+00');
    expect(at('2026-02-28T20:00:00.123456Z')).toBe('2026-02-28 20:00:00.123456+00');
  });

  it('an event the encoder refuses fails the COPY before anything is stored', async () => {
    const clock = fixedClock(new Date('2026-11-23T17:00:00Z'));
    const [good, bad] = generateEvents({ count: 2, seed: 12 }).map((e) => prepareEvent({ ...e, event_id: randomUUID() }, { clock, schedule: h.schedule, maxEventBytes: 64 * 1024 }));
    bad!.record.occurred_at = '2026-02-30T00:00:00Z'; // what no validated event holds
    const client = await h.pool.connect();
    let failure: unknown;
    try {
      const copy = copyEvents(client);
      await copy.write([good!]);
      await copy.write([bad!]).catch((e: unknown) => (failure = e));
    } finally {
      client.release(true);
    }
    expect(String(failure)).toMatch(/not a normalized UTC timestamp/);
    const n = await h.pool.query('SELECT count(*)::int AS n FROM wormseal.events WHERE event_id = ANY($1::uuid[])', [[good!.record.event_id, bad!.record.event_id]]);
    expect(n.rows[0]!.n).toBe(0);
  });
});
