/**
 * Benchmark data: realistic events from the demo generator (several namespaces, event types and
 * retention classes, 400–600 bytes canonical), prepared by the library's own prepareEvent, and
 * bulk-loaded with COPY when a scenario needs a backlog it does not measure.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { systemClock } from '../../src/config/clock.js';
import type { Pool, Queryable } from '../../src/db/pool.js';
import { prepareEvent, type PreparedEvent } from '../../src/events/prepare.js';
import type { EventInput } from '../../src/events/schema.js';
import { builtinSchedule } from '../../src/retention/builtin.js';
import { generateEvents } from '../demo/generate.js';

export const SCHEDULE = builtinSchedule();
export const INGEST = { clock: systemClock, schedule: SCHEDULE, maxEventBytes: 64 * 1024 };

const CHUNK = 10_000;
const START = Date.parse('2026-01-01T00:00:00Z');

/** `count` events in chunks, deterministic for (count, seed); occurred_at keeps increasing across chunks. */
export function* eventChunks(count: number, seed: number, chunk = CHUNK): Generator<EventInput[]> {
  for (let done = 0, k = 0; done < count; k++) {
    const n = Math.min(chunk, count - done);
    // The generator spaces events ~1.5 s apart; chunk k starts where chunk k-1 ended.
    yield generateEvents({ count: n, seed: seed * 100_003 + k, start: new Date(START + done * 1500) });
    done += n;
  }
}

export function prepare(events: EventInput[]): PreparedEvent[] {
  return events.map((e) => prepareEvent(e, INGEST));
}

// COPY text format: backslash, tab, LF and CR escaped; \N for NULL; bytea as \\x<hex>.
const esc = (s: string) => (/[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : s);
const opt = (s: string | undefined) => (s === undefined ? '\\N' : esc(s));

export const COPY_SQL = `COPY wormseal.events (event_id, namespace, retention_class, event_type, occurred_at, recorded_at,
  actor_id, actor_type, resource_type, resource_id, subject_id, outcome, correlation_id, canonical) FROM STDIN`;

/** The COPY text lines for prepared events: the same columns insertEvents writes. */
export function copyText(events: PreparedEvent[]): string {
  let out = '';
  for (const { record: r, bytes } of events) {
    out +=
      `${r.event_id}\t${esc(r.namespace)}\t${esc(r.retention_class)}\t${esc(r.event_type)}\t${r.occurred_at}\t${r.recorded_at}\t` +
      `${esc(r.actor.id)}\t${r.actor.type}\t${opt(r.resource?.type)}\t${opt(r.resource?.id)}\t${opt(r.subject_id)}\t` +
      `${r.outcome}\t${opt(r.correlation_id)}\t\\\\x${bytes.toString('hex')}\n`;
  }
  return out;
}

/** COPY blocks of text into wormseal.events in one statement (one transaction). */
export async function copyBlocks(pool: Pool, blocks: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const client = await pool.connect();
  try {
    await pipeline(Readable.from(blocks), client.query(copyStreams.from(COPY_SQL)));
  } finally {
    client.release();
  }
}

/**
 * Load a backlog of `count` generated events through COPY (not measured): generation and
 * preparation of the next chunk overlap the server's work on the previous one. One COPY per
 * million rows keeps transactions reasonable.
 */
export async function preload(pool: Pool, count: number, seed: number, log: (m: string) => void): Promise<void> {
  const t0 = performance.now();
  const perCopy = 1_000_000;
  const chunks = eventChunks(count, seed);
  for (let loaded = 0; loaded < count; ) {
    const n = Math.min(perCopy, count - loaded);
    let inThis = 0;
    await copyBlocks(
      pool,
      (function* () {
        while (inThis < n) {
          const c = chunks.next();
          if (c.done) return;
          inThis += c.value.length;
          yield copyText(prepare(c.value));
        }
      })(),
    );
    loaded += inThis;
    log(`  preloaded ${loaded.toLocaleString('en-US')} events (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await pool.query('ANALYZE wormseal.events');
}

export async function countEvents(db: Queryable): Promise<number> {
  const r = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM wormseal.events');
  return Number(r.rows[0]!.n);
}
