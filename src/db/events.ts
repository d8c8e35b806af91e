import { once } from 'node:events';
import type { Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import { copyOutBinary, type RowView, type RowVisitor } from './copy.js';
import { BinaryCopyRows, SlabPool, COPY_BINARY_HEADER, COPY_BINARY_TRAILER, putByteaText, putRowStart, putText, putTimestamptz, putUuid } from './copy-in.js';
import type { PoolClient, Queryable } from './pool.js';
import { preparedBytes, type PreparedEvent } from '../events/prepare.js';

/**
 * Insert prepared events in one set-based statement. Rows whose event_id is already present are
 * skipped (ON CONFLICT DO NOTHING); the ids actually inserted are returned so the caller can
 * compare the skipped ones. Writers touch no other table (streams are found by the sealer).
 */
export async function insertEvents(db: Queryable, events: PreparedEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const col = <T>(f: (e: PreparedEvent) => T) => events.map(f);
  const res = await db.query<{ event_id: string }>(
    `INSERT INTO wormseal.events (event_id, namespace, retention_class, event_type, occurred_at, recorded_at,
       actor_id, actor_type, resource_type, resource_id, subject_id, outcome, correlation_id, canonical)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[])
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      col((e) => e.record.event_id),
      col((e) => e.record.namespace),
      col((e) => e.record.retention_class),
      col((e) => e.record.event_type),
      col((e) => e.record.occurred_at),
      col((e) => e.record.recorded_at),
      col((e) => e.record.actor.id),
      col((e) => e.record.actor.type),
      col((e) => e.record.resource?.type ?? null),
      col((e) => e.record.resource?.id ?? null),
      col((e) => e.record.subject_id ?? null),
      col((e) => e.record.outcome),
      col((e) => e.record.correlation_id ?? null),
      col(preparedBytes),
    ],
  );
  return new Set(res.rows.map((r) => r.event_id));
}

/** The columns insertEvents writes, in the same order: COPY_EVENTS_SQL's and eventCopyRows'. */
const COPY_FIELDS = 14;

/** Binary COPY rows of prepared events, for COPY_EVENTS_SQL (its header and trailer not included). */
export function eventCopyRows(events: readonly PreparedEvent[], into = new BinaryCopyRows(64 * 1024)): Buffer {
  for (const { record: r, canonical, byteLength } of events) {
    const { actor, resource } = r;
    // Fixed fields: row start 2, 14 lengths, uuid 16, two timestamps 8 each.
    const bound =
      2 + 14 * 4 + 32 + 3 * (r.namespace.length + r.retention_class.length + r.event_type.length + actor.id.length + actor.type.length +
        (resource?.type.length ?? 0) + (resource?.id.length ?? 0) + (r.subject_id?.length ?? 0) + r.outcome.length + (r.correlation_id?.length ?? 0)) +
      byteLength;
    const buf = into.reserve(bound);
    let o = putRowStart(buf, into.at, COPY_FIELDS);
    o = putUuid(buf, o, r.event_id);
    o = putText(buf, o, r.namespace);
    o = putText(buf, o, r.retention_class);
    o = putText(buf, o, r.event_type);
    o = putTimestamptz(buf, o, r.occurred_at);
    o = putTimestamptz(buf, o, r.recorded_at);
    o = putText(buf, o, actor.id);
    o = putText(buf, o, actor.type);
    o = putText(buf, o, resource?.type);
    o = putText(buf, o, resource?.id);
    o = putText(buf, o, r.subject_id);
    o = putText(buf, o, r.outcome);
    o = putText(buf, o, r.correlation_id);
    into.at = putByteaText(buf, o, canonical, byteLength);
  }
  return into.take();
}

export const COPY_EVENTS_SQL = `COPY wormseal.events (event_id, namespace, retention_class, event_type, occurred_at, recorded_at,
  actor_id, actor_type, resource_type, resource_id, subject_id, outcome, correlation_id, canonical) FROM STDIN (FORMAT binary)`;

/** Rows queued for the server before a writer waits for it (about 800 events). */
const COPY_BUFFER_BYTES = 1 << 20;

/** Slabs of finished COPYs, shared by all of them: ingest writes ~3 MB per 5,000 events. */
const copySlabs = new SlabPool(1 << 20, 8);

/** A COPY into wormseal.events in progress: rows go to the server as they are written. */
export interface EventCopy {
  /** Send rows; resolves when the connection can take more. Throws once the server refused the COPY. */
  write(events: readonly PreparedEvent[]): Promise<void>;
  /** End the COPY: resolves when every row is stored, throws what the server refused (all or nothing). */
  finish(): Promise<void>;
}

/**
 * Start a COPY of events on `client` (one statement: all rows land or none). The fast path for
 * new events: COPY has no ON CONFLICT, so a resubmitted event_id makes it fail with
 * unique_violation and the caller falls back to insertEvents. After a failure the connection
 * should be discarded (release(true)).
 */
export function copyEvents(client: PoolClient): EventCopy {
  const stream = client.query(copyStreams.from(COPY_EVENTS_SQL, { highWaterMark: COPY_BUFFER_BYTES }));
  let failure: unknown;
  stream.on('error', (e) => (failure ??= e));
  const rows = new BinaryCopyRows(copySlabs.bytes, copySlabs);
  let started = false;
  const start = () => {
    if (!started) stream.write(COPY_BINARY_HEADER);
    started = true;
  };
  return {
    async write(events) {
      if (failure) throw failure;
      if (events.length === 0) return;
      const bytes = eventCopyRows(events, rows);
      start();
      // Waiting for 'drain' after every write would wait for the server to take in the rows just
      // sent, leaving it idle while the caller prepares the next ones. One turn of the event loop
      // is enough to hand queued bytes to the socket; the server is waited for only when far behind.
      // pg-copy-streams writes a message's 5-byte head and its body separately: corked, they go
      // in one system call. A write to a loopback socket also wakes the server, so it costs far
      // more than its bytes.
      const socket = (stream as unknown as { connection?: { stream?: Socket } }).connection?.stream;
      socket?.cork();
      const ok = stream.write(bytes);
      socket?.uncork();
      if (ok) await new Promise((resolve) => setImmediate(resolve));
      else await once(stream, 'drain');
    },
    async finish() {
      if (failure) throw failure;
      start();
      stream.write(COPY_BINARY_TRAILER);
      stream.end();
      await finished(stream);
      // The server confirmed every row, so the socket has sent every view of the slabs. After a
      // failure they are left to the garbage collector: a view may still sit in the socket's queue.
      rows.recycle();
    },
  };
}

/**
 * For already-recorded ids: the stored recorded_at (as it appears in the canonical bytes) and the
 * SHA-256 of the stored bytes. Read through a SECURITY DEFINER function, so a writer that may only
 * INSERT can tell an identical resubmission from a conflicting one without reading content.
 */
export async function readStoredDigests(
  db: Queryable,
  ids: string[],
): Promise<Map<string, { recorded_at: string; sha256: Buffer }>> {
  if (ids.length === 0) return new Map();
  const res = await db.query<{ event_id: string; recorded_at: string; sha256: Buffer }>(
    'SELECT event_id, recorded_at, sha256 FROM wormseal.stored_digests($1::uuid[])',
    [ids],
  );
  return new Map(res.rows.map((r) => [r.event_id, { recorded_at: r.recorded_at, sha256: r.sha256 }]));
}

export interface WindowRow {
  event_id: string;
  txid: bigint;
  seq: bigint;
  canonical: Buffer;
  // Columns the per-batch hold index is built from (src/holds/keyindex.ts), read with the window
  // so the sealer never parses canonical bytes for them.
  actor_id: string;
  resource_type: string | null;
  resource_id: string | null;
  subject_id: string | null;
  event_type: string;
  occurred_at: Date;
}

export interface Position {
  txid: bigint;
  seq: bigint;
}

/** The rows of a window [first, last], in leaf order. */
// Leaf order is (txid, seq) as numbers: the ORDER BY names the table columns, not the text casts.
export async function readWindow(
  db: Queryable,
  stream: { namespace: string; retention_class: string },
  first: Position,
  last: Position,
): Promise<WindowRow[]> {
  const res = await db.query<Omit<WindowRow, 'txid' | 'seq'> & { txid: string; seq: string }>(
    `SELECT event_id, txid::text, seq::text, canonical, actor_id, resource_type, resource_id, subject_id, event_type, occurred_at
     FROM wormseal.events
     WHERE namespace = $1 AND retention_class = $2
       AND (txid, seq) >= ($3::xid8, $4::bigint) AND (txid, seq) <= ($5::xid8, $6::bigint)
     ORDER BY wormseal.events.txid, wormseal.events.seq`,
    [stream.namespace, stream.retention_class, first.txid.toString(), first.seq.toString(), last.txid.toString(), last.seq.toString()],
  );
  return res.rows.map((r) => ({ ...r, txid: BigInt(r.txid), seq: BigInt(r.seq) }));
}

/** A row as the sealer reads it: the sealed bytes plus the columns a batch is summarized by. */
export interface SealRow {
  /** The row's xid8 and bigint seq, 8 bytes each (positionOf() decodes them). */
  txid: Buffer;
  seq: Buffer;
  /** The uuid's 16 bytes (format with uuidText() where a name is needed: the sealer needs two per batch). */
  event_id: Buffer;
  canonical: Buffer;
  /** occurred_at / recorded_at in whole milliseconds since the epoch, floored (as Date.parse reads the canonical text). */
  occurred_ms: number;
  recorded_ms: number;
  event_type: string;
  actor_id: string;
  resource_type: string | null;
  resource_id: string | null;
  subject_id: string | null;
}

/** The leaf-order position of a row read by streamWindow. */
export function positionOf(row: Pick<SealRow, 'txid' | 'seq'>): Position {
  return { txid: row.txid.readBigUInt64BE(0), seq: row.seq.readBigInt64BE(0) };
}

/**
 * What a sealing read covers: a pending batch's claimed window [first, last], or the next window
 * of up to `limit` rows after `after` with txid below `horizon`. Every transaction below the
 * horizon has finished, so that slice can never gain a row later (DESIGN 4), and reading
 * [first row, last row] of it again gives it back byte for byte.
 */
export type WindowToRead = { first: Position; last: Position } | { after: Position | undefined; horizon: bigint; limit: number };

/** Field numbers of the rows visitWindow hands out (the columns of SealRow, in this order). */
export const SEAL_COLUMN = {
  txid: 0,
  seq: 1,
  event_id: 2,
  canonical: 3,
  occurred_at: 4,
  recorded_at: 5,
  event_type: 6,
  actor_id: 7,
  resource_type: 8,
  resource_id: 9,
  subject_id: 10,
} as const;

/**
 * Stream the rows of a window [first, last] in leaf order, `pageSize` at a time, with one binary
 * COPY (raw bytea, no hex), so a batch is never all in memory and no transaction is held open
 * between pages. `client` must be a dedicated connection (the sealer's holds the stream lock).
 */
export async function streamWindow(
  client: PoolClient,
  stream: { namespace: string; retention_class: string },
  first: Position,
  last: Position,
  pageSize: number,
  onPage: (rows: SealRow[]) => void | Promise<void>,
  onWait: (ms: number) => void = () => {},
): Promise<void> {
  let rows: SealRow[] = [];
  const visitor: RowVisitor = {
    row: (r) => rows.push(decodeSealRow(r)),
    page: () => {
      const page = rows;
      rows = [];
      return page.length > 0 ? onPage(page) : undefined;
    },
  };
  await visitWindow(client, stream, { first, last }, visitor, pageSize, onWait);
}

/**
 * The sealer's read: each row of `window` in leaf order as a RowView (fields numbered by
 * SEAL_COLUMN), with no object made per row; `visitor.page` is awaited every `pageSize` rows.
 */
export async function visitWindow(
  client: PoolClient,
  stream: { namespace: string; retention_class: string },
  window: WindowToRead,
  visitor: RowVisitor,
  pageSize: number,
  onWait: (ms: number) => void = () => {},
): Promise<void> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`page size must be a positive integer, got ${pageSize}`);
  let range: string;
  if ('after' in window) {
    if (!Number.isSafeInteger(window.limit) || window.limit < 1) throw new RangeError(`window limit must be a positive integer, got ${window.limit}`);
    const from = window.after ?? { txid: 0n, seq: 0n };
    range = `(txid, seq) > ${positionLiteral(from)} AND txid < ${BigInt(window.horizon).toString()}::text::xid8
    ORDER BY txid, seq LIMIT ${window.limit}`;
  } else {
    range = `(txid, seq) >= ${positionLiteral(window.first)} AND (txid, seq) <= ${positionLiteral(window.last)}
    ORDER BY txid, seq`;
  }
  // uuid, xid8 and timestamptz in their binary forms: converting them to text (or to numeric
  // epochs) costs the server more than sending them, and the client decodes them cheaply.
  const query = `SELECT ${Object.keys(SEAL_COLUMN).join(', ')}
    FROM wormseal.events
    WHERE namespace = ${client.escapeLiteral(stream.namespace)} AND retention_class = ${client.escapeLiteral(stream.retention_class)}
      AND ${range}`;
  // The window is one range of events_stream_order: read it in index order. Without this the
  // planner, misjudging the range's size from the row comparison, may pick a parallel scan and an
  // external sort of the whole window (twice the server time in the benchmark, and both cores).
  // JIT off too: a window scan does little per row, and Postgres compiles any statement costed
  // above jit_above_cost, as every window is; the compiled scan took more server time, not less.
  await client.query('SET enable_sort = off; SET jit = off');
  try {
    await copyOutBinary(client, query, visitor, pageSize, onWait);
  } finally {
    await client.query('RESET enable_sort; RESET jit');
  }
}

/** A position as an SQL row literal. COPY takes no bind parameters: literals are escaped by the driver, positions are bigints. */
export function positionLiteral(p: Position): string {
  return `(${BigInt(p.txid).toString()}::text::xid8, ${BigInt(p.seq).toString()}::bigint)`;
}

/** Milliseconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;

/**
 * A binary timestamptz (int64 microseconds since 2000-01-01 UTC) as floored epoch milliseconds:
 * what Date.parse makes of the canonical text, which carries up to microseconds. Exact: the
 * microsecond count of any date before year 2255 is below 2^53, and a floored quotient by 1000 of
 * such an integer is never off by the division's rounding.
 */
export function pgTimestampMs(b: Buffer, at = 0): number {
  const micros = b.readInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
  return Math.floor(micros / 1000) + PG_EPOCH_MS;
}

/** The canonical text form (8-4-4-4-12 lowercase hex) of a uuid's 16 bytes. */
export function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function decodeSealRow(r: RowView): SealRow {
  const C = SEAL_COLUMN;
  return {
    txid: r.bytes(C.txid)!,
    seq: r.bytes(C.seq)!,
    event_id: r.bytes(C.event_id)!,
    canonical: r.bytes(C.canonical)!,
    occurred_ms: pgTimestampMs(r.buf, r.start[C.occurred_at]!),
    recorded_ms: pgTimestampMs(r.buf, r.start[C.recorded_at]!),
    event_type: r.text(C.event_type)!,
    actor_id: r.text(C.actor_id)!,
    resource_type: r.text(C.resource_type),
    resource_id: r.text(C.resource_id),
    subject_id: r.text(C.subject_id),
  };
}

/** The xmin horizon: every transaction with a lower id has committed or aborted. */
export async function readHorizon(db: Queryable): Promise<bigint> {
  const res = await db.query<{ h: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h');
  return BigInt(res.rows[0]!.h);
}

/**
 * The open transaction that holds the horizon back: the one with the oldest transaction id, in
 * any database of the cluster (the horizon is cluster-wide), for the sealing-lag report.
 */
export async function oldestOpenTransaction(
  db: Queryable,
): Promise<{ pid: number; ageSeconds: number; state: string; database: string } | undefined> {
  const res = await db.query<{ pid: number; age: string; state: string; datname: string }>(
    `SELECT pid, extract(epoch FROM now() - xact_start)::text AS age, state, coalesce(datname, '') AS datname
     FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
     ORDER BY age(backend_xid) DESC LIMIT 1`,
  );
  const r = res.rows[0];
  return r ? { pid: r.pid, ageSeconds: Number(r.age), state: r.state, database: r.datname } : undefined;
}

export interface ActorEvent {
  event_id: string;
  occurred_at: Date;
  event_type: string;
  outcome: string;
  canonical: Buffer;
}

/**
 * Examination query (seed 001, step 6: "all actions by a specific user in a date range"): the hot
 * events of one actor with from <= occurred_at < to, oldest first, at most `limit`. Served by the
 * events_actor_time index (actor_id, occurred_at); page on by passing the last occurred_at as `from`
 * (events at exactly that instant may repeat: compare event ids).
 */
export async function findEventsByActor(
  db: Queryable,
  actorId: string,
  range: { from: Date; to: Date },
  limit = 1000,
): Promise<ActorEvent[]> {
  const res = await db.query<ActorEvent>(
    `SELECT event_id::text, occurred_at, event_type, outcome, canonical FROM wormseal.events
     WHERE actor_id = $1 AND occurred_at >= $2 AND occurred_at < $3
     ORDER BY actor_id, occurred_at LIMIT $4`,
    [actorId, range.from, range.to, limit],
  );
  return res.rows;
}
