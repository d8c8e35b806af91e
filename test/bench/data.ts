/**
 * Benchmark data: realistic events from the demo generator (several namespaces, event types and
 * retention classes, 400–600 bytes canonical), prepared by the library's own prepareEvent, and
 * bulk-loaded with COPY when a scenario needs a backlog it does not measure.
 */
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { systemClock } from '../../src/config/clock.js';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from '../../src/db/copy-in.js';
import { COPY_EVENTS_SQL, eventCopyRows } from '../../src/db/events.js';
import type { Pool, Queryable } from '../../src/db/pool.js';
import { preparedBytes, prepareEvent, type PreparedEvent } from '../../src/events/prepare.js';
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

// COPY text format: backslash, tab, LF and CR escaped; \N for NULL; bytea as \\x<hex>.
const TEXT_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const esc = (s: string | undefined) => (s === undefined ? '\\N' : s.replace(/[\\\t\n\r]/g, (c) => TEXT_ESCAPES[c]!));

/**
 * The same rows in COPY's text format, which ingest sent before it sent binary rows: the server
 * parses every value and decodes the canonical bytes from hex. A second baseline, for comparison
 * with earlier runs.
 */
export function textCopyRows(events: readonly PreparedEvent[]): string {
  let out = '';
  for (const ev of events) {
    const r = ev.record;
    const cols = [r.event_id, r.namespace, r.retention_class, r.event_type, r.occurred_at, r.recorded_at, r.actor.id, r.actor.type,
      r.resource?.type, r.resource?.id, r.subject_id, r.outcome, r.correlation_id];
    out += cols.map(esc).join('\t') + `\t\\\\x${preparedBytes(ev).toString('hex')}\n`;
  }
  return out;
}

export function prepare(events: EventInput[]): PreparedEvent[] {
  return events.map((e) => prepareEvent(e, INGEST));
}

/**
 * COPY blocks of rows into wormseal.events in one statement (one transaction): binary rows
 * (eventCopyRows, what ingest sends) or, as strings, text rows (textCopyRows).
 */
export async function copyBlocks(pool: Pool, blocks: Iterable<Buffer> | string[]): Promise<void> {
  const text = Array.isArray(blocks) && typeof blocks[0] === 'string';
  const client = await pool.connect();
  try {
    const stream = text
      ? blocks
      : (function* () {
          yield COPY_BINARY_HEADER;
          yield* blocks as Iterable<Buffer>;
          yield COPY_BINARY_TRAILER;
        })();
    const sql = text ? COPY_EVENTS_SQL.replace(' (FORMAT binary)', '') : COPY_EVENTS_SQL;
    await pipeline(Readable.from(stream), client.query(copyStreams.from(sql)));
  } finally {
    client.release();
  }
}

/** Distinct events prepared by the library per backlog; the rest are copies with new ids and times. */
const TEMPLATES = 50_000;

/**
 * Load a backlog of `count` events through COPY (not measured). The first 50,000 are generated and
 * prepared by the library; every further event is one of them with a fresh event_id and its own
 * occurred_at (~1.5 s apart) written into both the columns and the canonical bytes. Both values
 * have a fixed length, so the bytes stay canonical, and preparing costs a copy instead of a
 * validation: a 5M-row backlog is bound by the server, not by the generator.
 */
export async function preload(pool: Pool, count: number, seed: number, log: (m: string) => void): Promise<void> {
  const t0 = performance.now();
  const templates: PreparedEvent[] = [];
  for (const c of eventChunks(Math.min(count, TEMPLATES), seed)) templates.push(...prepare(c));
  const perCopy = 1_000_000;
  for (let loaded = 0; loaded < count; ) {
    const n = Math.min(perCopy, count - loaded);
    const from = loaded;
    await copyBlocks(
      pool,
      (function* () {
        for (let i = from; i < from + n; i += CHUNK) {
          const block: PreparedEvent[] = [];
          for (let j = i; j < Math.min(i + CHUNK, from + n); j++) block.push(j < templates.length ? templates[j]! : variant(templates[j % templates.length]!, j));
          yield eventCopyRows(block);
        }
      })(),
    );
    loaded += n;
    log(`  preloaded ${loaded.toLocaleString('en-US')} events (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await pool.query('ANALYZE wormseal.events');
}

function variant(t: PreparedEvent, j: number): PreparedEvent {
  const event_id = randomUUID();
  const occurred_at = new Date(START + j * 1500 + (j % 1000)).toISOString();
  let canonical = patch(t.canonical, '"event_id":"', t.record.event_id, event_id);
  canonical = patch(canonical, '"occurred_at":"', t.record.occurred_at, occurred_at);
  return { record: { ...t.record, event_id, occurred_at }, canonical, byteLength: t.byteLength };
}

/** `text` with the value `was` after `key` replaced by `now` (ASCII of the same length). */
function patch(text: string, key: string, was: string, now: string): string {
  const at = text.indexOf(key) + key.length;
  if (at < key.length || was.length !== now.length || text.slice(at, at + was.length) !== was) {
    throw new Error(`bench preload: cannot patch ${key} in a template event`);
  }
  return text.slice(0, at) + now + text.slice(at + was.length);
}

export async function countEvents(db: Queryable): Promise<number> {
  const r = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM wormseal.events');
  return Number(r.rows[0]!.n);
}
