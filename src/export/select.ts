import type { Queryable } from '../db/pool.js';
import type { Selection } from './format.js';

/** Does one sealed event (its canonical JSON, parsed) match the selection? The authority on membership. */
export function matches(sel: Selection, e: Record<string, unknown>): boolean {
  if (sel.namespace !== undefined && e.namespace !== sel.namespace) return false;
  const at = Date.parse(String(e.occurred_at));
  if (sel.from !== undefined && at < Date.parse(sel.from)) return false;
  if (sel.to !== undefined && at > Date.parse(sel.to)) return false;
  if (sel.actor !== undefined && (e.actor as { id?: unknown } | undefined)?.id !== sel.actor) return false;
  if (sel.resource !== undefined) {
    const r = e.resource as { type?: unknown; id?: unknown } | undefined;
    if (r?.type !== sel.resource.type || r?.id !== sel.resource.id) return false;
  }
  if (sel.subject !== undefined && e.subject_id !== sel.subject) return false;
  return true;
}

export interface CandidateBatch {
  namespace: string;
  retention_class: string;
  batch_no: number;
}

/**
 * Sealed batches that can hold a selected event: those whose window contains a matching hot row,
 * plus every batch missing some of its hot rows (purged), which only its data object can answer.
 * Expired (tombstoned) batches have no objects left to export.
 * False positives are fine — membership is decided by matches() on the sealed lines — misses not.
 */
export async function candidateBatches(db: Queryable, sel: Selection): Promise<CandidateBatch[]> {
  const res = await db.query<{ namespace: string; retention_class: string; batch_no: number }>(
    `WITH m AS (
       SELECT e.namespace, e.retention_class, e.txid, e.seq FROM wormseal.events e
       WHERE ($1::text IS NULL OR e.namespace = $1) AND ($2::timestamptz IS NULL OR e.occurred_at >= $2)
         AND ($3::timestamptz IS NULL OR e.occurred_at <= $3) AND ($4::text IS NULL OR e.actor_id = $4)
         AND ($5::text IS NULL OR (e.resource_type = $5 AND e.resource_id = $6)) AND ($7::text IS NULL OR e.subject_id = $7))
     SELECT DISTINCT b.namespace, b.retention_class, b.batch_no::int AS batch_no
     FROM wormseal.batches b JOIN m ON m.namespace = b.namespace AND m.retention_class = b.retention_class
       AND (m.txid, m.seq) >= (b.first_txid, b.first_seq) AND (m.txid, m.seq) <= (b.last_txid, b.last_seq)
     WHERE b.state = 'sealed'
     UNION
     SELECT b.namespace, b.retention_class, b.batch_no::int FROM wormseal.batches b
     WHERE b.state = 'sealed' AND ($1::text IS NULL OR b.namespace = $1)
       AND NOT EXISTS (SELECT 1 FROM wormseal.tombstones t
         WHERE t.namespace = b.namespace AND t.retention_class = b.retention_class AND t.batch_no = b.batch_no)
       AND b.leaf_count > (SELECT count(*) FROM wormseal.events e
         WHERE e.namespace = b.namespace AND e.retention_class = b.retention_class
           AND (e.txid, e.seq) >= (b.first_txid, b.first_seq) AND (e.txid, e.seq) <= (b.last_txid, b.last_seq))
     ORDER BY 1, 2, 3`,
    [
      sel.namespace ?? null,
      sel.from ?? null,
      sel.to ?? null,
      sel.actor ?? null,
      sel.resource?.type ?? null,
      sel.resource?.id ?? null,
      sel.subject ?? null,
    ],
  );
  return res.rows;
}
