import { withTransaction } from '../db/pool.js';
import { pgCode, PG } from '../db/codes.js';
import {
  confirmFromHotRows,
  findHold,
  insertHold,
  insertHoldBatch,
  listHoldBatches,
  listHoldCandidates,
  listHolds,
  lockHoldsExclusive,
  markHoldBatchesDirty,
  markHoldReleased,
  type HoldRow,
} from '../db/holds.js';
import { recordAuditEvent } from '../events/audit.js';
import type { HoldDeps } from './deps.js';
import { reconcileLegalHolds, type ReconcileReport } from './reconcile.js';
import { scopeMayMatch, type HoldScope } from './scope.js';

/** A hold command that cannot be done as asked (unknown matter, matter already held). */
export class HoldError extends Error {
  override name = 'HoldError';
}

export interface HoldSummary {
  hold_id: number;
  matter: string;
  state: 'active' | 'released';
  scope: HoldScope;
  reason: string;
  placed_by: string;
  placed_at: string;
  released_at: string | null;
  released_by: string | null;
  release_reason: string | null;
}

function summary(h: HoldRow): HoldSummary {
  return {
    hold_id: h.hold_id,
    matter: h.matter,
    state: h.released_at ? 'released' : 'active',
    scope: h.scope,
    reason: h.reason,
    placed_by: h.placed_by,
    placed_at: h.placed_at.toISOString(),
    released_at: h.released_at?.toISOString() ?? null,
    released_by: h.released_by,
    release_reason: h.release_reason,
  };
}

export interface PlaceReport {
  hold: HoldSummary;
  /** Sealed batches the hold covers now (later batches join as they are sealed). */
  batches: number;
  /** Covered batches whose hot rows show a matching event. */
  confirmed_batches: number;
  /** Covered batches whose hot rows show none: index false positives, held anyway. */
  false_positive_batches: number;
  /** Covered batches whose hot rows are purged (or that predate the index): cannot be confirmed. */
  unconfirmed_batches: number;
  event_id: string;
  reconcile: ReconcileReport;
}

/**
 * Place a legal hold on a matter. In one transaction, under the exclusive holds lock: record the
 * hold, find every sealed batch that can contain a matching event (index, then hot rows to count
 * false positives), record the coverage, mark those batches' flags as being changed and record the
 * legal_hold.placed audit event. Then set the S3 flags (reconcile). A crash after the commit leaves
 * the hold in force and its remaining flags to the next hold command or `retention apply`.
 */
export async function placeHold(
  deps: HoldDeps,
  req: { matter: string; reason: string; by: string; scope: HoldScope },
): Promise<PlaceReport> {
  const placed = await withTransaction(deps.pool, async (c) => {
    await lockHoldsExclusive(c);
    let hold: HoldRow;
    try {
      hold = await insertHold(c, { matter: req.matter, scope: req.scope, reason: req.reason, placed_by: req.by, placed_at: deps.clock.now() });
    } catch (e) {
      if (pgCode(e) === PG.UNIQUE_VIOLATION) throw new HoldError(`matter ${req.matter} already has an active hold; release it first`);
      throw e;
    }
    const counts = { batches: 0, confirmed_batches: 0, false_positive_batches: 0, unconfirmed_batches: 0 };
    for (const b of await listHoldCandidates(c, req.scope)) {
      // No index (a batch sealed before there was one): held, never a miss.
      if (b.index && !scopeMayMatch(req.scope, b.namespace, b.index)) continue;
      const confirmed = await confirmFromHotRows(c, b, req.scope);
      await insertHoldBatch(c, hold.hold_id, b, confirmed);
      counts.batches++;
      if (confirmed === true) counts.confirmed_batches++;
      else if (confirmed === false) counts.false_positive_batches++;
      else counts.unconfirmed_batches++;
    }
    await markHoldBatchesDirty(c, hold.hold_id);
    const event_id = await recordAuditEvent(c, deps, {
      event_type: 'legal_hold.placed',
      actor: { id: req.by, type: 'user' },
      resource: { type: 'legal_hold', id: req.matter },
      reason: req.reason,
      data: { matter: req.matter, hold_id: hold.hold_id, scope: req.scope, batches: counts.batches },
    });
    return { hold, counts, event_id };
  });
  deps.logger.info(`hold ${req.matter} placed on ${placed.counts.batches} batch(es)`);
  const reconcile = await reconcileLegalHolds(deps);
  return { hold: summary(placed.hold), ...placed.counts, event_id: placed.event_id, reconcile };
}

export interface ReleaseReport {
  hold: HoldSummary;
  /** Batches of this hold that stay held by another active hold. */
  still_held_batches: number;
  batches: number;
  event_id: string;
  reconcile: ReconcileReport;
}

/**
 * Release a matter's active hold: mark it released, mark its batches whose flag must now drop (no
 * other active hold covers them) as being changed, record legal_hold.released; then reconcile, which
 * turns the flag off only where no other hold covers the batch.
 */
export async function releaseHold(deps: HoldDeps, req: { matter: string; reason: string; by: string }): Promise<ReleaseReport> {
  const released = await withTransaction(deps.pool, async (c) => {
    await lockHoldsExclusive(c);
    const current = await findHold(c, req.matter);
    if (!current || current.released_at) throw new HoldError(`matter ${req.matter} has no active hold`);
    const hold = await markHoldReleased(c, current.hold_id, req.by, req.reason, deps.clock.now());
    await markHoldBatchesDirty(c, hold.hold_id);
    const live = (await listHoldBatches(c, hold.hold_id)).filter((b) => !b.expired);
    const event_id = await recordAuditEvent(c, deps, {
      event_type: 'legal_hold.released',
      actor: { id: req.by, type: 'user' },
      resource: { type: 'legal_hold', id: req.matter },
      reason: req.reason,
      data: { matter: req.matter, hold_id: hold.hold_id, scope: hold.scope, placed_at: hold.placed_at.toISOString() },
    });
    return { hold, batches: live.length, still: live.filter((b) => b.held).length, event_id };
  });
  deps.logger.info(`hold ${req.matter} released`);
  const reconcile = await reconcileLegalHolds(deps);
  return {
    hold: summary(released.hold),
    batches: released.batches,
    still_held_batches: released.still,
    event_id: released.event_id,
    reconcile,
  };
}

export async function listHoldSummaries(deps: Pick<HoldDeps, 'pool'>, opts: { all: boolean }): Promise<(HoldSummary & { batches: number })[]> {
  return (await listHolds(deps.pool, opts)).map((h) => ({ ...summary(h), batches: h.batches }));
}

export interface HoldObject {
  kind: 'data' | 'manifest';
  key: string;
  version_id: string;
  /** The flag as the S3 server reports it now. */
  legal_hold: boolean;
}

export interface HoldDetail {
  hold: HoldSummary;
  batches: {
    stream: { namespace: string; retention_class: string };
    batch_no: number;
    /** true: a hot row matches; false: Bloom false positive; null: hot rows purged. */
    confirmed: boolean | null;
    expired: boolean;
    objects: HoldObject[];
  }[];
  false_positive_batches: number;
  unconfirmed_batches: number;
  /** Objects whose flag differs from what this hold needs (a placement still being completed). */
  objects_not_held: number;
}

/** A matter's hold (the active one, else the latest), its batches and each object's live S3 flag. */
export async function showHold(deps: HoldDeps, matter: string): Promise<HoldDetail> {
  const h = await findHold(deps.pool, matter);
  if (!h) throw new HoldError(`no hold was ever placed on matter ${matter}`);
  const detail: HoldDetail = { hold: summary(h), batches: [], false_positive_batches: 0, unconfirmed_batches: 0, objects_not_held: 0 };
  for (const b of await listHoldBatches(deps.pool, h.hold_id)) {
    const objects: HoldObject[] = [];
    if (!b.expired) {
      for (const [kind, key, version_id] of [
        ['data', b.data_key, b.data_version_id],
        ['manifest', b.manifest_key, b.manifest_version_id],
      ] as const) {
        const lock = await deps.store.getLock(key, version_id);
        objects.push({ kind, key, version_id, legal_hold: lock.legalHold });
        if (!h.released_at && !lock.legalHold) detail.objects_not_held++;
      }
    }
    if (b.confirmed === false) detail.false_positive_batches++;
    if (b.confirmed === null) detail.unconfirmed_batches++;
    detail.batches.push({
      stream: { namespace: b.namespace, retention_class: b.retention_class },
      batch_no: b.batch_no,
      confirmed: b.confirmed,
      expired: b.expired,
      objects,
    });
  }
  return detail;
}
