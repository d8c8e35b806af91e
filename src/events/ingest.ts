import type { Clock } from '../config/clock.js';
import { sha256 } from '../archive/batchfile.js';
import { copyEvents, insertEvents, readStoredDigests } from '../db/events.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { RetentionSchedule } from '../retention/schedule.js';
import { canonicalBytes } from './canonical.js';
import { EventRejectedError, prepareEvent, prepareEventText, type PreparedEvent } from './prepare.js';

export interface IngestDeps {
  pool: Pool;
  clock: Clock;
  schedule: RetentionSchedule;
  maxEventBytes: number;
}

export interface IngestError {
  /** 0-based position in the request (the CLI turns it into a line number). */
  index: number;
  event_id?: string;
  field: string;
  reason: string;
}

export interface IngestResult {
  /** Valid events now recorded, including those that were already recorded identically. */
  accepted: number;
  rejected: number;
  /** Accepted events whose event_id was already recorded with the same content (nothing written). */
  duplicates: number;
  errors: IngestError[];
  /** event_id of each accepted event, by request position (so callers can correlate). */
  event_ids: (string | undefined)[];
}

type Item = { index: number; input: unknown } | { index: number; text: string };

/**
 * Append a batch of events (JS values). Valid events land even when others in the same request are
 * rejected; a rejected event can be fixed and resubmitted. Idempotent on event_id: an event already
 * recorded with the same content counts as accepted and changes nothing; the same id with other
 * content is rejected.
 */
export async function appendEvents(deps: IngestDeps, events: unknown[]): Promise<IngestResult> {
  return ingestItems(
    deps,
    events.map((input, index) => ({ index, input })),
  );
}

/** Append events given as JSON text, one per entry (NDJSON lines): parsed strictly (DESIGN 1). */
export async function appendEventTexts(deps: IngestDeps, texts: string[]): Promise<IngestResult> {
  return ingestItems(
    deps,
    texts.map((text, index) => ({ index, text })),
  );
}

// Content identity of an event without the server's arrival time: what "the same event" means
// when a client resubmits.
function contentKey(record: object): string {
  const { recorded_at: _ignored, ...rest } = record as { recorded_at?: string };
  return canonicalBytes(rest).toString('base64');
}

/**
 * Events validated between two sends to the server: while Postgres stores one slice, the next is
 * validated and canonicalized, so a request costs about the larger of the two, not their sum.
 * Each send is a system call that also wakes the server, and between two sends the writer yields
 * to the event loop: on this project's VM, where system calls and wake-ups are costly, slices of
 * 32 events stored about a sixth fewer events per second than slices of 512 (256 to 2,048 did
 * about as well as 512). Larger slices leave the server idle longer while the first one is
 * prepared, and Node idle while the server stores the last one.
 */
export const COPY_SLICE = 512;

async function ingestItems(deps: IngestDeps, items: Item[]): Promise<IngestResult> {
  const opts = { clock: deps.clock, schedule: deps.schedule, maxEventBytes: deps.maxEventBytes };
  const prepare = (item: Item): PreparedEvent => ('text' in item ? prepareEventText(item.text, opts) : prepareEvent(item.input, opts));
  return (await copyItems(deps, items, prepare)) ?? (await insertItems(deps, items, prepare));
}

/** Sorts out one item: its prepared event, or a rejection already recorded. */
type Check = (item: Item) => PreparedEvent | undefined;

/**
 * Validation shared by both paths: rejects an invalid item, settles an id repeated within the
 * request (same content: accepted as a duplicate; other content: rejected), and answers the
 * events to store. `recall(index)` gives the prepared event of an earlier item again.
 */
function checker(result: IngestResult, prepare: (item: Item) => PreparedEvent, recall: (index: number) => PreparedEvent): Check {
  const firstById = new Map<string, number>();
  return (item) => {
    let ev: PreparedEvent;
    try {
      ev = prepare(item);
    } catch (e) {
      if (e instanceof EventRejectedError) {
        reject(result, item.index, e.field, e.detail);
        return undefined;
      }
      throw e;
    }
    const id = ev.record.event_id;
    const twin = firstById.get(id);
    if (twin !== undefined) {
      // Content keys only for ids repeated within the request: rare, and a third serialization.
      if (contentKey(recall(twin).record) === contentKey(ev.record)) {
        result.accepted++;
        result.duplicates++;
        result.event_ids[item.index] = id;
      } else {
        reject(result, item.index, 'event_id', `${id} appears earlier in this request with different content`, id);
      }
      return undefined;
    }
    firstById.set(id, item.index);
    return ev;
  };
}

function emptyResult(items: Item[]): IngestResult {
  return { accepted: 0, rejected: 0, duplicates: 0, errors: [], event_ids: new Array(items.length) };
}

function reject(result: IngestResult, index: number, field: string, reason: string, event_id?: string): void {
  result.rejected++;
  result.errors.push({ index, field, reason: field ? `${field}: ${reason}` : reason, ...(event_id ? { event_id } : {}) });
}

/**
 * The fast path: one COPY, fed slice by slice as events pass validation. It stores every row or
 * none. Undefined when the server refused it (a resubmitted id, as COPY has no ON CONFLICT, or any
 * refused row): the request then goes down the careful path, which validates it again. Only the ids
 * of the rows sent are kept, so the events themselves are garbage as soon as their slice is sent
 * (kept for the whole request, they cost the garbage collector about a twentieth of ingest's time).
 */
async function copyItems(deps: IngestDeps, items: Item[], prepare: (item: Item) => PreparedEvent): Promise<IngestResult | undefined> {
  const result = emptyResult(items);
  // An id repeated in the request: the first one is prepared again (recorded_at aside, which the
  // content key leaves out, preparing is deterministic for an event that names its id).
  const check = checker(result, prepare, (index) => prepare(items[index]!));
  const sent: number[] = [];
  const sentIds: string[] = [];
  let copyFailure: unknown;
  const client = await deps.pool.connect();
  try {
    const copy = copyEvents(client);
    for (let i = 0; i < items.length; i += COPY_SLICE) {
      const slice: PreparedEvent[] = [];
      for (let j = i; j < Math.min(i + COPY_SLICE, items.length); j++) {
        const ev = check(items[j]!);
        if (!ev) continue;
        slice.push(ev);
        sent.push(j);
        sentIds.push(ev.record.event_id);
      }
      if (copyFailure === undefined) await copy.write(slice).catch((e: unknown) => (copyFailure = e));
    }
    if (copyFailure === undefined) await copy.finish().catch((e: unknown) => (copyFailure = e));
  } finally {
    // A connection whose COPY failed is not reused.
    client.release(copyFailure !== undefined);
  }
  if (copyFailure !== undefined) {
    if (isConnectionError(copyFailure)) throw copyFailure;
    return undefined;
  }
  for (let k = 0; k < sent.length; k++) {
    result.accepted++;
    result.event_ids[items[sent[k]!]!.index] = sentIds[k]!;
  }
  result.errors.sort((a, b) => a.index - b.index);
  return result;
}

/**
 * The careful path: INSERT ... ON CONFLICT DO NOTHING in one transaction; if the database refuses
 * it, one event at a time, so that the row it refuses does not sink the others. An id already
 * recorded is a duplicate when the stored bytes are the same event, else a rejection.
 */
async function insertItems(deps: IngestDeps, items: Item[], prepare: (item: Item) => PreparedEvent): Promise<IngestResult> {
  const result = emptyResult(items);
  const prepared: { index: number; ev: PreparedEvent }[] = [];
  const byItem = new Map<number, PreparedEvent>();
  const check = checker(result, prepare, (index) => byItem.get(index)!);
  for (const item of items) {
    const ev = check(item);
    if (!ev) continue;
    byItem.set(item.index, ev);
    prepared.push({ index: item.index, ev });
  }
  let inserted: Set<string>;
  try {
    inserted = await withTransaction(deps.pool, (c) => insertEvents(c, prepared.map((p) => p.ev)));
  } catch (batchError) {
    // One row the database refuses must not sink the others: retry one by one to find it.
    inserted = new Set();
    const failed = new Set<number>();
    for (const p of prepared) {
      try {
        for (const id of await withTransaction(deps.pool, (c) => insertEvents(c, [p.ev]))) inserted.add(id);
      } catch (e) {
        if (isConnectionError(e)) throw batchError;
        reject(result, p.index, '', `database refused the event: ${(e as Error).message}`, p.ev.record.event_id);
        failed.add(p.index);
      }
    }
    for (let i = prepared.length - 1; i >= 0; i--) if (failed.has(prepared[i]!.index)) prepared.splice(i, 1);
  }

  const skipped = prepared.filter((p) => !inserted.has(p.ev.record.event_id));
  const stored = await readStoredDigests(
    deps.pool,
    skipped.map((p) => p.ev.record.event_id),
  );
  for (const p of prepared) {
    const id = p.ev.record.event_id;
    if (!inserted.has(id)) {
      const existing = stored.get(id);
      // Same event = same bytes once our recorded_at is replaced by the one stored.
      const same = existing && sha256(canonicalBytes({ ...p.ev.record, recorded_at: existing.recorded_at })).equals(existing.sha256);
      if (!same) {
        reject(result, p.index, 'event_id', `${id} is already recorded with different content`, id);
        continue;
      }
      result.duplicates++;
    }
    result.accepted++;
    result.event_ids[p.index] = id;
  }
  result.errors.sort((a, b) => a.index - b.index);
  return result;
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('08') || code === '57P01' || code === 'ECONNREFUSED' || code === 'ECONNRESET';
}
