import { HASH_SIZE } from '../merkle/hash.js';
import { copyOutBinary, type RowVisitor } from './copy.js';
import { positionLiteral } from './events.js';
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
 * leaf order. Shorter than leaf_count × 32 bytes when hot rows of the window were purged. Callers
 * compare the result with leaves they trust (a root, the sealed lines) and fall back to the rows
 * themselves on any difference.
 */
export async function readWindowLeafHashes(
  pool: Pool,
  b: Pick<ProofBatch, 'namespace' | 'retention_class' | 'first_txid' | 'first_seq' | 'last_txid' | 'last_seq'>,
  expectedRows = 2048,
): Promise<Buffer> {
  // One binary COPY of 32-byte rows, copied into one Buffer as they arrive. It replaced a single
  // string_agg value: aggregating cost the server more than sending rows (333k rows, µs per row,
  // server/client: 2.2–2.3/0.3–0.5 against 1.75/0.15). The rows come in index order: with
  // enable_sort on, the planner, misjudging the range's size from the row comparison, picks a
  // bitmap scan and a sort that spills to disk. JIT off, as for the sealer's window scan
  // (visitWindow): compiling this per-row hashing made it slower.
  return withTransaction(pool, async (c) => {
    await c.query('SET LOCAL enable_sort = off; SET LOCAL jit = off');
    // Room for the rows the caller expects (the batch's leaf count), grown if there are more.
    let out = Buffer.allocUnsafe(Math.max(1, Math.min(expectedRows, 1 << 22)) * HASH_SIZE);
    let n = 0;
    const visitor: RowVisitor = {
      row(r) {
        const len = r.length[0]!;
        if (len !== HASH_SIZE) throw new Error(`leaf hash of ${len} bytes from Postgres`);
        if (n + HASH_SIZE > out.length) {
          const grown = Buffer.allocUnsafe(out.length * 2);
          out.copy(grown, 0, 0, n);
          out = grown;
        }
        // 32 bytes by hand: Buffer#copy's fixed cost was ~0.27 µs a row, a quarter of the
        // verifier's main thread outside garbage collection (--cpu-prof, 1M rows).
        const buf = r.buf;
        for (let i = 0, from = r.start[0]!; i < HASH_SIZE; i++) out[n + i] = buf[from + i]!;
        n += HASH_SIZE;
      },
      page() {},
    };
    const query = `SELECT sha256('\\x00'::bytea || e.canonical) FROM wormseal.events e
      WHERE e.namespace = ${c.escapeLiteral(b.namespace)} AND e.retention_class = ${c.escapeLiteral(b.retention_class)}
        AND (e.txid, e.seq) >= ${positionLiteral({ txid: BigInt(b.first_txid), seq: BigInt(b.first_seq) })}
        AND (e.txid, e.seq) <= ${positionLiteral({ txid: BigInt(b.last_txid), seq: BigInt(b.last_seq) })}
      ORDER BY e.txid, e.seq`;
    await copyOutBinary(c, query, visitor, Number.MAX_SAFE_INTEGER);
    return out.subarray(0, n);
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
