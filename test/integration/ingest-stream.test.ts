import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/config/clock.js';
import { appendEvents, COPY_SLICE, type IngestDeps } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import { generateEvents } from '../demo/generate.js';
import { setupHarness, type Harness } from './harness.js';

// appendEvents streams one COPY per request, fed a slice at a time as events pass validation.
// These requests span several slices (COPY_SLICE events each), so each failure below happens after
// rows were already sent.
describe('ingest: requests streamed through COPY keep their all-or-nothing promises', () => {
  let h: Harness;
  let deps: IngestDeps;
  beforeAll(async () => {
    h = await setupHarness('ingest_stream');
    deps = { pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 64 * 1024 };
  });
  afterAll(async () => {
    await h?.close();
  });

  const storedIds = async (ids: string[]) =>
    (await h.pool.query<{ event_id: string }>('SELECT event_id::text FROM wormseal.events WHERE event_id = ANY($1::uuid[])', [ids])).rows
      .map((r) => r.event_id)
      .sort();

  it('lands the valid events of a long request, names each bad one, and takes them back fixed', async () => {
    const n = 4 * COPY_SLICE + 44;
    const events: EventInput[] = generateEvents({ count: n, seed: 41 });
    const ids = events.map((e) => e.event_id!);
    const [a, b] = [2 * COPY_SLICE + 30, 2 * COPY_SLICE + 31]; // in the third slice
    const bad = new Map<number, [EventInput, string]>([
      [7, [{ ...events[7]!, event_type: 'Not-A-Type' }, 'event_type']],
      [a, [{ ...events[a]!, occurred_at: '2026-02-30T00:00:00Z' }, 'occurred_at']],
      [b, [{ ...events[b]!, actor: { ...events[b]!.actor, type: 'robot' as 'user' } }, 'actor.type']],
      [n - 1, [{ ...events[n - 1]!, data: { n: 2 ** 60 } }, 'data.n']],
    ]);
    const request = events.map((e, i) => bad.get(i)?.[0] ?? e);

    const res = await appendEvents(deps, request);
    expect(res).toMatchObject({ accepted: n - 4, rejected: 4, duplicates: 0 });
    expect(res.errors.map((e) => [e.index, e.reason.split(':')[0]])).toEqual([...bad].map(([i, [, field]]) => [i, field]));
    expect([...res.event_ids.keys()].filter((i) => res.event_ids[i] === undefined)).toEqual([...bad.keys()]);
    expect(await storedIds(ids)).toEqual(ids.filter((_, i) => !bad.has(i)).sort());

    // The same request with the four fixed: they land, the others count as duplicates.
    const again = await appendEvents(deps, events);
    expect(again).toMatchObject({ accepted: n, rejected: 0, duplicates: n - 4 });
    expect(await storedIds(ids)).toEqual([...ids].sort());
  });

  it('an id already recorded late in a request costs the fast path, not the other events', async () => {
    const n = 4 * COPY_SLICE + 44;
    const events = generateEvents({ count: n, seed: 42 });
    const ids = events.map((e) => e.event_id!);
    // COPY has no ON CONFLICT: the recorded ids fail it after four slices were streamed.
    const [a, b] = [4 * COPY_SLICE + 10, 4 * COPY_SLICE + 11];
    expect(await appendEvents(deps, [events[a]!, events[b]!])).toMatchObject({ accepted: 2 });
    const conflicting = { ...events[b]!, data: { altered: true } };
    const res = await appendEvents(deps, events.map((e, i) => (i === b ? conflicting : e)));
    expect(res).toMatchObject({ accepted: n - 1, rejected: 1, duplicates: 1 });
    expect(res.errors).toEqual([
      { index: b, event_id: ids[b], field: 'event_id', reason: `event_id: ${ids[b]} is already recorded with different content` },
    ]);
    expect(await storedIds(ids)).toEqual([...ids].sort());
    const kept = await h.pool.query(`SELECT convert_from(canonical, 'UTF8') AS c FROM wormseal.events WHERE event_id = $1`, [ids[b]]);
    expect(kept.rows[0].c).not.toContain('"altered"');
    // Resubmitting the whole request changes nothing.
    expect(await appendEvents(deps, events)).toMatchObject({ accepted: n, rejected: 0, duplicates: n });
    expect(await storedIds(ids)).toEqual([...ids].sort());
  });

  it('an id repeated within one request counts once when the content is the same, and is refused when not', async () => {
    // Both paths: a fresh request streams through COPY; one holding an id already recorded falls
    // back to INSERT and sorts out the repeats again.
    for (const recordedFirst of [false, true]) {
      const events = generateEvents({ count: 100, seed: recordedFirst ? 144 : 143 });
      const ids = events.map((e) => e.event_id!);
      if (recordedFirst) expect(await appendEvents(deps, [events[90]!])).toMatchObject({ accepted: 1 });
      const request: EventInput[] = [...events];
      request.splice(60, 0, { ...events[10]! }); // the same event again: index 60
      request.splice(80, 0, { ...events[20]!, data: { altered: true } }); // same id, other content: index 80
      const res = await appendEvents(deps, request);
      expect(res).toMatchObject({ accepted: 101, rejected: 1, duplicates: recordedFirst ? 2 : 1 });
      expect(res.errors).toEqual([
        { index: 80, event_id: ids[20], field: 'event_id', reason: `event_id: ${ids[20]} appears earlier in this request with different content` },
      ]);
      expect(res.event_ids[60]).toBe(ids[10]);
      expect(res.event_ids[80]).toBeUndefined();
      expect(await storedIds(ids)).toEqual([...ids].sort());
      const kept = await h.pool.query(`SELECT convert_from(canonical, 'UTF8') AS c FROM wormseal.events WHERE event_id = $1`, [ids[20]]);
      expect(kept.rows[0].c).not.toContain('"altered"');
    }
  });

  it('a connection lost in the middle of the COPY leaves none of the request behind', async () => {
    const events = generateEvents({ count: 10_000, seed: 43 });
    const ids = events.map((e) => e.event_id!);
    // The clock is read once per event: after 2,000 events (slices already sent), end the
    // writer's backend from another connection, connected beforehand so that the statement goes
    // out at once; the 8,000 events still to prepare keep the COPY open well after it lands (with
    // 2,000 events and a pooled connection the COPY sometimes ended first).
    expect(2_000).toBeGreaterThan(COPY_SLICE);
    const killer = await h.pool.connect();
    try {
      let reads = 0;
      let killed: Promise<number> | undefined;
      const clock: Clock = {
        now: () => {
          if (++reads === 2_000) {
            killed = killer
              .query<{ n: number }>(
                `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'COPY wormseal.events%' AND state = 'active'`,
              )
              .then((r) => r.rows[0]!.n);
          }
          return new Date();
        },
      };
      const outcome = await appendEvents({ ...deps, clock }, events).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      expect(await killed).toBe(1);
      if (outcome.ok) {
        // The rows were sent again on another connection: all of them, once.
        expect(outcome.r).toMatchObject({ accepted: 10_000, rejected: 0, duplicates: 0 });
        expect(await storedIds(ids)).toHaveLength(10_000);
      } else {
        expect(await storedIds(ids)).toEqual([]);
      }
    } finally {
      killer.release();
    }
  });
});
