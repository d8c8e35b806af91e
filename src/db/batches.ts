import type { Position } from './events.js';
import type { Queryable } from './pool.js';

export interface StreamId {
  namespace: string;
  retention_class: string;
}

export type BatchState = 'pending' | 'sealed';

export interface BatchRow extends StreamId {
  batch_no: number;
  state: BatchState;
  first: Position;
  last: Position;
  leaf_count: number;
  sealed_at: Date;
  retain_until: Date;
  data_key: string;
  manifest_key: string;
  root: Buffer | null;
  data_sha256: Buffer | null;
  data_bytes: number | null;
  manifest_sha256: Buffer | null;
  prev_manifest_sha256: Buffer | null;
  data_version_id: string | null;
  manifest_version_id: string | null;
  committed_at: Date | null;
}

// Numbers come back as text (no float rounding); ORDER BY must then name the table column, or
// Postgres sorts by the text output column of the same name ('10' < '9').
const COLUMNS = `namespace, retention_class, batch_no::text, state, first_txid::text, first_seq::text,
  last_txid::text, last_seq::text, leaf_count, sealed_at, retain_until, data_key, manifest_key, root,
  data_sha256, data_bytes::text, manifest_sha256, prev_manifest_sha256, data_version_id,
  manifest_version_id, committed_at`;

interface RawBatch {
  namespace: string;
  retention_class: string;
  batch_no: string;
  state: BatchState;
  first_txid: string;
  first_seq: string;
  last_txid: string;
  last_seq: string;
  leaf_count: number;
  sealed_at: Date;
  retain_until: Date;
  data_key: string;
  manifest_key: string;
  root: Buffer | null;
  data_sha256: Buffer | null;
  data_bytes: string | null;
  manifest_sha256: Buffer | null;
  prev_manifest_sha256: Buffer | null;
  data_version_id: string | null;
  manifest_version_id: string | null;
  committed_at: Date | null;
}

function toRow(r: RawBatch): BatchRow {
  return {
    namespace: r.namespace,
    retention_class: r.retention_class,
    batch_no: Number(r.batch_no),
    state: r.state,
    first: { txid: BigInt(r.first_txid), seq: BigInt(r.first_seq) },
    last: { txid: BigInt(r.last_txid), seq: BigInt(r.last_seq) },
    leaf_count: r.leaf_count,
    sealed_at: r.sealed_at,
    retain_until: r.retain_until,
    data_key: r.data_key,
    manifest_key: r.manifest_key,
    root: r.root,
    data_sha256: r.data_sha256,
    data_bytes: r.data_bytes === null ? null : Number(r.data_bytes),
    manifest_sha256: r.manifest_sha256,
    prev_manifest_sha256: r.prev_manifest_sha256,
    data_version_id: r.data_version_id,
    manifest_version_id: r.manifest_version_id,
    committed_at: r.committed_at,
  };
}

/**
 * Register every stream that has committed events, with a loose index scan over
 * events_stream_order (one index probe per stream, not a scan of all events). Done by the sealer
 * rather than by writers: a writer registering a new stream inside its own transaction would make
 * every other writer of that stream wait for it, and could deadlock with one creating streams in
 * another order.
 */
export async function registerStreams(db: Queryable): Promise<void> {
  await db.query(
    `WITH RECURSIVE s(namespace, retention_class) AS (
       (SELECT namespace, retention_class FROM wormseal.events ORDER BY namespace, retention_class LIMIT 1)
       UNION ALL
       SELECT n.namespace, n.retention_class FROM s, LATERAL (
         SELECT e.namespace, e.retention_class FROM wormseal.events e
         WHERE (e.namespace, e.retention_class) > (s.namespace, s.retention_class)
         ORDER BY e.namespace, e.retention_class LIMIT 1) n)
     INSERT INTO wormseal.streams (namespace, retention_class)
     SELECT namespace, retention_class FROM s ON CONFLICT DO NOTHING`,
  );
}

export async function listStreams(db: Queryable, namespace?: string): Promise<StreamId[]> {
  const res = await db.query<StreamId>(
    `SELECT namespace, retention_class FROM wormseal.streams
     WHERE $1::text IS NULL OR namespace = $1 ORDER BY namespace, retention_class`,
    [namespace ?? null],
  );
  return res.rows;
}

/** The highest-numbered batch of a stream (pending or sealed). */
export async function findHeadBatch(db: Queryable, s: StreamId): Promise<BatchRow | undefined> {
  const res = await db.query<RawBatch>(
    `SELECT ${COLUMNS} FROM wormseal.batches WHERE namespace = $1 AND retention_class = $2
     ORDER BY wormseal.batches.batch_no DESC LIMIT 1`,
    [s.namespace, s.retention_class],
  );
  return res.rows[0] ? toRow(res.rows[0]) : undefined;
}

export async function findBatch(db: Queryable, s: StreamId, batchNo: number): Promise<BatchRow | undefined> {
  const res = await db.query<RawBatch>(
    `SELECT ${COLUMNS} FROM wormseal.batches WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3`,
    [s.namespace, s.retention_class, batchNo],
  );
  return res.rows[0] ? toRow(res.rows[0]) : undefined;
}

export async function listBatches(db: Queryable, s: StreamId): Promise<BatchRow[]> {
  const res = await db.query<RawBatch>(
    `SELECT ${COLUMNS} FROM wormseal.batches WHERE namespace = $1 AND retention_class = $2
     ORDER BY wormseal.batches.batch_no`,
    [s.namespace, s.retention_class],
  );
  return res.rows.map(toRow);
}

export interface PendingBatch extends StreamId {
  batch_no: number;
  first: Position;
  last: Position;
  leaf_count: number;
  sealed_at: Date;
  retain_until: Date;
  data_key: string;
  manifest_key: string;
}

/** Step (a) of the sealing protocol: claim the next window before anything is uploaded. */
export async function insertPendingBatch(db: Queryable, b: PendingBatch): Promise<void> {
  await db.query(
    `INSERT INTO wormseal.batches (namespace, retention_class, batch_no, state, first_txid, first_seq,
       last_txid, last_seq, leaf_count, sealed_at, retain_until, data_key, manifest_key)
     VALUES ($1, $2, $3, 'pending', $4::xid8, $5, $6::xid8, $7, $8, $9, $10, $11, $12)`,
    [
      b.namespace,
      b.retention_class,
      b.batch_no,
      b.first.txid.toString(),
      b.first.seq.toString(),
      b.last.txid.toString(),
      b.last.seq.toString(),
      b.leaf_count,
      b.sealed_at,
      b.retain_until,
      b.data_key,
      b.manifest_key,
    ],
  );
}

export interface SealedFields {
  root: Buffer;
  data_sha256: Buffer;
  data_bytes: number;
  manifest_sha256: Buffer;
  prev_manifest_sha256: Buffer | null;
  data_version_id: string;
  manifest_version_id: string;
  committed_at: Date;
}

/**
 * Step (e): the batch becomes sealed, which is also what advances the stream's cursor and chain
 * head (they are read from the highest sealed batch). Only a pending row may be sealed: returns
 * false if someone else got there first.
 */
export async function markBatchSealed(db: Queryable, s: StreamId, batchNo: number, f: SealedFields): Promise<boolean> {
  const res = await db.query(
    `UPDATE wormseal.batches SET state = 'sealed', root = $4, data_sha256 = $5, data_bytes = $6,
       manifest_sha256 = $7, prev_manifest_sha256 = $8, data_version_id = $9, manifest_version_id = $10,
       committed_at = $11
     WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3 AND state = 'pending'`,
    [
      s.namespace,
      s.retention_class,
      batchNo,
      f.root,
      f.data_sha256,
      f.data_bytes,
      f.manifest_sha256,
      f.prev_manifest_sha256,
      f.data_version_id,
      f.manifest_version_id,
      f.committed_at,
    ],
  );
  return res.rowCount === 1;
}

/** Stream-scoped session advisory lock: one sealer per stream across every process. */
export async function tryLockStream(db: Queryable, s: StreamId): Promise<boolean> {
  const res = await db.query<{ ok: boolean }>(
    `SELECT pg_try_advisory_lock(hashtextextended('wormseal.seal:' || $1 || '/' || $2, 0)) AS ok`,
    [s.namespace, s.retention_class],
  );
  return res.rows[0]!.ok;
}

export async function unlockStream(db: Queryable, s: StreamId): Promise<void> {
  await db.query(`SELECT pg_advisory_unlock(hashtextextended('wormseal.seal:' || $1 || '/' || $2, 0))`, [
    s.namespace,
    s.retention_class,
  ]);
}
