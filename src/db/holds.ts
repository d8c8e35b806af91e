import type { BatchIndex } from '../holds/keyindex.js';
import type { HoldScope } from '../holds/scope.js';
import type { StreamId } from './batches.js';
import type { Queryable } from './pool.js';

/**
 * Holds registry, hold coverage and the per-batch key index (migration 002). Each object's S3
 * legal-hold flag must equal "some active hold covers its batch"; batches.legal_hold_applied
 * records what was last set, NULL while it is being changed.
 */

export interface BatchRef extends StreamId {
  batch_no: number;
}

export interface HoldRow {
  hold_id: number;
  matter: string;
  scope: HoldScope;
  reason: string;
  placed_by: string;
  placed_at: Date;
  released_at: Date | null;
  released_by: string | null;
  release_reason: string | null;
}

const HOLD_COLUMNS = `hold_id::int, matter, scope, reason, placed_by, placed_at, released_at, released_by, release_reason`;

// Holds and index are read and changed under this lock: exclusive for placing and releasing a hold,
// shared for the sealer's commit, expiry and purge. So a batch sealed while a hold is placed is
// either indexed before the hold looks, or sees the hold when it commits.
const HOLDS_LOCK = `hashtextextended('wormseal.holds', 0)`;

export async function lockHoldsExclusive(db: Queryable): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(${HOLDS_LOCK})`);
}

export async function lockHoldsShared(db: Queryable): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock_shared(${HOLDS_LOCK})`);
}

export async function insertBatchIndex(db: Queryable, b: BatchRef, idx: BatchIndex): Promise<void> {
  // The window's rows are final, so a resumed batch computes the same index: keep the first.
  await db.query(
    `INSERT INTO wormseal.batch_index (namespace, retention_class, batch_no, occurred_min, occurred_max, event_types,
       actors, resources, subjects)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
    [b.namespace, b.retention_class, b.batch_no, idx.occurred_min, idx.occurred_max, idx.event_types, idx.actors, idx.resources, idx.subjects],
  );
}

export async function listActiveHolds(db: Queryable): Promise<HoldRow[]> {
  const res = await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM wormseal.holds WHERE released_at IS NULL ORDER BY hold_id`);
  return res.rows;
}

export async function listHolds(db: Queryable, opts: { all: boolean }): Promise<(HoldRow & { batches: number })[]> {
  const res = await db.query<HoldRow & { batches: number }>(
    `SELECT ${HOLD_COLUMNS}, (SELECT count(*)::int FROM wormseal.hold_batches hb WHERE hb.hold_id = h.hold_id) AS batches
     FROM wormseal.holds h WHERE $1 OR released_at IS NULL ORDER BY hold_id`,
    [opts.all],
  );
  return res.rows;
}

/** The active hold of a matter, else its most recent one. */
export async function findHold(db: Queryable, matter: string): Promise<HoldRow | undefined> {
  const res = await db.query<HoldRow>(
    `SELECT ${HOLD_COLUMNS} FROM wormseal.holds WHERE matter = $1 ORDER BY released_at IS NULL DESC, hold_id DESC LIMIT 1`,
    [matter],
  );
  return res.rows[0];
}

export async function insertHold(
  db: Queryable,
  h: { matter: string; scope: HoldScope; reason: string; placed_by: string; placed_at: Date },
): Promise<HoldRow> {
  const res = await db.query<HoldRow>(
    `INSERT INTO wormseal.holds (matter, scope, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${HOLD_COLUMNS}`,
    [h.matter, JSON.stringify(h.scope), h.reason, h.placed_by, h.placed_at],
  );
  return res.rows[0]!;
}

export async function markHoldReleased(db: Queryable, holdId: number, by: string, reason: string, at: Date): Promise<HoldRow> {
  const res = await db.query<HoldRow>(
    `UPDATE wormseal.holds SET released_at = $2, released_by = $3, release_reason = $4
     WHERE hold_id = $1 AND released_at IS NULL RETURNING ${HOLD_COLUMNS}`,
    [holdId, at, by, reason],
  );
  return res.rows[0]!;
}

export interface IndexedBatch extends BatchRef {
  index: BatchIndex | null;
  hot_purged: boolean;
}

/**
 * Sealed, not expired batches a scope may reach, narrowed in SQL by namespace and time range; the
 * Bloom and event-type checks are left to the caller. Batches sealed before the index existed have
 * no index row and are returned with `index: null` (the caller holds them: never a miss).
 */
export async function listHoldCandidates(db: Queryable, scope: HoldScope): Promise<IndexedBatch[]> {
  const res = await db.query<{
    namespace: string;
    retention_class: string;
    batch_no: string;
    hot_purged: boolean;
    occurred_min: Date | null;
    occurred_max: Date | null;
    event_types: string[] | null;
    actors: Buffer | null;
    resources: Buffer | null;
    subjects: Buffer | null;
  }>(
    `SELECT b.namespace, b.retention_class, b.batch_no::text, b.hot_purged_at IS NOT NULL AS hot_purged,
            i.occurred_min, i.occurred_max, i.event_types, i.actors, i.resources, i.subjects
     FROM wormseal.batches b
     LEFT JOIN wormseal.batch_index i USING (namespace, retention_class, batch_no)
     WHERE b.state = 'sealed'
       AND NOT EXISTS (SELECT 1 FROM wormseal.tombstones t
                       WHERE t.namespace = b.namespace AND t.retention_class = b.retention_class AND t.batch_no = b.batch_no)
       AND ($1::text IS NULL OR b.namespace = $1)
       AND (i.batch_no IS NULL OR (($2::timestamptz IS NULL OR i.occurred_max + interval '1 millisecond' >= $2)
                                   AND ($3::timestamptz IS NULL OR i.occurred_min <= $3)))
     ORDER BY b.namespace, b.retention_class, b.batch_no`,
    [scope.namespace ?? null, scope.from ?? null, scope.to ?? null],
  );
  return res.rows.map((r) => ({
    namespace: r.namespace,
    retention_class: r.retention_class,
    batch_no: Number(r.batch_no),
    hot_purged: r.hot_purged,
    index:
      r.occurred_min && r.occurred_max && r.event_types
        ? {
            occurred_min: r.occurred_min,
            occurred_max: r.occurred_max,
            event_types: r.event_types,
            actors: r.actors,
            resources: r.resources,
            subjects: r.subjects,
          }
        : null,
  }));
}

function eventTypeRegex(pattern: string): string {
  const segs = pattern.split('.');
  const last = segs.length - 1;
  // Same semantics as matchesPattern: `*` is one segment; a trailing `*` also covers deeper nesting.
  return '^' + segs.map((s, i) => (s === '*' ? (i === last ? '.+' : '[^.]+') : s)).join('\\.') + '$';
}

/**
 * Do the hot rows of a batch show an event matching the scope? undefined when the batch's rows are
 * gone (purged), so a Bloom match cannot be confirmed either way.
 */
export async function confirmFromHotRows(db: Queryable, b: IndexedBatch, scope: HoldScope): Promise<boolean | undefined> {
  if (b.hot_purged) return undefined;
  const res = await db.query<{ hit: boolean; n: string }>(
    `SELECT count(*)::text AS n,
            coalesce(bool_or(($4::text IS NULL OR e.actor_id = $4)
                 AND ($5::text IS NULL OR (e.resource_type = $5 AND e.resource_id = $6))
                 AND ($7::text IS NULL OR e.subject_id = $7)
                 AND ($8::text IS NULL OR e.event_type ~ $8)
                 AND ($9::timestamptz IS NULL OR e.occurred_at >= $9)
                 AND ($10::timestamptz IS NULL OR e.occurred_at <= $10)), false) AS hit
     FROM wormseal.batches bt
     JOIN wormseal.events e ON e.namespace = bt.namespace AND e.retention_class = bt.retention_class
       AND (e.txid, e.seq) >= (bt.first_txid, bt.first_seq) AND (e.txid, e.seq) <= (bt.last_txid, bt.last_seq)
     WHERE bt.namespace = $1 AND bt.retention_class = $2 AND bt.batch_no = $3`,
    [
      b.namespace,
      b.retention_class,
      b.batch_no,
      scope.actor ?? null,
      scope.resource?.type ?? null,
      scope.resource?.id ?? null,
      scope.subject ?? null,
      scope.event_type ? eventTypeRegex(scope.event_type) : null,
      scope.from ?? null,
      scope.to ?? null,
    ],
  );
  const r = res.rows[0]!;
  return Number(r.n) === 0 ? undefined : r.hit;
}

export async function insertHoldBatch(db: Queryable, holdId: number, b: BatchRef, confirmed: boolean | undefined): Promise<void> {
  await db.query(
    `INSERT INTO wormseal.hold_batches (hold_id, namespace, retention_class, batch_no, confirmed)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [holdId, b.namespace, b.retention_class, b.batch_no, confirmed ?? null],
  );
}

export interface CoveredBatch extends BatchRef {
  confirmed: boolean | null;
  data_key: string;
  data_version_id: string;
  manifest_key: string;
  manifest_version_id: string;
  expired: boolean;
  /** Some active hold (this one or another) covers the batch. */
  held: boolean;
}

export async function listHoldBatches(db: Queryable, holdId: number): Promise<CoveredBatch[]> {
  const res = await db.query<CoveredBatch & { batch_no: string }>(
    `SELECT hb.namespace, hb.retention_class, hb.batch_no::text, hb.confirmed, b.data_key, b.data_version_id, b.manifest_key,
            b.manifest_version_id, t.batch_no IS NOT NULL AS expired, ${DESIRED} AS held
     FROM wormseal.hold_batches hb
     JOIN wormseal.batches b USING (namespace, retention_class, batch_no)
     LEFT JOIN wormseal.tombstones t USING (namespace, retention_class, batch_no)
     WHERE hb.hold_id = $1 ORDER BY hb.namespace, hb.retention_class, hb.batch_no`,
    [holdId],
  );
  return res.rows.map((r) => ({ ...r, batch_no: Number(r.batch_no) }));
}

// "Some active hold covers batch b" — the flag every object of b must carry.
const DESIRED = `EXISTS (SELECT 1 FROM wormseal.hold_batches hb JOIN wormseal.holds h USING (hold_id)
  WHERE h.released_at IS NULL AND hb.namespace = b.namespace AND hb.retention_class = b.retention_class
    AND hb.batch_no = b.batch_no)`;

/**
 * Mark the batches of a hold whose flag may have to change as "being changed" (NULL), in the
 * transaction that places or releases the hold, before any object is touched.
 */
export async function markHoldBatchesDirty(db: Queryable, holdId: number): Promise<number> {
  const res = await db.query(
    `UPDATE wormseal.batches b SET legal_hold_applied = NULL
     FROM wormseal.hold_batches x
     WHERE x.hold_id = $1 AND b.namespace = x.namespace AND b.retention_class = x.retention_class AND b.batch_no = x.batch_no
       AND b.legal_hold_applied IS DISTINCT FROM ${DESIRED}`,
    [holdId],
  );
  return res.rowCount ?? 0;
}

export interface FlagWork extends BatchRef {
  desired: boolean;
  data_key: string;
  data_version_id: string;
  manifest_key: string;
  manifest_version_id: string;
}

/** Sealed, unexpired batches whose recorded flag differs from (or is unknown against) the desired one. */
export async function listFlagWork(db: Queryable, limit: number): Promise<FlagWork[]> {
  const res = await db.query<FlagWork & { batch_no: string }>(
    `SELECT * FROM (
       SELECT b.namespace, b.retention_class, b.batch_no::text, b.data_key, b.data_version_id, b.manifest_key,
              b.manifest_version_id, b.legal_hold_applied, ${DESIRED} AS desired
       FROM wormseal.batches b
       WHERE b.state = 'sealed'
         AND NOT EXISTS (SELECT 1 FROM wormseal.tombstones t
                         WHERE t.namespace = b.namespace AND t.retention_class = b.retention_class AND t.batch_no = b.batch_no
                           AND t.expired_at IS NOT NULL)) w
     WHERE w.legal_hold_applied IS DISTINCT FROM w.desired
     ORDER BY namespace, retention_class, batch_no LIMIT $1`,
    [limit],
  );
  return res.rows.map((r) => ({ ...r, batch_no: Number(r.batch_no) }));
}

/**
 * Record the flag just set on a batch's objects, only if it is still the desired one: a hold placed
 * or released meanwhile has set the batch to NULL and the next pass sets it again.
 */
export async function recordFlagApplied(db: Queryable, b: BatchRef, flag: boolean): Promise<boolean> {
  const res = await db.query(
    `UPDATE wormseal.batches b SET legal_hold_applied = $4
     WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3 AND ${DESIRED} = $4`,
    [b.namespace, b.retention_class, b.batch_no, flag],
  );
  return res.rowCount === 1;
}

/** Set the recorded flag of a batch outright (the sealer, in its commit transaction). */
export async function setFlagApplied(db: Queryable, b: BatchRef, flag: boolean | null): Promise<void> {
  await db.query(`UPDATE wormseal.batches SET legal_hold_applied = $4 WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3`, [
    b.namespace,
    b.retention_class,
    b.batch_no,
    flag,
  ]);
}

/** Per batch number of a stream: is it covered by an active hold (what verify expects of its objects)? */
export async function heldBatchNumbers(db: Queryable, s: StreamId): Promise<Set<number>> {
  const res = await db.query<{ batch_no: string }>(
    `SELECT DISTINCT hb.batch_no::text FROM wormseal.hold_batches hb JOIN wormseal.holds h USING (hold_id)
     WHERE h.released_at IS NULL AND hb.namespace = $1 AND hb.retention_class = $2`,
    [s.namespace, s.retention_class],
  );
  return new Set(res.rows.map((r) => Number(r.batch_no)));
}

/** Is a batch covered by an active hold? */
export async function isBatchHeld(db: Queryable, b: BatchRef): Promise<boolean> {
  const res = await db.query<{ held: boolean }>(
    `SELECT ${DESIRED} AS held FROM (SELECT $1::text AS namespace, $2::text AS retention_class, $3::bigint AS batch_no) b`,
    [b.namespace, b.retention_class, b.batch_no],
  );
  return res.rows[0]!.held;
}
