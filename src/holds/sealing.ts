import type { ObjectStore } from '../archive/store.js';
import type { BatchRow, StreamId } from '../db/batches.js';
import {
  confirmFromHotRows,
  insertBatchIndex,
  insertHoldBatch,
  listActiveHolds,
  lockHoldsShared,
  recordFlagApplied,
  setFlagApplied,
  type HoldRow,
} from '../db/holds.js';
import type { PoolClient } from '../db/pool.js';
import type { BatchIndex } from './keyindex.js';
import { scopeMayMatch } from './scope.js';

/**
 * The sealer's side of legal holds (DESIGN 5c, 7): a batch sealed while a hold is active is
 * uploaded with the legal hold ON, and joins the hold's coverage when it is committed.
 */

/** Active holds whose scope may match the batch being sealed (read without the lock: a first guess). */
export async function holdsForBatch(db: PoolClient, stream: StreamId, index: BatchIndex): Promise<HoldRow[]> {
  return (await listActiveHolds(db)).filter((h) => scopeMayMatch(h.scope, stream.namespace, index));
}

/**
 * Step (e) with holds: in one transaction under the shared holds lock, write the batch index, record
 * the coverage of every active hold that may match (looked up again: a hold placed since the upload
 * is seen here, or it will see this batch's index), record the flag the objects carry, and run
 * `seal` (markBatchSealed). When the holds found now disagree with the flag used at upload — or the
 * batch was resumed, so its objects may carry a flag from an earlier attempt — the flag is recorded
 * as unknown (NULL) and set right after the commit; a crash before that leaves it to reconcile.
 */
export async function commitWithHolds(
  client: PoolClient,
  store: ObjectStore,
  stream: StreamId,
  batch: BatchRow,
  objects: { key: string; versionId: string }[],
  index: BatchIndex,
  uploadedWithHold: boolean,
  resumed: boolean,
  seal: () => Promise<boolean>,
): Promise<{ ok: boolean; legalHold: boolean }> {
  const ref = { ...stream, batch_no: batch.batch_no };
  let want: boolean;
  await client.query('BEGIN');
  try {
    await lockHoldsShared(client);
    if (!(await seal())) {
      await client.query('ROLLBACK');
      return { ok: false, legalHold: uploadedWithHold };
    }
    await insertBatchIndex(client, ref, index);
    const covering = await holdsForBatch(client, stream, index);
    for (const h of covering) {
      const confirmed = await confirmFromHotRows(client, { ...ref, hot_purged: false, index }, h.scope);
      await insertHoldBatch(client, h.hold_id, ref, confirmed);
    }
    want = covering.length > 0;
    await setFlagApplied(client, ref, want === uploadedWithHold && !resumed ? want : null);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  if (want !== uploadedWithHold || resumed) {
    for (const o of objects) await store.putLegalHold(o.key, o.versionId, want);
    await recordFlagApplied(client, ref, want);
  }
  return { ok: true, legalHold: want };
}
