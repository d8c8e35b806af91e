import { LockRefusedError } from '../archive/store.js';
import { isBatchHeld, lockHoldsShared, type BatchRef } from '../db/holds.js';
import { withTransaction } from '../db/pool.js';
import {
  completeTombstone,
  countPurgeable,
  insertTombstoneIntent,
  listExpiryCandidates,
  listLiveBatchesOfClass,
  listSealedClasses,
  purgeHotRows,
  recordRetainUntil,
  removeTombstoneIntent,
  type ExpiryCandidate,
} from '../db/tombstones.js';
import { recordAuditEvent } from '../events/audit.js';
import type { HoldDeps } from '../holds/deps.js';
import { reconcileLegalHolds, type ReconcileReport } from '../holds/reconcile.js';
import { retainUntilFor } from './duration.js';

export interface RetentionDeps extends HoldDeps {
  /** WORMSEAL_HOT_WINDOW as an ISO 8601 duration: how long sealed rows stay in Postgres. */
  hotWindow: string;
}

type StreamRef = { namespace: string; retention_class: string };
type Ref = { stream: StreamRef; batch_no: number };

/** `retention apply --json` (a contract: fields are added, never renamed). */
export interface ApplyReport {
  extended: (Ref & { class: string; from: string; to: string })[];
  expired: Ref[];
  purged_rows: number;
  refused: (Ref & { object: string; error: string })[];
  dry_run: boolean;
  purged_batches: number;
  /** Past retain-until but covered by an active hold: kept. */
  held: (Ref & { retain_until: string })[];
  /** Classes now shorter than existing locks: those objects keep their retain-until. */
  shortened: { class: string; duration: string; batches: number }[];
  /** Sealed classes missing from the schedule in force: their batches are neither extended nor shortened. */
  unknown_classes: string[];
  legal_holds: ReconcileReport;
  failures: (Partial<Ref> & { step: string; error: string })[];
}

function ref(b: BatchRef): Ref {
  return { stream: { namespace: b.namespace, retention_class: b.retention_class }, batch_no: b.batch_no };
}

/**
 * One retention run (DESIGN 7): complete interrupted legal-hold changes; extend the locks of classes
 * whose duration grew (COMPLIANCE only extends, so a shorter class is reported and left alone);
 * delete expired, unheld batches leaving a tombstone and a batch.expired event; purge hot rows past
 * the hot window. The S3 server has the last word on every deletion: a refusal is reported and
 * nothing is recorded for that batch. With dryRun nothing is changed anywhere, and the report says
 * what would be extended, expired and purged.
 */
export async function applyRetention(deps: RetentionDeps, opts: { dryRun?: boolean } = {}): Promise<ApplyReport> {
  const dryRun = opts.dryRun === true;
  const report: ApplyReport = {
    extended: [],
    expired: [],
    purged_rows: 0,
    refused: [],
    dry_run: dryRun,
    purged_batches: 0,
    held: [],
    shortened: [],
    unknown_classes: [],
    legal_holds: { flagged_on: [], flagged_off: [], failures: [] },
    failures: [],
  };
  if (!dryRun) report.legal_holds = await reconcileLegalHolds(deps);
  await extendLocks(deps, dryRun, report);
  await expireBatches(deps, dryRun, report);
  const purged = dryRun ? await countPurgeable(deps.pool, deps.hotWindow) : await purgeHotRows(deps.pool, deps.hotWindow);
  report.purged_rows = purged.rows;
  report.purged_batches = purged.batches;
  return report;
}

async function extendLocks(deps: RetentionDeps, dryRun: boolean, report: ApplyReport): Promise<void> {
  for (const name of await listSealedClasses(deps.pool)) {
    const cls = deps.schedule.classes.get(name);
    if (!cls) {
      report.unknown_classes.push(name);
      continue;
    }
    let shorter = 0;
    for (const b of await listLiveBatchesOfClass(deps.pool, name)) {
      const target = retainUntilFor(b.sealed_at, cls.duration);
      if (target.getTime() < b.retain_until.getTime()) shorter++;
      if (target.getTime() <= b.retain_until.getTime()) continue;
      const entry = { ...ref(b), class: name, from: b.retain_until.toISOString(), to: target.toISOString() };
      if (dryRun) {
        report.extended.push(entry);
        continue;
      }
      try {
        // Objects first, then the registry: a crash between leaves the registry behind the objects,
        // and the next run extends to the same date again (allowed: not shorter).
        for (const [key, version] of [
          [b.data_key, b.data_version_id],
          [b.manifest_key, b.manifest_version_id],
        ] as const) {
          await deps.store.putRetention(key, version, { mode: 'COMPLIANCE', retainUntil: target });
        }
        await recordRetainUntil(deps.pool, b, target);
        report.extended.push(entry);
      } catch (e) {
        report.failures.push({ ...ref(b), step: 'extend', error: (e as Error).message });
        deps.logger.error(`extend ${b.namespace}/${name} batch ${b.batch_no} to ${entry.to}: ${(e as Error).message}`);
      }
    }
    if (shorter > 0) {
      report.shortened.push({ class: name, duration: cls.duration.text, batches: shorter });
      deps.logger.info(`class ${name} is now ${cls.duration.text}: ${shorter} batch(es) keep their longer retain-until (COMPLIANCE never shortens)`);
    }
  }
}

async function expireBatches(deps: RetentionDeps, dryRun: boolean, report: ApplyReport): Promise<void> {
  for (const c of await listExpiryCandidates(deps.pool, deps.clock.now())) {
    const r = ref(c);
    // Decide and record the intent under the shared holds lock: a hold placed after this commit
    // no longer sees the batch (it is being expired); one placed before keeps it.
    const held = await withTransaction(deps.pool, async (tx) => {
      await lockHoldsShared(tx);
      if (await isBatchHeld(tx, c)) return true;
      if (!dryRun && !c.resuming) await insertTombstoneIntent(tx, c, classInfo(deps, c), deps.clock.now());
      return false;
    });
    if (held) {
      report.held.push({ ...r, retain_until: c.retain_until.toISOString() });
      continue;
    }
    if (dryRun) {
      report.expired.push(r);
      continue;
    }
    try {
      await expireOne(deps, c, report);
    } catch (e) {
      report.failures.push({ ...r, step: 'expire', error: (e as Error).message });
      deps.logger.error(`expire ${c.namespace}/${c.retention_class} batch ${c.batch_no}: ${(e as Error).message}`);
    }
  }
}

function classInfo(deps: RetentionDeps, c: ExpiryCandidate): { duration: string; citation: string } {
  const cls = deps.schedule.classes.get(c.retention_class);
  return cls
    ? { duration: cls.duration.text, citation: cls.citation }
    : { duration: 'unknown', citation: `class ${c.retention_class} is not in the schedule in force` };
}

async function expireOne(deps: RetentionDeps, c: ExpiryCandidate, report: ApplyReport): Promise<void> {
  let deleted = 0;
  for (const [key, version] of [
    [c.data_key, c.data_version_id],
    [c.manifest_key, c.manifest_version_id],
  ] as const) {
    const present = (await deps.store.listVersions(key)).some((v) => v.key === key && v.versionId === version);
    if (!present && c.resuming) continue; // deleted by an interrupted earlier run
    if (!present) {
      // Gone without wormseal deleting it: never paper over that with a tombstone (verify: missing).
      await removeTombstoneIntent(deps.pool, c);
      throw new Error(`${key} version ${version} vanished before expiry deleted it; no tombstone written (verify reports it missing)`);
    }
    try {
      await deps.store.delete(key, version);
      deleted++;
    } catch (e) {
      if (!(e instanceof LockRefusedError)) throw e;
      report.refused.push({ ...ref(c), object: key, error: `${e.code}: ${e.message}` });
      deps.logger.warn(`expire ${c.namespace}/${c.retention_class} batch ${c.batch_no}: the server refused to delete ${key} (${e.code})`);
      // Nothing was deleted by this run: withdraw the intent, so the registry says what is true.
      if (deleted === 0 && !c.resuming) await removeTombstoneIntent(deps.pool, c);
      return;
    }
  }
  const cls = classInfo(deps, c);
  await withTransaction(deps.pool, async (tx) => {
    if (!(await completeTombstone(tx, c, deps.clock.now()))) return;
    await recordAuditEvent(tx, deps, {
      event_type: 'batch.expired',
      actor: { id: 'wormseal-retention', type: 'system' },
      resource: { type: 'batch', id: `${c.namespace}/${c.retention_class}/${c.batch_no}` },
      data: {
        stream: { namespace: c.namespace, retention_class: c.retention_class },
        batch_no: c.batch_no,
        manifest_sha256: c.manifest_sha256.toString('hex'),
        leaf_count: c.leaf_count,
        sealed_at: c.sealed_at.toISOString(),
        retain_until: c.retain_until.toISOString(),
        duration: cls.duration,
        citation: cls.citation,
      },
    });
  });
  report.expired.push(ref(c));
  deps.logger.info(`expired ${c.namespace}/${c.retention_class} batch ${c.batch_no} (retain-until ${c.retain_until.toISOString()})`);
}
