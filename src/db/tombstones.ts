import type { BatchRef } from './holds.js';
import type { StreamId } from './batches.js';
import type { Queryable } from './pool.js';

/** Tombstones of expired batches (migration 002) and the retention-related registry reads. */
export interface Tombstone extends BatchRef {
  manifest_sha256: Buffer;
  root: Buffer;
  leaf_count: number;
  occurred_min: Date | null;
  occurred_max: Date | null;
  sealed_at: Date;
  retain_until: Date;
  duration: string;
  citation: string;
  data_key: string;
  data_version_id: string;
  manifest_key: string;
  manifest_version_id: string;
  started_at: Date;
  /** null: deletion started and not finished (a crash; the next apply finishes it). */
  expired_at: Date | null;
}

const COLUMNS = `namespace, retention_class, batch_no::int, manifest_sha256, root, leaf_count, occurred_min, occurred_max,
  sealed_at, retain_until, duration, citation, data_key, data_version_id, manifest_key, manifest_version_id, started_at, expired_at`;

export async function listTombstones(db: Queryable, s: StreamId): Promise<Map<number, Tombstone>> {
  const res = await db.query<Tombstone>(
    `SELECT ${COLUMNS} FROM wormseal.tombstones WHERE namespace = $1 AND retention_class = $2 ORDER BY batch_no`,
    [s.namespace, s.retention_class],
  );
  return new Map(res.rows.map((t) => [t.batch_no, t]));
}

/** Batch numbers of a stream whose hot rows were purged. */
export async function purgedBatchNumbers(db: Queryable, s: StreamId): Promise<Set<number>> {
  const res = await db.query<{ batch_no: number }>(
    `SELECT batch_no::int FROM wormseal.batches WHERE namespace = $1 AND retention_class = $2 AND hot_purged_at IS NOT NULL`,
    [s.namespace, s.retention_class],
  );
  return new Set(res.rows.map((r) => r.batch_no));
}

export interface ExpiryCandidate extends BatchRef {
  retain_until: Date;
  sealed_at: Date;
  leaf_count: number;
  root: Buffer;
  manifest_sha256: Buffer;
  data_key: string;
  data_version_id: string;
  manifest_key: string;
  manifest_version_id: string;
  occurred_min: Date | null;
  occurred_max: Date | null;
  /** A tombstone intent already exists: a previous run started deleting. */
  resuming: boolean;
}

/** Sealed batches past retain-until (by `now`) not yet fully expired, oldest first. */
export async function listExpiryCandidates(db: Queryable, now: Date): Promise<ExpiryCandidate[]> {
  const res = await db.query<ExpiryCandidate>(
    `SELECT b.namespace, b.retention_class, b.batch_no::int, b.retain_until, b.sealed_at, b.leaf_count, b.root, b.manifest_sha256,
            b.data_key, b.data_version_id, b.manifest_key, b.manifest_version_id, i.occurred_min, i.occurred_max,
            t.batch_no IS NOT NULL AS resuming
     FROM wormseal.batches b
     LEFT JOIN wormseal.batch_index i USING (namespace, retention_class, batch_no)
     LEFT JOIN wormseal.tombstones t USING (namespace, retention_class, batch_no)
     WHERE b.state = 'sealed' AND b.retain_until <= $1 AND t.expired_at IS NULL
     ORDER BY b.retain_until, b.namespace, b.retention_class, b.batch_no`,
    [now],
  );
  return res.rows;
}

export async function insertTombstoneIntent(
  db: Queryable,
  c: ExpiryCandidate,
  cls: { duration: string; citation: string },
  startedAt: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO wormseal.tombstones (namespace, retention_class, batch_no, manifest_sha256, root, leaf_count, occurred_min,
       occurred_max, sealed_at, retain_until, duration, citation, data_key, data_version_id, manifest_key, manifest_version_id,
       started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING`,
    [
      c.namespace,
      c.retention_class,
      c.batch_no,
      c.manifest_sha256,
      c.root,
      c.leaf_count,
      c.occurred_min,
      c.occurred_max,
      c.sealed_at,
      c.retain_until,
      cls.duration,
      cls.citation,
      c.data_key,
      c.data_version_id,
      c.manifest_key,
      c.manifest_version_id,
      startedAt,
    ],
  );
}

/** Withdraw an intent when the server refused the deletion before anything was deleted. */
export async function removeTombstoneIntent(db: Queryable, b: BatchRef): Promise<void> {
  await db.query(`DELETE FROM wormseal.tombstones WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3 AND expired_at IS NULL`, [
    b.namespace,
    b.retention_class,
    b.batch_no,
  ]);
}

export async function completeTombstone(db: Queryable, b: BatchRef, at: Date): Promise<boolean> {
  const res = await db.query(
    `UPDATE wormseal.tombstones SET expired_at = $4 WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3 AND expired_at IS NULL`,
    [b.namespace, b.retention_class, b.batch_no, at],
  );
  return res.rowCount === 1;
}

export interface RetentionRow extends BatchRef {
  sealed_at: Date;
  retain_until: Date;
  data_key: string;
  data_version_id: string;
  manifest_key: string;
  manifest_version_id: string;
}

/** Sealed, unexpired batches of a class (for lengthening and shortening checks). */
export async function listLiveBatchesOfClass(db: Queryable, retentionClass: string): Promise<RetentionRow[]> {
  const res = await db.query<RetentionRow>(
    `SELECT b.namespace, b.retention_class, b.batch_no::int, b.sealed_at, b.retain_until, b.data_key, b.data_version_id,
            b.manifest_key, b.manifest_version_id
     FROM wormseal.batches b
     WHERE b.state = 'sealed' AND b.retention_class = $1
       AND NOT EXISTS (SELECT 1 FROM wormseal.tombstones t
                       WHERE t.namespace = b.namespace AND t.retention_class = b.retention_class AND t.batch_no = b.batch_no)
     ORDER BY b.namespace, b.batch_no`,
    [retentionClass],
  );
  return res.rows;
}

export async function listSealedClasses(db: Queryable): Promise<string[]> {
  const res = await db.query<{ c: string }>(`SELECT DISTINCT retention_class AS c FROM wormseal.batches WHERE state = 'sealed' ORDER BY 1`);
  return res.rows.map((r) => r.c);
}

/** Record a retain-until extended on both objects (only ever later). */
export async function recordRetainUntil(db: Queryable, b: BatchRef, until: Date): Promise<void> {
  await db.query(
    `UPDATE wormseal.batches SET retain_until = $4 WHERE namespace = $1 AND retention_class = $2 AND batch_no = $3 AND retain_until < $4`,
    [b.namespace, b.retention_class, b.batch_no, until],
  );
}

/**
 * What purge_hot_rows would remove now (for --dry-run): the same batch conditions, counted from
 * the registry without touching a row.
 */
export async function countPurgeable(db: Queryable, hotWindow: string): Promise<{ batches: number; rows: number }> {
  const res = await db.query<{ batches: number; rows: string }>(
    `SELECT count(*)::int AS batches, coalesce(sum(bt.leaf_count), 0)::text AS rows
     FROM wormseal.batches bt
     WHERE bt.state = 'sealed' AND bt.hot_purged_at IS NULL AND bt.committed_at < now() - $1::interval
       AND NOT EXISTS (SELECT 1 FROM wormseal.hold_batches hb JOIN wormseal.holds h USING (hold_id)
                       WHERE h.released_at IS NULL AND hb.namespace = bt.namespace
                         AND hb.retention_class = bt.retention_class AND hb.batch_no = bt.batch_no)`,
    [hotWindow],
  );
  return { batches: res.rows[0]!.batches, rows: Number(res.rows[0]!.rows) };
}

/** Run the narrow purge path (wormseal.purge_hot_rows) until nothing is left to purge. */
export async function purgeHotRows(db: Queryable, hotWindow: string, perCall = 50): Promise<{ batches: number; rows: number }> {
  let batches = 0;
  let rows = 0;
  for (;;) {
    const res = await db.query<{ purged_batches: number; purged_rows: string }>(
      'SELECT purged_batches, purged_rows::text FROM wormseal.purge_hot_rows($1::interval, $2)',
      [hotWindow, perCall],
    );
    const r = res.rows[0]!;
    batches += r.purged_batches;
    rows += Number(r.purged_rows);
    if (r.purged_batches < perCall) return { batches, rows };
  }
}
