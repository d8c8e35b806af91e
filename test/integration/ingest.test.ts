import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWormseal } from '../../src/index.js';
import { generateEvents } from '../demo/generate.js';
import { runCli, setupHarness, type Harness } from './harness.js';

describe('ingest: bad lines are named, good lines land, nothing half-written', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('ingest');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports each bad line with its number and reason while the valid lines of the file land', async () => {
    const good = generateEvents({ count: 5, seed: 3 });
    const base = JSON.stringify(good[0]);
    const fresh = (patch: Record<string, unknown>) => {
      const { event_id: _x, ...rest } = good[1]!;
      return JSON.stringify({ ...rest, ...patch });
    };
    const lines = [
      JSON.stringify(good[1]), // 1 valid
      '{"namespace": "billing",', // 2 malformed JSON
      fresh({ actor: undefined }), // 3 missing required field
      fresh({ event_type: 'Payment-Created' }), // 4 bad event_type
      fresh({ data: { blob: 'x'.repeat(70_000) } }), // 5 oversize
      fresh({ reason: 'lone \ud800 surrogate' }), // 6 lone surrogate (JSON.stringify escapes it as \ud800)
      base.replace('{"event_id"', '{"namespace":"dup","event_id"'), // 7 duplicate key
      fresh({}).replace('"data":{', '"data":{"__proto__":{"polluted":true},'), // 8 __proto__
      fresh({ data: { amount: 1 } }).replace('"amount":1', '"amount":9007199254740993'), // 9 beyond 2^53
      fresh({ outcome: 'partial' }), // 10 bad enum
      fresh({ occurred_at: '2026-02-30T12:00:00Z' }), // 11 impossible date
      '', // 12 blank: skipped, still counted as a line
      JSON.stringify(good[2]), // 13 valid
    ];
    expect(lines[5]).toContain('\\ud800');
    expect(lines[8]).toContain('9007199254740993');
    const r = await runCli(['ingest', '--json'], { env: h.env, input: lines.join('\n') + '\n' });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { accepted: number; rejected: number; errors: { line: number; reason: string }[] };
    expect(out.accepted).toBe(2);
    expect(out.rejected).toBe(10);
    expect(out.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const reason = (line: number) => out.errors.find((e) => e.line === line)!.reason;
    expect(reason(2)).toMatch(/malformed JSON at character/);
    expect(reason(3)).toMatch(/^actor: /);
    expect(reason(4)).toMatch(/^event_type: .*resource\.action/);
    expect(reason(5)).toMatch(/over the 65536-byte limit/);
    expect(reason(6)).toMatch(/^reason: .*surrogate/i);
    expect(reason(7)).toMatch(/duplicate/i);
    expect(reason(8)).toMatch(/^data\.__proto__: /);
    expect(reason(9)).toMatch(/^data\.amount: .*string/);
    expect(reason(10)).toMatch(/^outcome: /);
    expect(reason(11)).toMatch(/^occurred_at: not a valid RFC 3339/);

    const stored = await h.pool.query('SELECT event_id FROM wormseal.events ORDER BY seq');
    expect(stored.rows.map((x) => x.event_id).sort()).toEqual([good[1]!.event_id, good[2]!.event_id].sort());

    // The human form names the line too.
    const human = await runCli(['ingest', '-'], { env: h.env, input: lines[3] + '\n' });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^line 1: rejected: event_type: /m);

    // A rejected event, fixed, can be resubmitted; the valid ones are not written twice.
    const fixed = [JSON.stringify(good[1]), fresh({ outcome: 'success' }), JSON.stringify(good[2])].join('\n');
    const again = await runCli(['ingest', '--json'], { env: h.env, input: fixed });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 3, rejected: 0, duplicates: 2 });
    expect((await h.pool.query('SELECT count(*)::int AS n FROM wormseal.events')).rows[0].n).toBe(3);
  });

  it('refuses an event_id reused with different content, keeping the original', async () => {
    const [e] = generateEvents({ count: 1, seed: 11 });
    const audit = createWormseal({ pool: h.pool });
    expect(await audit.append([e])).toMatchObject({ accepted: 1, duplicates: 0 });
    const res = await audit.append([{ ...e!, outcome: 'denied' }]);
    expect(res).toMatchObject({ accepted: 0, rejected: 1 });
    expect(res.errors[0]!.reason).toMatch(/already recorded with different content/);
    const row = await h.pool.query(`SELECT convert_from(canonical, 'UTF8') AS c FROM wormseal.events WHERE event_id = $1`, [e!.event_id]);
    expect(row.rows[0].c).toContain('"outcome":"success"');
  });

  it('the fire-and-forget emitter lands every event from concurrent callers', async () => {
    const audit = createWormseal({ pool: h.pool });
    const failures: unknown[] = [];
    const emitter = audit.emitter({ onError: (f) => failures.push(f), maxBatch: 50, flushIntervalMs: 10 });
    const events = generateEvents({ count: 400, seed: 12 }).map(({ event_id: _id, ...rest }) => rest);
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < events.length; i += 8) {
          emitter.emit(events[i]!);
          if (i % 16 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await emitter.close();
    expect(failures).toEqual([]);
    expect(emitter.stats()).toMatchObject({ emitted: 400, written: 400, failed: 0, buffered: 0 });
    const n = await h.pool.query(`SELECT count(*)::int AS n FROM wormseal.events WHERE event_type <> '' AND correlation_id = ANY($1)`, [
      events.map((e) => e.correlation_id),
    ]);
    expect(n.rows[0].n).toBe(400);
  });

  it('names the right line of a file sent in several calls, cut by count and by size', async () => {
    // `wormseal ingest` sends 5,000 lines, or 8 MiB of them, per call: 5,100 small events cross the
    // first cut, then 200 of ~45 kB cross the size cut. A bad line sits after each cut.
    const small = generateEvents({ count: 5_100, seed: 21 }).map((e) => JSON.stringify(e));
    const large = generateEvents({ count: 200, seed: 22 }).map((e) => JSON.stringify({ ...e, data: { note: 'x'.repeat(45_000) } }));
    const lines = [...small, ...large];
    const bad = [5_050, 5_100 + 190]; // 1-based line numbers
    for (const n of bad) lines[n - 1] = lines[n - 1]!.replace(/"outcome":"[a-z]+"/, '"outcome":"sideways"');
    const r = await runCli(['ingest', '--json'], { env: h.env, input: lines.join('\n') + '\n' });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { accepted: number; rejected: number; errors: { line: number; reason: string }[] };
    expect(out.errors.map((e) => [e.line, e.reason.split(':')[0]])).toEqual(bad.map((n) => [n, 'outcome']));
    expect(out).toMatchObject({ accepted: lines.length - 2, rejected: 2 });
    const ids = [...small, ...large].filter((_, i) => !bad.includes(i + 1)).map((l) => (JSON.parse(l) as { event_id: string }).event_id);
    const n = await h.pool.query('SELECT count(*)::int AS n FROM wormseal.events WHERE event_id = ANY($1::uuid[])', [ids]);
    expect(n.rows[0].n).toBe(ids.length);
  });
});
