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

/**
 * Finds, in the lines of a data object, those that cannot match a selection without parsing them:
 * what verify-bundle's completeness check asks of every line of every batch it includes (parsing
 * each one cost ~3 µs of a ~10 µs check per line).
 *
 * Sound for any JSON, canonical or not. A line holding no backslash holds every string literally:
 * a string value equal to `v` appears as the bytes of JSON.stringify(v) (`"v"`, UTF-8), and one
 * that needs escaping cannot appear at all. So a line without a backslash that lacks one needle
 * of the selection (namespace, actor, resource type and id, subject) cannot match; any other line
 * is parsed and judged by matches(). A value holding U+FFFD gets no needle: invalid UTF-8 in a line
 * decodes to U+FFFD, and could equal it without its bytes. Times are always left to matches().
 */
export class SelectionPrefilter {
  /** Each selected value as JSON writes it inside its quotes (UTF-8); never empty. */
  private readonly needles: Buffer[];

  constructor(sel: Selection) {
    const values = [sel.namespace, sel.actor, sel.resource?.type, sel.resource?.id, sel.subject];
    this.needles = values
      .filter((v): v is string => v !== undefined && v !== '' && !v.includes('\uFFFD'))
      .map((v) => Buffer.from(JSON.stringify(v).slice(1, -1), 'utf8'));
  }

  /**
   * For the lines of one buffer, in order: can line [start, end) match? Each call must start at
   * or after the previous call's end (one pass; each needle and backslash is searched once).
   */
  scanner(raw: Buffer): (start: number, end: number) => boolean {
    if (this.needles.length === 0) return () => true;
    const backslash = new NextAt(raw, Buffer.from('\\'), false);
    const found = this.needles.map((n) => new NextAt(raw, n, true));
    return (start, end) => backslash.within(start, end) || found.every((f) => f.within(start, end));
  }
}

/**
 * The next occurrence of a needle at or after a position, searched again only when passed. Quoted:
 * only occurrences with a '"' on both sides count. The needle is searched without its quotes:
 * JSON is full of quotes, and a pattern ending in one is searched several times slower.
 */
class NextAt {
  private at = -2;

  constructor(
    private readonly raw: Buffer,
    private readonly needle: Buffer,
    private readonly quoted: boolean,
  ) {}

  /** Does the needle (with its quotes) lie entirely inside [start, end)? `start` never moves backwards. */
  within(start: number, end: number): boolean {
    const q = this.quoted ? 1 : 0;
    if (this.at !== -1 && this.at - q < start) this.at = this.next(start + q);
    return this.at !== -1 && this.at + this.needle.length + q <= end;
  }

  private next(from: number): number {
    const { raw, needle } = this;
    let at = raw.indexOf(needle, from);
    if (this.quoted) {
      while (at !== -1 && !(raw[at - 1] === 0x22 && raw[at + needle.length] === 0x22)) at = raw.indexOf(needle, at + 1);
    }
    return at;
  }
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
