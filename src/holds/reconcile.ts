import { listFlagWork, recordFlagApplied, type FlagWork } from '../db/holds.js';
import type { HoldDeps } from './deps.js';

export interface ReconcileReport {
  /** Batches whose two objects had their legal-hold flag set (on or off) in this run. */
  flagged_on: { stream: { namespace: string; retention_class: string }; batch_no: number }[];
  flagged_off: { stream: { namespace: string; retention_class: string }; batch_no: number }[];
  failures: { stream: { namespace: string; retention_class: string }; batch_no: number; error: string }[];
}

const PAGE = 200;

// One reconcile at a time across processes: two of them flipping the same object in opposite
// directions could otherwise finish in the wrong order.
const RECONCILE_LOCK = `hashtextextended('wormseal.holds.reconcile', 0)`;

/**
 * Bring every object's S3 legal-hold flag to the OR of the active holds covering its batch. Works
 * from the registry: batches whose recorded flag differs from the desired one, or is NULL because a
 * hold command or the sealer was interrupted while changing it. Idempotent; safe to run at any time
 * (each hold command and `retention apply` run it, which is what makes placing and releasing
 * resumable). A batch whose desired flag changes mid-way stays NULL and is taken again.
 */
export async function reconcileLegalHolds(deps: HoldDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { flagged_on: [], flagged_off: [], failures: [] };
  const client = await deps.pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${RECONCILE_LOCK})`);
    const failed = new Set<string>();
    let first = true;
    for (;;) {
      const work = (await listFlagWork(client, PAGE + failed.size)).filter((w) => !failed.has(keyOf(w)));
      if (work.length === 0) break;
      for (const w of work.slice(0, PAGE)) {
        const ref = { stream: { namespace: w.namespace, retention_class: w.retention_class }, batch_no: w.batch_no };
        try {
          await setFlag(deps, w);
          if (await recordFlagApplied(client, w, w.desired)) (w.desired ? report.flagged_on : report.flagged_off).push(ref);
        } catch (e) {
          failed.add(keyOf(w));
          report.failures.push({ ...ref, error: (e as Error).message });
          deps.logger.error(`legal hold ${w.desired ? 'on' : 'off'} ${w.namespace}/${w.retention_class} batch ${w.batch_no}: ${(e as Error).message}`);
          continue;
        }
        if (first) {
          first = false;
          await deps.faults?.('hold-after-first-flag');
        }
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${RECONCILE_LOCK})`).catch(() => {});
    client.release();
  }
  return report;
}

function keyOf(w: FlagWork): string {
  return `${w.namespace}/${w.retention_class}/${w.batch_no}`;
}

async function setFlag(deps: HoldDeps, w: FlagWork): Promise<void> {
  for (const [key, version] of [
    [w.data_key, w.data_version_id],
    [w.manifest_key, w.manifest_version_id],
  ] as const) {
    try {
      await deps.store.putLegalHold(key, version, w.desired);
    } catch (e) {
      throw new Error(`set legal hold ${w.desired ? 'ON' : 'OFF'} on ${key} version ${version}: ${(e as Error).message}`, { cause: e });
    }
  }
}
