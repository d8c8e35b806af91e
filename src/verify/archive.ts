import { scanDataObject, sha256 } from '../archive/batchfile.js';
import { parseBatchKey, streamPrefix } from '../archive/layout.js';
import type { Manifest } from '../archive/manifest.js';
import { ObjectMissingError, type ObjectStore, type VersionInfo } from '../archive/store.js';
import { listBatches, listStreams, type BatchRow, type StreamId } from '../db/batches.js';
import { readWindow } from '../db/events.js';
import { heldBatchNumbers } from '../db/holds.js';
import { readWindowLeafHashes } from '../db/proofs.js';
import { listTombstones, purgedBatchNumbers, type Tombstone } from '../db/tombstones.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log/logger.js';
import { BatchLines, type BatchCheck } from './batch.js';
import { verifyCheckpoints } from './checkpoints.js';
import { mapLimit } from './limit.js';
import type { BatchSummary, Problem, Reason, StreamSummary, VerifyReport } from './problems.js';
import { BatchChecker } from './threads.js';

export interface VerifyDeps {
  pool: Pool;
  store: ObjectStore;
  logger: Logger;
  /** Called after each batch, for a progress bar. */
  progress?: (done: number, total: number) => void;
  /**
   * Batches in flight at once (S3 reads, hot rows, content checks on the shared pool of worker
   * threads); default 3. On the 2-core benchmark machine 3 beat 4 in six of seven alternating
   * runs of 1M events (by 1–7%), 2 and 6 did worse: each batch in flight is a Postgres query and
   * two S3 reads competing for the same cores.
   */
  concurrency?: number;
}

interface BatchOutcome {
  batch: BatchRow;
  problems: Problem[];
  manifest?: Manifest;
  /** SHA-256 of the manifest bytes actually read (undefined when unreadable). */
  manifestSha?: string;
  events: number;
}

/**
 * Verify the archive against the registry and the hot store (DESIGN 9): for every sealed batch,
 * read the recorded object versions, recompute digests and the Merkle root, compare with the
 * manifest, the registry and the hot rows, check the lock, the numbering and the chain. Never stops
 * at the first problem: every finding names stream, batch, object and reason.
 */
export async function verifyArchive(deps: VerifyDeps, opts: { namespace?: string } = {}): Promise<VerifyReport> {
  const checker = new BatchChecker();
  checker.start(); // the workers start while the registry is read
  try {
    return await verifyWith(deps, opts, checker);
  } finally {
    await checker.close();
  }
}

async function verifyWith(deps: VerifyDeps, opts: { namespace?: string }, checker: BatchChecker): Promise<VerifyReport> {
  const streams = await listStreams(deps.pool, opts.namespace);
  // Streams are planned a few at a time: each is registry queries and an S3 listing, round trips
  // that would add up before the first batch is read.
  const plans = await mapLimit(streams, 4, async (stream) => {
    const [batches, listed, tombstones, purged, held] = await Promise.all([
      listBatches(deps.pool, stream),
      deps.store.listVersions(streamPrefix(stream)),
      listTombstones(deps.pool, stream),
      purgedBatchNumbers(deps.pool, stream),
      heldBatchNumbers(deps.pool, stream),
    ]);
    const versions = new Map<string, VersionInfo[]>();
    for (const v of listed) {
      const list = versions.get(v.key) ?? [];
      list.push(v);
      versions.set(v.key, list);
    }
    const retention: RetentionState = { tombstones, purged, held };
    return { stream, batches, versions, retention };
  });
  // The signed checkpoints are read from S3 while the batches are checked: only their last step
  // needs the batches' findings.
  let batchFindings!: (found: readonly Problem[]) => void;
  const checkpoints = verifyCheckpoints(deps, opts, new Promise((resolve) => (batchFindings = resolve)));
  checkpoints.catch(() => {}); // awaited below; a failure meanwhile must not go unhandled
  const total = plans.reduce((n, p) => n + p.batches.filter((b) => b.state === 'sealed').length, 0);
  const summaries: StreamSummary[] = [];
  const report: VerifyReport = {
    ok: true,
    batches_checked: 0,
    batches_valid: 0,
    events_checked: 0,
    streams_checked: streams.length,
    pending_batches: 0,
    batches_expired: 0,
    problems: [],
    streams: summaries,
  };
  let done = 0;
  // One pool of work across streams: most streams hold only a few batches.
  const work = plans.flatMap((plan) => plan.batches.filter((b) => b.state === 'sealed').map((b) => ({ plan, b })));
  // Largest batches first, so that the last to finish are small and no core idles long at the end.
  const order = work.map((_, i) => i).sort((x, y) => work[y]!.b.leaf_count - work[x]!.b.leaf_count);
  const all = new Array<BatchOutcome>(work.length);
  await mapLimit(order, deps.concurrency ?? 3, async (i) => {
    const { plan, b } = work[i]!;
    const tomb = plan.retention.tombstones.get(b.batch_no);
    all[i] = tomb ? expiredOutcome(b, tomb) : await verifyBatch(deps, checker, plan.stream, b, plan.versions, plan.retention);
    deps.progress?.(++done, total);
  });
  for (const { stream, batches, versions, retention } of plans) {
    const sealed = batches.filter((b) => b.state === 'sealed');
    report.pending_batches += batches.length - sealed.length;
    const outcomes = all.filter((_, i) => work[i]!.plan.stream === stream);
    const streamProblems = [...checkNumbering(stream, batches, versions), ...checkChain(stream, outcomes)];
    for (const o of outcomes) {
      report.batches_checked++;
      report.events_checked += o.events;
      if (retention.tombstones.has(o.batch.batch_no)) report.batches_expired++;
      const chainHit = streamProblems.some((p) => p.batch_no === o.batch.batch_no);
      if (o.problems.length === 0 && !chainHit) report.batches_valid++;
      report.problems.push(...o.problems);
    }
    report.problems.push(...streamProblems);
    const hit = new Set([...streamProblems, ...outcomes.flatMap((o) => o.problems)].map((p) => p.batch_no));
    const state = (b: BatchRow): BatchSummary['state'] =>
      b.state === 'pending' ? 'pending' : hit.has(b.batch_no) ? 'problem' : retention.tombstones.has(b.batch_no) ? 'tombstoned' : 'valid';
    summaries.push({ stream, batches: batches.map((b) => summarize(b, state(b))) });
  }
  // Signed checkpoints: signatures, and heads beyond the registry's (a cut tail).
  batchFindings(report.problems);
  report.problems.push(...(await checkpoints));
  report.problems.sort(
    (a, b) =>
      a.stream.namespace.localeCompare(b.stream.namespace) ||
      a.stream.retention_class.localeCompare(b.stream.retention_class) ||
      (a.batch_no ?? 0) - (b.batch_no ?? 0),
  );
  report.ok = report.problems.length === 0;
  return report;
}

function summarize(b: BatchRow, state: BatchSummary['state']): BatchSummary {
  const { batch_no, leaf_count } = b;
  return { batch_no, leaf_count, sealed_at: b.sealed_at.toISOString(), retain_until: b.retain_until.toISOString(), state };
}

/** Batch numbers run 1..N without gaps; objects beyond N in the bucket mean the registry lost its tail. */
function checkNumbering(stream: StreamId, batches: BatchRow[], versions: Map<string, VersionInfo[]>): Problem[] {
  const problems: Problem[] = [];
  const inRegistry = new Set(batches.map((b) => b.batch_no));
  const max = batches.length ? batches[batches.length - 1]!.batch_no : 0;
  const inBucket = new Set<number>();
  for (const key of versions.keys()) {
    const parsed = parseBatchKey(key);
    if (parsed) inBucket.add(parsed.batch_no);
  }
  for (let n = 1; n <= max; n++) {
    if (!inRegistry.has(n)) {
      problems.push({
        stream,
        batch_no: n,
        object: null,
        reason: 'missing',
        detail: `batch ${n} is absent from the registry between ${n - 1} and ${n + 1}${inBucket.has(n) ? ' (its objects are still in the bucket)' : ''}`,
      });
    }
  }
  for (const n of [...inBucket].filter((x) => x > max).sort((a, b) => a - b)) {
    problems.push({
      stream,
      batch_no: n,
      object: null,
      reason: 'truncated',
      detail: `batch ${n} is in the bucket but the registry ends at batch ${max}`,
    });
  }
  return problems;
}

/** What retention did to a stream's batches: expired (tombstoned), hot rows purged, held. */
interface RetentionState {
  tombstones: Map<number, Tombstone>;
  purged: Set<number>;
  /** Batches an active hold covers: both objects must carry the S3 legal hold, the others must not. */
  held: Set<number>;
}

/**
 * An expired batch's objects were deleted on purpose: it counts as intact, and its tombstone keeps
 * the manifest hash so the next batch's link is still checked (DESIGN 7).
 */
function expiredOutcome(b: BatchRow, t: Tombstone): BatchOutcome {
  return { batch: b, problems: [], manifestSha: t.manifest_sha256.toString('hex'), events: 0 };
}

function checkChain(stream: StreamId, outcomes: BatchOutcome[]): Problem[] {
  const problems: Problem[] = [];
  const byNo = new Map(outcomes.map((o) => [o.batch.batch_no, o]));
  for (const o of outcomes) {
    if (!o.manifest) continue;
    const n = o.batch.batch_no;
    const named = o.manifest.prev_manifest_sha256;
    if (n === 1) {
      if (named !== null) {
        problems.push({ stream, batch_no: n, object: o.batch.manifest_key, reason: 'chain_broken', detail: 'batch 1 names a predecessor' });
      }
      continue;
    }
    const prev = byNo.get(n - 1);
    // Prefer the digest of the bytes actually read; fall back to the registry when they are unreadable.
    const actual = prev?.manifestSha ?? prev?.batch.manifest_sha256?.toString('hex');
    if (!actual) continue; // batch n-1 is missing: reported by the numbering check
    if (named !== actual) {
      problems.push({
        stream,
        batch_no: n,
        object: o.batch.manifest_key,
        reason: 'chain_broken',
        detail: `names previous manifest ${named ?? 'null'}, but batch ${n - 1}'s manifest is ${actual}`,
      });
    }
  }
  return problems;
}

async function verifyBatch(
  deps: VerifyDeps,
  checker: BatchChecker,
  stream: StreamId,
  b: BatchRow,
  versions: Map<string, VersionInfo[]>,
  retention: RetentionState,
): Promise<BatchOutcome> {
  // The steps below overlap (S3 reads, lock reads, the hot rows' leaf hashes, the content check on
  // worker threads); each collects its own findings, reported in the order the steps are listed.
  const part = (): [Problem[], Add] => {
    const found: Problem[] = [];
    return [found, (object, reason, detail) => found.push({ stream, batch_no: b.batch_no, object, reason, detail })];
  };
  const [manifestRead, addManifestRead] = part();
  const [dataRead, addDataRead] = part();
  const [content, add] = part();
  const [dataLock, addDataLock] = part();
  const [manifestLock, addManifestLock] = part();

  const read = async (key: string, versionId: string, add: Add): Promise<Buffer | undefined> => {
    const list = versions.get(key) ?? [];
    const latest = list.find((v) => v.isLatest);
    if (latest?.isDeleteMarker) add(key, 'delete_marker', `a delete marker hides sealed version ${versionId} from plain reads`);
    const others = list.filter((v) => !v.isDeleteMarker && v.versionId !== versionId);
    if (others.length > 0) {
      add(key, 'overwritten', `${others.length} other version(s) stored under the key: ${others.map((v) => v.versionId).join(', ')}`);
    }
    try {
      return await deps.store.get(key, versionId);
    } catch (e) {
      if (e instanceof ObjectMissingError) {
        add(key, 'missing', `sealed version ${versionId} is gone from ${deps.store.name}`);
        return undefined;
      }
      throw e;
    }
  };

  const held = retention.held.has(b.batch_no);
  const locks = Promise.all([
    checkLock(deps, b, b.data_key, b.data_version_id!, held, addDataLock),
    checkLock(deps, b, b.manifest_key, b.manifest_version_id!, held, addManifestLock),
  ]);
  // Purged hot rows were removed through the audited path: the archive alone is checked.
  const hot = retention.purged.has(b.batch_no) ? undefined : readHotLeaves(deps, stream, b);
  // Awaited below; until then a failure must not surface as an unhandled rejection.
  for (const p of [locks, hot]) p?.catch(() => {});

  const [manifestBytes, dataBytes] = await Promise.all([
    read(b.manifest_key, b.manifest_version_id!, addManifestRead),
    read(b.data_key, b.data_version_id!, addDataRead),
  ]);
  let manifest: Manifest | undefined;
  let manifestSha: string | undefined;
  let checked: BatchCheck | undefined;
  if (manifestBytes) {
    manifestSha = sha256(manifestBytes).toString('hex');
    if (manifestSha !== b.manifest_sha256!.toString('hex')) {
      add(b.manifest_key, 'content_changed', `manifest sha256 ${manifestSha}, registry recorded ${b.manifest_sha256!.toString('hex')}`);
    }
    // dataBytes is not read again; the lines are needed only when the hot rows differ.
    checked = await checker.check(manifestBytes, dataBytes, { handOver: true, lines: false });
    for (const f of checked.findings) add(f.object === 'data' ? b.data_key : b.manifest_key, f.reason, f.detail);
    manifest = checked.manifest;
    if (manifest) compareWithRegistry(manifest, b, stream, add);
  }
  if (!manifestBytes && dataBytes && b.data_sha256 && sha256(dataBytes).toString('hex') !== b.data_sha256.toString('hex')) {
    add(b.data_key, 'content_changed', `data object sha256 differs from the registry's ${b.data_sha256.toString('hex')}`);
  }
  if (checked?.leaves && hot) await compareHotRows(deps, stream, b, checked, await hot, add);
  await locks;
  const problems = [...manifestRead, ...dataRead, ...content, ...dataLock, ...manifestLock];
  return { batch: b, problems, ...(manifest ? { manifest } : {}), ...(manifestSha ? { manifestSha } : {}), events: checked?.count ?? 0 };
}

type Add = (object: string | null, reason: Reason, detail: string) => void;

function compareWithRegistry(
  m: Manifest,
  b: BatchRow,
  stream: StreamId,
  add: (object: string | null, reason: Reason, detail: string) => void,
): void {
  if (m.batch_no !== b.batch_no || m.stream.namespace !== stream.namespace || m.stream.retention_class !== stream.retention_class) {
    add(
      b.manifest_key,
      'reordered',
      `manifest names ${m.stream.namespace}/${m.stream.retention_class} batch ${m.batch_no}, found at batch ${b.batch_no}`,
    );
  }
  if (m.tree.root !== b.root!.toString('hex')) {
    add(b.manifest_key, 'content_changed', `manifest root ${m.tree.root}, registry recorded ${b.root!.toString('hex')}`);
  }
  if (m.tree.size !== b.leaf_count) {
    add(b.manifest_key, 'content_changed', `manifest tree size ${m.tree.size}, registry recorded ${b.leaf_count}`);
  }
  if (m.data.sha256 !== b.data_sha256!.toString('hex')) {
    add(b.manifest_key, 'content_changed', `manifest data sha256 ${m.data.sha256}, registry recorded ${b.data_sha256!.toString('hex')}`);
  }
}

/** Hot rows still in Postgres must be byte-identical to the sealed lines, one for one. */
async function compareHotRows(
  deps: VerifyDeps,
  stream: StreamId,
  b: BatchRow,
  checked: BatchCheck,
  hotLeaves: Buffer,
  add: Add,
): Promise<void> {
  // The usual case, checked cheaply: the hot rows are the sealed lines in the same order.
  if (hotLeaves.equals(checked.leaves!)) return;
  // Otherwise the lines name the events: split now if the check did not keep them.
  const lines = checked.lines ?? (checked.dataBytes ? batchLines(checked.dataBytes) : undefined);
  if (!lines) throw new Error(`batch ${b.batch_no}: the check kept neither the lines nor the data object`);
  const rows = await readWindow(deps.pool, stream, b.first, b.last);
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  const seen = new Set<string>();
  for (let i = 0; i < lines.count; i++) {
    const line = lines.line(i);
    let id: string;
    try {
      id = (JSON.parse(line.toString('utf8')) as { event_id: string }).event_id;
    } catch {
      continue; // an unparseable line already changed the root: reported as content_changed
    }
    seen.add(id);
    const row = byId.get(id);
    if (!row) {
      add(b.data_key, 'missing', `hot row of event ${id} (line ${i + 1}) is gone from Postgres`);
    } else if (!row.canonical.equals(line)) {
      add(b.data_key, 'content_changed', `hot row of event ${id} (line ${i + 1}) differs from the sealed line`);
    }
  }
  for (const r of rows) {
    if (!seen.has(r.event_id)) {
      add(b.data_key, 'content_changed', `Postgres holds event ${r.event_id} inside the sealed window, but the batch does not`);
    }
  }
}

/** The lines of a data object that already passed the check (it split into lines there). */
function batchLines(dataBytes: Buffer): BatchLines {
  const { raw, ends } = scanDataObject(dataBytes);
  return new BatchLines(raw, ends);
}

/**
 * The leaf hashes of the hot rows of a batch's window, in (txid, seq) order, computed by Postgres
 * next to the rows: 32 bytes a row cross the wire instead of the row, and one comparison with the
 * sealed lines' leaf hashes covers the batch. Equal leaf hashes are equal bytes as surely as the
 * Merkle root binds the lines at all (SHA-256 collision resistance); when they differ,
 * compareHotRows reads and parses the rows to name the events that differ.
 */
function readHotLeaves(deps: VerifyDeps, stream: StreamId, b: BatchRow): Promise<Buffer> {
  return readWindowLeafHashes(deps.pool, {
    ...stream,
    first_txid: b.first.txid.toString(),
    first_seq: b.first.seq.toString(),
    last_txid: b.last.txid.toString(),
    last_seq: b.last.seq.toString(),
  }, b.leaf_count);
}

async function checkLock(
  deps: VerifyDeps,
  b: BatchRow,
  key: string,
  versionId: string,
  held: boolean,
  add: (object: string | null, reason: Reason, detail: string) => void,
): Promise<void> {
  let state;
  try {
    state = await deps.store.getLock(key, versionId);
  } catch (e) {
    if (e instanceof ObjectMissingError) return; // already reported as missing
    throw e;
  }
  if (state.mode !== 'COMPLIANCE' || !state.retainUntil || state.retainUntil < b.retain_until) {
    add(
      key,
      'lock_weaker',
      `lock is ${state.mode ?? 'none'} until ${state.retainUntil?.toISOString() ?? 'never'}; required COMPLIANCE until ${b.retain_until.toISOString()}`,
    );
  }
  if (state.legalHold !== held) {
    add(
      key,
      'legal_hold_mismatch',
      held
        ? 'legal hold is OFF, but an active hold covers this batch (run wormseal retention apply to complete the hold)'
        : 'legal hold is ON, but no active hold covers this batch (run wormseal retention apply to complete a release)',
    );
  }
}
