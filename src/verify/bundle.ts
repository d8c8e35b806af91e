import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../archive/batchfile.js';
import { dataKey, manifestKey } from '../archive/layout.js';
import type { Manifest } from '../archive/manifest.js';
import { verifyCheckpointNote, type Checkpoint } from '../checkpoint/checkpoint.js';
import { decodeKeyDocument, type PublishedKey } from '../checkpoint/keys.js';
import { checkTimestamp } from '../checkpoint/timestamp.js';
import type { StreamId } from '../db/batches.js';
import { bundleSchema, objectPath, type Bundle, type LockRecord } from '../export/format.js';
import type { BatchCheck, BatchLines } from './batch.js';
import { BundleEvents } from './bundle-events.js';
import type { Problem, Reason, VerifyReport } from './problems.js';
import { BatchChecker, defaultThreads } from './threads.js';

export interface BundleReport extends VerifyReport {
  /** The checkpoint the bundle is anchored to, when its signature verified. */
  checkpoint: { key: string; time: string; signed_by: string; timestamped_at?: string } | null;
  /**
   * Every batch whose manifest the bundle holds, in chain order (for timelines such as the HTML
   * report). Batches absent from the bundle appear only through their findings.
   */
  streams: {
    stream: StreamId;
    batches: { batch_no: number; leaf_count: number; sealed_at: string; retain_until: string; state: 'valid' | 'problem' }[];
  }[];
}

export class BundleError extends Error {
  override name = 'BundleError';
}

/** Where a batch's bytes were found; what the event checks need. */
export interface BundleBatch {
  manifest?: Manifest;
  lines?: BatchLines;
  /** The data object matched its manifest: its lines can be trusted for the completeness check. */
  intact: boolean;
}

/**
 * Verify an export bundle from its files alone (no database, no S3): the checkpoint's signature by
 * a published key valid at its time, every batch from the first listed to the checkpointed head
 * (bytes, Merkle root, chain, lock at export), and each selected event's inclusion proof. Every
 * expected link that is absent is its own finding. Throws BundleError only when `dir` is not a
 * bundle at all (no bundle.json); everything else is a finding.
 */
export async function verifyBundle(dir: string, opts: { trustedKeys?: PublishedKey[] } = {}): Promise<BundleReport> {
  const report: BundleReport = {
    ok: false,
    batches_checked: 0,
    batches_valid: 0,
    events_checked: 0,
    streams_checked: 0,
    pending_batches: 0,
    batches_expired: 0,
    problems: [],
    checkpoint: null,
    streams: [],
  };
  const read = (path: string): Buffer | undefined => (existsSync(join(dir, path)) ? readFileSync(join(dir, path)) : undefined);
  const indexBytes = read('bundle.json');
  if (!indexBytes) throw new BundleError(`${dir} is not an export bundle: bundle.json is missing`);
  const parsed = (() => {
    try {
      return bundleSchema.safeParse(JSON.parse(indexBytes.toString('utf8')));
    } catch (e) {
      return { success: false as const, error: { issues: [{ path: [], message: (e as Error).message }] } };
    }
  })();
  const none: StreamId = { namespace: '', retention_class: '' };
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    report.problems.push({ stream: none, batch_no: null, object: 'bundle.json', reason: 'content_changed', detail: `bundle.json ${i.path.join('.')}: ${i.message}` });
    return report;
  }
  const bundle = parsed.data;

  const keys = opts.trustedKeys ?? loadKeys(bundle, read, (object, detail) => report.problems.push({ stream: none, batch_no: null, object, reason: 'signature_invalid', detail }));
  const cpBytes = read(objectPath(bundle.checkpoint.key));
  let checkpoint: Checkpoint | undefined;
  const cpProblem = (reason: Reason, detail: string) => {
    // One finding per stream it anchors; a bundle without streams still gets one.
    for (const s of bundle.streams.length ? bundle.streams.map(streamOf) : [none]) {
      report.problems.push({ stream: s, batch_no: null, object: bundle.checkpoint.key, reason, detail });
    }
  };
  if (!cpBytes) cpProblem('missing', 'the signed checkpoint is not in the bundle');
  else {
    const v = verifyCheckpointNote(cpBytes.toString('utf8'), keys);
    if (v.ok) {
      checkpoint = v.checkpoint;
      report.checkpoint = { key: bundle.checkpoint.key, time: v.checkpoint.time.toISOString(), signed_by: `${v.key.name}+${v.key.keyId}` };
    } else cpProblem(v.reason, v.detail);
  }
  checkLock(bundle.checkpoint.lock, bundle.checkpoint.key, null, none, report.problems);
  const ts = bundle.checkpoint_timestamp;
  if (ts && cpBytes) {
    const tsr = read(objectPath(ts.key));
    if (!tsr) report.problems.push({ stream: none, batch_no: null, object: ts.key, reason: 'missing', detail: 'the time-stamp listed in bundle.json is not in the bundle' });
    else {
      try {
        const { genTime } = checkTimestamp(tsr, cpBytes);
        if (report.checkpoint) report.checkpoint.timestamped_at = genTime.toISOString();
      } catch (e) {
        cpProblem('signature_invalid', `RFC 3161 time-stamp ${ts.key}: ${(e as Error).message}`);
      }
    }
    checkLock(ts.lock, ts.key, null, none, report.problems);
  }
  for (const k of bundle.keys) checkLock(k.lock, k.key, null, none, report.problems);

  // Batch checks run on worker threads: batches are read and queued a few ahead, then judged in
  // chain order as their checks come back, so findings are added in the same order as one by
  // one. A judged batch's events are checked at once and its lines let go: memory holds the
  // batches in flight, not the whole bundle.
  const checker = new BatchChecker();
  checker.start();
  const events = new BundleEvents(bundle, read, report.problems);
  const batches = new Map<string, Omit<BundleBatch, 'lines'>>();
  const checkedIds: string[] = [];
  try {
    const plans = bundle.streams.map((s) => planStream(s));
    // Every step of every stream, in judging order; each is read and queued AHEAD steps early.
    const queue = plans.flatMap((p) => p.steps);
    const AHEAD = 2 * Math.max(1, defaultThreads());
    for (let k = 0; k < Math.min(AHEAD, queue.length); k++) queue[k]!.start();
    let next = 0;
    for (const { s, stream, head, headNo, lastPresent, steps } of plans) {
      report.streams_checked++;
      if (checkpoint && !head) cpProblemFor(stream, 'missing', `the checkpoint names no head for ${s.namespace}/${s.retention_class}`);
      let prevSha: string | undefined;
      for (const step of steps) {
        queue[next + AHEAD]?.start();
        next++;
        const { n, firstNo, mKey, dKey, entry } = step;
        const present = step.start();
        const id = `${s.namespace}/${s.retention_class}/${n}`;
        report.batches_checked++;
        checkedIds.push(id);
        const add = (object: string | null, reason: Reason, detail: string) => report.problems.push({ stream, batch_no: n, object, reason, detail });
        if (!present) {
          add(mKey, n > lastPresent ? 'truncated' : 'missing', n > lastPresent ? `batch ${n} is absent, but the checkpoint names batch ${headNo} as the head` : `batch ${n} is absent from the chain`);
          prevSha = undefined;
          events.batchJudged(id, undefined);
          continue;
        }
        if (present.dataMissing) add(dKey, 'missing', 'the data object listed in bundle.json is not in the bundle');
        const checked = await present.check;
        for (const f of checked.findings) add(f.object === 'data' ? dKey : mKey, f.reason, f.detail);
        const sha = present.sha;
        const m = checked.manifest;
        if (m && (m.batch_no !== n || m.stream.namespace !== s.namespace || m.stream.retention_class !== s.retention_class)) {
          add(mKey, 'reordered', `manifest names ${m.stream.namespace}/${m.stream.retention_class} batch ${m.batch_no}, found at batch ${n}`);
        }
        const recorded = entry?.manifest.sha256;
        const changed = recorded !== undefined && recorded !== sha;
        if (changed) add(mKey, 'content_changed', `manifest sha256 ${sha}, sealed as ${recorded}`);
        if (m && n > firstNo && prevSha !== undefined && m.prev_manifest_sha256 !== prevSha) {
          add(mKey, 'chain_broken', `names previous manifest ${m.prev_manifest_sha256 ?? 'null'}, but batch ${n - 1}'s manifest is ${prevSha}`);
        }
        if (m && n === 1 && m.prev_manifest_sha256 !== null) add(mKey, 'chain_broken', 'batch 1 names a predecessor');
        if (head && n === headNo && sha !== head.manifest_sha256 && !changed) {
          add(mKey, 'chain_broken', `manifest sha256 ${sha}, the signed checkpoint names ${head.manifest_sha256}`);
        }
        if (entry && m) {
          checkLock(entry.manifest.lock, mKey, m, stream, report.problems, n);
          if (entry.data) checkLock(entry.data.lock, dKey, m, stream, report.problems, n);
        }
        const judged = { ...(m ? { manifest: m } : {}), intact: checked.findings.length === 0 };
        batches.set(id, judged);
        events.batchJudged(id, { ...judged, ...(checked.lines ? { lines: checked.lines } : {}) });
        // A changed manifest is reported once: its successor is judged against the sealed digest.
        prevSha = changed ? recorded : sha;
      }
    }
  } finally {
    await checker.close();
  }
  events.finish();
  report.events_checked = events.count;
  report.problems.sort(
    (a, b) =>
      a.stream.namespace.localeCompare(b.stream.namespace) ||
      a.stream.retention_class.localeCompare(b.stream.retention_class) ||
      (a.batch_no ?? 0) - (b.batch_no ?? 0),
  );
  // A batch is valid only if no finding names it, including findings about its events.
  const hit = new Set(report.problems.filter((p) => p.batch_no !== null).map((p) => `${p.stream.namespace}/${p.stream.retention_class}/${p.batch_no}`));
  report.batches_valid = checkedIds.filter((id) => !hit.has(id)).length;
  for (const s of bundle.streams) {
    const summary: BundleReport['streams'][number] = { stream: streamOf(s), batches: [] };
    for (const [id, b] of batches) {
      if (!b.manifest || !id.startsWith(`${s.namespace}/${s.retention_class}/`)) continue;
      const m = b.manifest;
      summary.batches.push({
        batch_no: Number(id.slice(id.lastIndexOf('/') + 1)),
        leaf_count: m.tree.size,
        sealed_at: m.sealed_at,
        retain_until: m.retention.retain_until,
        state: hit.has(id) ? 'problem' : 'valid',
      });
    }
    report.streams.push(summary);
  }
  report.ok = report.problems.length === 0;
  return report;

  function cpProblemFor(stream: StreamId, reason: Reason, detail: string) {
    report.problems.push({ stream, batch_no: null, object: bundle.checkpoint.key, reason, detail });
  }

  /**
   * One stream's batches from the chain's first listed batch to its head. The manifests are read
   * here (they say where the chain ends); each data object is read and its check queued by its
   * step's start(), once (later calls give the same answer).
   */
  function planStream(s: Bundle['streams'][number]) {
    const stream = streamOf(s);
    const head = checkpoint?.heads.find((h) => h.namespace === s.namespace && h.retention_class === s.retention_class);
    const headNo = head?.batch_no ?? s.head_batch_no;
    const listed = new Map(s.batches.map((b) => [b.batch_no, b]));
    const firstNo = Math.min(...s.batches.map((b) => b.batch_no), headNo);
    // The last batch actually present: absent batches after it are a cut tail, before it a hole.
    let lastPresent = 0;
    const steps = [];
    for (let n = firstNo; n <= headNo; n++) {
      const mKey = manifestKey(stream, n);
      const dKey = dataKey(stream, n);
      const entry = listed.get(n);
      const mBytes = read(objectPath(mKey));
      if (mBytes) lastPresent = n;
      let started: { sha: string; dataMissing: boolean; check: Promise<BatchCheck> } | undefined;
      const start = () => {
        if (!mBytes || started) return started;
        const wantsData = entry?.data !== null && entry?.data !== undefined;
        const dBytes = wantsData ? read(objectPath(dKey)) : undefined;
        // Nothing reads dBytes after the check: the worker may take it without a copy.
        started = { sha: sha256(mBytes).toString('hex'), dataMissing: wantsData && !dBytes, check: checker.check(mBytes, dBytes, { handOver: true }) };
        // Judged later, in order: keep an early failure from being reported as unhandled meanwhile.
        started.check.catch(() => {});
        return started;
      };
      steps.push({ n, firstNo, mKey, dKey, entry, start });
    }
    return { s, stream, head, headNo, lastPresent, steps };
  }
}

function streamOf(s: { namespace: string; retention_class: string }): StreamId {
  return { namespace: s.namespace, retention_class: s.retention_class };
}

function loadKeys(bundle: Bundle, read: (p: string) => Buffer | undefined, bad: (object: string, detail: string) => void): PublishedKey[] {
  const keys: PublishedKey[] = [];
  for (const k of bundle.keys) {
    const bytes = read(objectPath(k.key));
    if (!bytes) {
      bad(k.key, 'public key document listed in bundle.json is not in the bundle');
      continue;
    }
    try {
      keys.push(decodeKeyDocument(bytes.toString('utf8')));
    } catch (e) {
      bad(k.key, (e as Error).message);
    }
  }
  return keys;
}

/** The lock recorded at export must be COMPLIANCE until at least the manifest's retain-until. */
function checkLock(lock: LockRecord, key: string, m: Manifest | null, stream: StreamId, problems: Problem[], batchNo: number | null = null): void {
  const want = m?.retention.retain_until;
  if (lock.mode !== 'COMPLIANCE' || !lock.retain_until || (want !== undefined && Date.parse(lock.retain_until) < Date.parse(want))) {
    problems.push({
      stream,
      batch_no: batchNo,
      object: key,
      reason: 'lock_weaker',
      detail: `at export the lock was ${lock.mode ?? 'none'} until ${lock.retain_until ?? 'never'}${want ? `; required COMPLIANCE until ${want}` : ''}`,
    });
  }
}
