import { dataKey, manifestKey } from '../archive/layout.js';
import { encodeManifest, MANIFEST_FORMAT, type Manifest } from '../archive/manifest.js';
import { checkBucket } from '../archive/protection.js';
import type { ObjectLock } from '../archive/store.js';
import {
  findBatch,
  findHeadBatch,
  insertPendingBatch,
  listStreams,
  markBatchSealed,
  registerStreams,
  tryLockStream,
  unlockStream,
  type BatchRow,
  type StreamId,
} from '../db/batches.js';
import { oldestOpenTransaction, readHorizon } from '../db/events.js';
import type { PoolClient } from '../db/pool.js';
import { BatchIndexBuilder } from '../holds/keyindex.js';
import { commitWithHolds, holdsForBatch } from '../holds/sealing.js';
import { retainUntilFor } from '../retention/duration.js';
import type { RetentionClass } from '../retention/schedule.js';
import { addStageTimes, buildBatchData, emptyStageTimes, type BuiltBatch, type StageTimes } from './build.js';
import { SealAlarmError, UnsafeBucketError } from './errors.js';
import { LeafHasher } from './hasher.js';
import { ensureLock, putOnce } from './objects.js';
import type { SealDeps } from './deps.js';

export interface SealedObject {
  kind: 'data' | 'manifest';
  key: string;
  version_id: string;
}

/** One sealed batch, in the `seal --json` shape (a contract: extend, never rename). */
export interface SealedBatch {
  stream: StreamId;
  batch_no: number;
  leaf_count: number;
  root: string;
  retain_until: string;
  objects: SealedObject[];
  resumed: boolean;
  /** The objects carry the S3 legal hold: an active hold may cover this batch. */
  legal_hold: boolean;
}

export interface SealFailure {
  stream: StreamId;
  batch_no?: number;
  error: string;
}

export interface SealReport {
  batches: SealedBatch[];
  failures: SealFailure[];
  /** Streams another sealer was working on: it will seal them. */
  busy: StreamId[];
  horizon: string;
  /** Milliseconds per stage, summed over every batch and stream (see StageTimes). */
  stage_ms: StageTimes;
  lag?: { pid: number; age_seconds: number; state: string; database: string };
}

/** The point names a test can stop the process at (see SealDeps.faults). */
export type FaultPoint = 'after-pending' | 'after-data-upload' | 'after-manifest-upload' | 'before-commit';

function streamName(s: StreamId): string {
  return `${s.namespace}/${s.retention_class}`;
}

/**
 * Seal everything below the horizon, in every stream (or one namespace). Per stream the protocol of
 * DESIGN 5 runs under an advisory lock; a stream already locked by another process is reported as
 * busy, not waited for. A failure in one stream is reported and the others go on; the caller
 * decides the exit code from `failures`.
 */
export async function sealAll(deps: SealDeps, opts: { namespace?: string } = {}): Promise<SealReport> {
  const { pool, store, logger } = deps;
  const bucket = await checkBucket(store);
  const bad = bucket.filter((c) => !c.ok);
  if (bad.length > 0) {
    throw new UnsafeBucketError(
      `refusing to seal into ${store.name}: ${bad.map((c) => c.detail).join('; ')}; run wormseal doctor`,
    );
  }
  // Read once: rows committed after this point wait for the next run, so a busy writer cannot keep
  // one run going forever.
  const horizon = await readHorizon(pool);
  await registerStreams(pool);
  const report: SealReport = { batches: [], failures: [], busy: [], horizon: horizon.toString(), stage_ms: emptyStageTimes() };
  // Streams are independent (own lock, own chain): sealing a few at once overlaps one stream's
  // uploads with another's reading, hashing and compressing.
  const streams = await listStreams(pool, opts.namespace);
  let next = 0;
  const hasher = new LeafHasher();
  const worker = async () => {
    while (next < streams.length) await sealStream(deps, hasher, streams[next++]!, horizon, report);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(deps.config.concurrency ?? 1, streams.length) }, worker));
  } finally {
    await hasher.close();
  }
  const order = (a: StreamId, b: StreamId) =>
    a.namespace.localeCompare(b.namespace) || a.retention_class.localeCompare(b.retention_class);
  report.batches.sort((a, b) => order(a.stream, b.stream) || a.batch_no - b.batch_no);
  report.failures.sort((a, b) => order(a.stream, b.stream));
  report.busy.sort(order);
  const open = await oldestOpenTransaction(pool);
  if (open && open.ageSeconds > deps.config.lagWarnSeconds) {
    report.lag = { pid: open.pid, age_seconds: Math.round(open.ageSeconds), state: open.state, database: open.database };
    logger.warn(
      `sealing lag: transaction of backend pid ${open.pid} in database ${open.database} has been open ` +
        `${Math.round(open.ageSeconds)} s (${open.state}); ` +
        'rows written after it started cannot be sealed until it ends',
    );
  }
  return report;
}

/** Every ready batch of one stream, under its advisory lock; results and failures go to `report`. */
async function sealStream(deps: SealDeps, hasher: LeafHasher, stream: StreamId, horizon: bigint, report: SealReport): Promise<void> {
  const client = await deps.pool.connect();
  let locked = false;
  try {
    locked = await tryLockStream(client, stream);
    if (!locked) {
      report.busy.push(stream);
      deps.logger.info('stream busy: another sealer holds it', { stream: streamName(stream) });
      return;
    }
    for (;;) {
      const times = emptyStageTimes();
      const sealed = await sealNextBatch(deps, hasher, client, stream, horizon, times).finally(() => addStageTimes(report.stage_ms, times));
      if (!sealed) break;
      report.batches.push(sealed);
    }
  } catch (e) {
    const batch = (e as { batchNo?: number }).batchNo;
    report.failures.push({ stream, ...(batch ? { batch_no: batch } : {}), error: (e as Error).message });
    deps.logger.error(`seal stream ${streamName(stream)}${batch ? ` batch ${batch}` : ''}: ${(e as Error).message}`, {
      error: (e as Error).name,
    });
  } finally {
    if (locked) await unlockStream(client, stream).catch(() => {});
    client.release();
  }
}

class BatchError extends Error {
  constructor(
    message: string,
    readonly batchNo: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = (options?.cause as Error | undefined)?.name ?? 'BatchError';
  }
}

async function sealNextBatch(
  deps: SealDeps,
  hasher: LeafHasher,
  client: PoolClient,
  stream: StreamId,
  horizon: bigint,
  times: StageTimes,
): Promise<SealedBatch | undefined> {
  const { clock, config } = deps;
  const head = await findHeadBatch(client, stream);
  const cls = retentionClassOf(deps, stream);
  const index = new BatchIndexBuilder();
  if (head?.state === 'pending') {
    deps.logger.info(`resuming pending batch ${streamName(stream)} #${head.batch_no}`);
    return attributed(head.batch_no, async () => {
      const built = await buildBatchData(client, stream, { first: head.first, last: head.last }, times, index, hasher);
      return completeBatch(deps, client, stream, head, cls, true, times, built, index);
    });
  }
  const batchNo = (head?.batch_no ?? 0) + 1;
  // The next window is found by reading it (step b before a): reading changes nothing, and the
  // pending record that claims the window still comes before any upload, so a crash at any point
  // leaves either nothing or a pending batch whose window rebuilds the same bytes.
  const built = await attributed(batchNo, () =>
    buildBatchData(client, stream, { after: head?.last, horizon, limit: config.batchSize }, times, index, hasher),
  );
  if (built.count === 0) return undefined;
  const sealedAt = clock.now();
  await insertPendingBatch(client, {
    ...stream,
    batch_no: batchNo,
    first: built.first!,
    last: built.last!,
    leaf_count: built.count,
    sealed_at: sealedAt,
    retain_until: retainUntilFor(sealedAt, cls.duration),
    data_key: dataKey(stream, batchNo),
    manifest_key: manifestKey(stream, batchNo),
  });
  await deps.faults?.('after-pending');
  const batch = (await findBatch(client, stream, batchNo))!;
  return attributed(batchNo, () => completeBatch(deps, client, stream, batch, cls, false, times, built, index));
}

/** Run `fn`, naming batch `batchNo` in any error it throws. */
async function attributed<T>(batchNo: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new BatchError((e as Error).message, batchNo, { cause: e });
  }
}

function retentionClassOf(deps: SealDeps, stream: StreamId): RetentionClass {
  const cls = deps.config.schedule.classes.get(stream.retention_class);
  if (!cls) {
    throw new Error(
      `retention class ${stream.retention_class} is not in the schedule in force (${deps.config.schedule.source}); ` +
        'restore it to the schedule: events of this class exist and must keep their retention',
    );
  }
  return cls;
}

/**
 * Steps (b)–(e) of DESIGN 5 for a batch recorded as pending, given the data built from its window
 * (and the index built alongside). Deterministic: safe to rerun.
 */
async function completeBatch(
  deps: SealDeps,
  client: PoolClient,
  stream: StreamId,
  batch: BatchRow,
  cls: RetentionClass,
  resumed: boolean,
  times: StageTimes,
  built: BuiltBatch,
  indexBuilder: BatchIndexBuilder,
): Promise<SealedBatch> {
  const { store, clock } = deps;
  let prevManifest: Buffer | null = null;
  if (batch.batch_no > 1) {
    const prev = await findBatch(client, stream, batch.batch_no - 1);
    if (!prev || prev.state !== 'sealed' || !prev.manifest_sha256) {
      throw new SealAlarmError(`previous batch ${batch.batch_no - 1} is not sealed in the registry`);
    }
    prevManifest = prev.manifest_sha256;
  }
  if (built.count !== batch.leaf_count) {
    throw new SealAlarmError(
      `window holds ${built.count} rows, the pending batch recorded ${batch.leaf_count}: hot rows changed under a claimed window`,
    );
  }
  const { data, root } = built;
  const index = indexBuilder.finish();
  const legalHold = (await holdsForBatch(client, stream, index)).length > 0;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    stream: { namespace: stream.namespace, retention_class: stream.retention_class },
    batch_no: batch.batch_no,
    prev_manifest_sha256: prevManifest ? prevManifest.toString('hex') : null,
    tree: { algorithm: 'rfc6962-sha256', size: built.count, root: root.toString('hex') },
    data: {
      key: batch.data_key,
      sha256: built.dataSha256.toString('hex'),
      bytes: data.length,
      encoding: 'gzip',
      media_type: 'application/x-ndjson',
    },
    window: {
      first: { txid: batch.first.txid.toString(), seq: batch.first.seq.toString() },
      last: { txid: batch.last.txid.toString(), seq: batch.last.seq.toString() },
    },
    events: built.events!,
    retention: {
      class: cls.name,
      duration: cls.duration.text,
      citation: cls.citation,
      mode: 'COMPLIANCE',
      retain_until: batch.retain_until.toISOString(),
    },
    sealed_at: batch.sealed_at.toISOString(),
  };
  const encoded = encodeManifest(manifest);
  const lock: ObjectLock = { mode: 'COMPLIANCE', retainUntil: batch.retain_until };
  let t = performance.now();
  const dataPut = await putOnce(store, batch.data_key, data, { lock, legalHold, contentType: 'application/gzip' });
  await deps.faults?.('after-data-upload');
  const manPut = await putOnce(store, batch.manifest_key, encoded.bytes, {
    lock,
    legalHold,
    contentType: 'application/json',
  });
  await deps.faults?.('after-manifest-upload');
  times.upload += performance.now() - t;
  t = performance.now();
  // Independent reads (and repairs) of two objects: both must hold before step (e).
  await Promise.all([
    ensureLock(store, batch.data_key, dataPut.versionId, lock, legalHold),
    ensureLock(store, batch.manifest_key, manPut.versionId, lock, legalHold),
  ]);
  times.lock += performance.now() - t;
  await deps.faults?.('before-commit');
  t = performance.now();
  const objects = [
    { key: batch.data_key, versionId: dataPut.versionId },
    { key: batch.manifest_key, versionId: manPut.versionId },
  ];
  const sealFields = {
    root,
    data_sha256: built.dataSha256,
    data_bytes: data.length,
    manifest_sha256: encoded.sha256,
    prev_manifest_sha256: prevManifest,
    data_version_id: dataPut.versionId,
    manifest_version_id: manPut.versionId,
    committed_at: clock.now(),
  };
  const { ok, legalHold: held } = await commitWithHolds(client, store, stream, batch, objects, index, legalHold, resumed, () =>
    markBatchSealed(client, stream, batch.batch_no, sealFields),
  );
  times.commit += performance.now() - t;
  if (!ok) throw new SealAlarmError('batch was no longer pending at commit: another sealer ignored the stream lock');
  deps.logger.info(`sealed ${streamName(stream)} #${batch.batch_no}: ${built.count} events, root ${root.toString('hex')}`);
  return {
    stream,
    batch_no: batch.batch_no,
    leaf_count: built.count,
    root: root.toString('hex'),
    retain_until: batch.retain_until.toISOString(),
    objects: [
      { kind: 'data', key: batch.data_key, version_id: dataPut.versionId },
      { kind: 'manifest', key: batch.manifest_key, version_id: manPut.versionId },
    ],
    resumed,
    legal_hold: held,
  };
}
