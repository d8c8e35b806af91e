/**
 * wormseal as a library. Services append audit events (awaited, in batches) or emit them
 * fire-and-forget; operators' code can seal and verify with the same functions the CLI uses.
 */
import { systemClock, type Clock } from './config/clock.js';
import { createPool, type Pool } from './db/pool.js';
import { createEmitter, type Emitter, type EmitterOptions } from './events/emitter.js';
import { appendEvents, type IngestResult } from './events/ingest.js';
import { builtinSchedule } from './retention/builtin.js';
import type { RetentionSchedule } from './retention/schedule.js';

export interface WormsealOptions {
  /** A pool you own (not closed by close()), or a connection string to open one. */
  pool?: Pool;
  databaseUrl?: string;
  schedule?: RetentionSchedule;
  maxEventBytes?: number;
  clock?: Clock;
}

export interface Wormseal {
  /** Validate and store events; valid ones land even when others are rejected. */
  append(events: unknown[]): Promise<IngestResult>;
  /** A fire-and-forget emitter writing through append(). */
  emitter(opts: Omit<EmitterOptions, 'append'>): Emitter;
  close(): Promise<void>;
}

export function createWormseal(opts: WormsealOptions): Wormseal {
  if (!opts.pool && !opts.databaseUrl) throw new Error('createWormseal: pass a pool or a databaseUrl');
  const ownPool = !opts.pool;
  const pool = opts.pool ?? createPool(opts.databaseUrl!);
  const deps = {
    pool,
    clock: opts.clock ?? systemClock,
    schedule: opts.schedule ?? builtinSchedule(),
    maxEventBytes: opts.maxEventBytes ?? 64 * 1024,
  };
  const emitters: Emitter[] = [];
  return {
    append: (events) => appendEvents(deps, events),
    emitter: (o) => {
      const e = createEmitter({ ...o, append: (events) => appendEvents(deps, events) });
      emitters.push(e);
      return e;
    },
    async close() {
      await Promise.all(emitters.map((e) => e.close()));
      if (ownPool) await pool.end();
    },
  };
}

export { appendEvents, appendEventTexts, type IngestResult, type IngestError } from './events/ingest.js';
export { createEmitter, type Emitter, type EmitterOptions, type EmitFailure } from './events/emitter.js';
export { eventInputSchema, type EventInput } from './events/schema.js';
export { EventRejectedError } from './events/prepare.js';
export { canonicalize, canonicalBytes } from './events/canonical.js';
export * as merkle from './merkle/index.js';
export { migrate } from './db/migrate.js';
export { createPool } from './db/pool.js';
export { sealAll, type SealReport, type SealedBatch } from './seal/seal.js';
export { verifyArchive } from './verify/archive.js';
export type { BatchSummary, Problem, Reason, StreamSummary, VerifyReport } from './verify/problems.js';
export { buildReportModel, type ReportInputs } from './report/build.js';
export { renderReport } from './report/render.js';
export type { HoldEntry, ReportModel } from './report/model.js';
export { S3ObjectStore, createS3Client } from './archive/s3.js';
export { MemoryObjectStore } from './archive/memory.js';
export type { ObjectStore } from './archive/store.js';
export { builtinSchedule } from './retention/builtin.js';
export { buildSchedule, loadScheduleFile, classify, type RetentionSchedule } from './retention/schedule.js';
export { systemClock, fixedClock, type Clock } from './config/clock.js';
export { applyRetention, type ApplyReport, type RetentionDeps } from './retention/apply.js';
export { placeHold, releaseHold, showHold, HoldError, type PlaceReport, type ReleaseReport, type HoldDetail } from './holds/holds.js';
export { reconcileLegalHolds } from './holds/reconcile.js';
export { parseScope, type HoldScope } from './holds/scope.js';
export { sealAndCheckpoint, type SealAndCheckpointReport } from './checkpoint/run.js';
export { writeCheckpoint } from './checkpoint/write.js';
export { loadSigningKey, decodeKeyDocument, type SigningKey, type PublishedKey } from './checkpoint/keys.js';
export { verifyCheckpointNote } from './checkpoint/checkpoint.js';
export { createProver, ProveError, type Prover } from './proof/prove.js';
export { verifyProofBytes, encodeProof, type ProofDocument, type ProofVerdict } from './proof/proof.js';
export { exportBundle, type ExportResult } from './export/export.js';
export { verifyBundle, type BundleReport } from './verify/bundle.js';
