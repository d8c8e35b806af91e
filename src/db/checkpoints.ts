import type { Queryable } from './pool.js';

export interface HeadRow {
  namespace: string;
  retention_class: string;
  batch_no: number;
  manifest_sha256: Buffer;
  retain_until: Date;
}

/** The highest sealed batch of every stream: what a checkpoint signs. */
export async function listSealedHeads(db: Queryable): Promise<HeadRow[]> {
  const res = await db.query<Omit<HeadRow, 'batch_no'> & { batch_no: string }>(
    `SELECT DISTINCT ON (b.namespace, b.retention_class) b.namespace, b.retention_class, b.batch_no::text AS batch_no,
       b.manifest_sha256, b.retain_until
     FROM wormseal.batches b WHERE b.state = 'sealed'
     ORDER BY b.namespace, b.retention_class, b.batch_no DESC`,
  );
  return res.rows.map((r) => ({ ...r, batch_no: Number(r.batch_no) }));
}

export interface CheckpointRow {
  object_key: string;
  version_id: string;
  signed_at: Date;
  key_name: string;
  key_id: string;
  note: string;
}

export async function insertCheckpoint(db: Queryable, c: CheckpointRow): Promise<void> {
  await db.query(
    `INSERT INTO wormseal.checkpoints (object_key, version_id, signed_at, key_name, key_id, note)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (object_key) DO NOTHING`,
    [c.object_key, c.version_id, c.signed_at, c.key_name, c.key_id, c.note],
  );
}

export async function findNewestCheckpoint(db: Queryable): Promise<CheckpointRow | undefined> {
  const res = await db.query<CheckpointRow>(
    `SELECT object_key, version_id, signed_at, key_name, key_id, note FROM wormseal.checkpoints
     ORDER BY signed_at DESC, object_key DESC LIMIT 1`,
  );
  return res.rows[0];
}
