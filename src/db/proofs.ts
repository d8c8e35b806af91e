import { withTransaction, type Pool, type Queryable } from './pool.js';

/** A sealed batch as a proof needs it (every digest and version id present). */
export interface ProofBatch {
  namespace: string;
  retention_class: string;
  batch_no: number;
  leaf_count: number;
  first_txid: string;
  first_seq: string;
  last_txid: string;
  last_seq: string;
  root: Buffer;
  data_key: string;
  data_version_id: string;
  data_sha256: Buffer;
  manifest_key: string;
  manifest_version_id: string;
  manifest_sha256: Buffer;
}

const COLUMNS = `b.namespace, b.retention_class, b.batch_no::int AS batch_no, b.leaf_count, b.first_txid::text AS first_txid,
  b.first_seq::text AS first_seq, b.last_txid::text AS last_txid, b.last_seq::text AS last_seq, b.root, b.data_key,
  b.data_version_id, b.data_sha256, b.manifest_key, b.manifest_version_id, b.manifest_sha256`;

/**
 * An event's canonical bytes and the sealed batch whose window holds its (txid, seq), in one query.
 * `batch` is undefined while the event waits for sealing; the result is undefined for an unknown id.
 */
export async function findEventPosition(
  db: Queryable,
  eventId: string,
): Promise<{ canonical: Buffer; batch: ProofBatch | undefined } | undefined> {
  const res = await db.query<{ canonical: Buffer; batch: ProofBatch | null }>(
    `SELECT e.canonical, (SELECT row_to_json(x) FROM (
         SELECT ${COLUMNS} FROM wormseal.batches b
         WHERE b.namespace = e.namespace AND b.retention_class = e.retention_class AND b.state = 'sealed'
           AND (b.first_txid, b.first_seq) <= (e.txid, e.seq) AND (b.last_txid, b.last_seq) >= (e.txid, e.seq)
         LIMIT 1) x) AS batch
     FROM wormseal.events e WHERE e.event_id = $1::uuid`,
    [eventId],
  );
  const r = res.rows[0];
  if (!r) return undefined;
  return { canonical: r.canonical, batch: r.batch ? fromJson(r.batch) : undefined };
}

// row_to_json renders bytea as '\x…' hex text.
function fromJson(b: ProofBatch): ProofBatch {
  const hex = (v: unknown) => Buffer.from(String(v).slice(2), 'hex');
  return { ...b, root: hex(b.root), data_sha256: hex(b.data_sha256), manifest_sha256: hex(b.manifest_sha256) };
}

/** Sealed batches `from.batch_no`..`toBatchNo` of from's stream, in order. */
export async function listBatchRange(
  db: Queryable,
  from: { namespace: string; retention_class: string; batch_no: number },
  toBatchNo: number,
): Promise<ProofBatch[]> {
  const res = await db.query<ProofBatch>(
    `SELECT ${COLUMNS} FROM wormseal.batches b
     WHERE b.namespace = $1 AND b.retention_class = $2 AND b.state = 'sealed' AND b.batch_no BETWEEN $3 AND $4
     ORDER BY b.batch_no`,
    [from.namespace, from.retention_class, from.batch_no, toBatchNo],
  );
  return res.rows;
}

/**
 * The RFC 6962 leaf hashes of a batch's window, computed by Postgres and returned concatenated in
 * leaf order (one value, not one row per leaf). Shorter than leaf_count × 32 bytes when hot rows
 * of the window were purged. Callers compare the result with leaves they trust (a root, the sealed
 * lines) and fall back to the rows themselves on any difference.
 */
export async function readWindowLeafHashes(
  pool: Pool,
  b: Pick<ProofBatch, 'namespace' | 'retention_class' | 'first_txid' | 'first_seq' | 'last_txid' | 'last_seq'>,
): Promise<Buffer> {
  // The window is one range of events_stream_order: its rows are read in index order and
  // aggregated as they come. string_agg(... ORDER BY) would sort every row again (PostgreSQL 15
  // sorts inside ordered aggregates whatever the input order), and with enable_sort on the planner,
  // misjudging the range's size from the row comparison, picks a bitmap scan and a sort that
  // spills to disk: both cost more server time than hashing the rows. JIT off, as for the
  // sealer's window scan (visitWindow): compiling this per-row hashing made it slower.
  return withTransaction(pool, async (c) => {
    await c.query('SET LOCAL enable_sort = off; SET LOCAL jit = off');
    const res = await c.query<{ leaves: Buffer | null }>(
      `SELECT string_agg(w.leaf, ''::bytea) AS leaves FROM (
         SELECT sha256('\\x00'::bytea || e.canonical) AS leaf
         FROM wormseal.events e
         WHERE e.namespace = $1 AND e.retention_class = $2
           AND (e.txid, e.seq) >= ($3::xid8, $4::bigint) AND (e.txid, e.seq) <= ($5::xid8, $6::bigint)
         ORDER BY e.txid, e.seq) w`,
      [b.namespace, b.retention_class, b.first_txid, b.first_seq, b.last_txid, b.last_seq],
    );
    return res.rows[0]?.leaves ?? Buffer.alloc(0);
  });
}

/** Sealed batches with fewer hot rows in their window than leaves: their rows were (partly) purged. */
export async function listPurgedBatches(db: Queryable, namespace?: string): Promise<ProofBatch[]> {
  const res = await db.query<ProofBatch>(
    `SELECT ${COLUMNS} FROM wormseal.batches b
     WHERE b.state = 'sealed' AND ($1::text IS NULL OR b.namespace = $1)
       AND b.leaf_count > (SELECT count(*) FROM wormseal.events e
         WHERE e.namespace = b.namespace AND e.retention_class = b.retention_class
           AND (e.txid, e.seq) >= (b.first_txid, b.first_seq) AND (e.txid, e.seq) <= (b.last_txid, b.last_seq))
     ORDER BY b.namespace, b.retention_class, b.batch_no`,
    [namespace ?? null],
  );
  return res.rows;
}
