import { CHECKPOINT_PREFIX, KEYS_PREFIX } from '../archive/layout.js';
import { ObjectMissingError, type ObjectStore, type VersionInfo } from '../archive/store.js';
import { verifyCheckpointNote, type Checkpoint } from '../checkpoint/checkpoint.js';
import { decodeKeyDocument, type PublishedKey } from '../checkpoint/keys.js';
import type { StreamId } from '../db/batches.js';
import { listSealedHeads } from '../db/checkpoints.js';
import type { Pool } from '../db/pool.js';
import { mapLimit } from './limit.js';
import type { Problem } from './problems.js';

/**
 * The signed checkpoints in the bucket, for `wormseal verify`: each must carry a valid signature
 * of a published key dated inside its window and be locked COMPLIANCE; and the newest valid one is
 * an independent record of where each chain ends — a head beyond the registry's means batches were
 * cut off the tail (truncated, one finding per batch), a different digest at the same head means
 * the chain was rewritten.
 */
export async function verifyCheckpoints(
  deps: { pool: Pool; store: ObjectStore },
  opts: { namespace?: string } = {},
  /**
   * Findings already made, so a batch the bucket listing already showed as cut is not reported
   * twice; awaited only for the last step, so the checkpoints can be read meanwhile.
   */
  known: Promise<readonly Problem[]> = Promise.resolve([]),
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const none: StreamId = { namespace: '', retention_class: '' };
  const inScope = (s: StreamId) => opts.namespace === undefined || s.namespace === opts.namespace;

  const keys: PublishedKey[] = [];
  for (const v of firstVersions(await deps.store.listVersions(KEYS_PREFIX))) {
    try {
      keys.push(decodeKeyDocument((await deps.store.get(v.key, v.versionId)).toString('utf8')));
    } catch (e) {
      problems.push({ stream: none, batch_no: null, object: v.key, reason: 'signature_invalid', detail: (e as Error).message });
    }
  }
  let newest: Checkpoint | undefined;
  // Checked a few at a time: each is two round trips (the note and its lock).
  const verdicts = await mapLimit(firstVersions(await deps.store.listVersions(CHECKPOINT_PREFIX)), 8, async (v) => {
    let text: string;
    try {
      text = (await deps.store.get(v.key, v.versionId)).toString('utf8');
    } catch (e) {
      if (e instanceof ObjectMissingError) return undefined;
      throw e;
    }
    return { v, verdict: verifyCheckpointNote(text, keys), lock: await deps.store.getLock(v.key, v.versionId) };
  });
  for (const { v, verdict, lock } of verdicts.filter((x) => x !== undefined)) {
    const streams = (verdict.checkpoint?.heads ?? []).filter(inScope);
    const report = (reason: Problem['reason'], detail: string) => {
      for (const s of streams.length ? streams : [none]) {
        problems.push({ stream: { namespace: s.namespace, retention_class: s.retention_class }, batch_no: null, object: v.key, reason, detail });
      }
    };
    if (!verdict.ok) {
      report(verdict.reason, verdict.detail);
      continue;
    }
    if (lock.mode !== 'COMPLIANCE') report('lock_weaker', `checkpoint lock is ${lock.mode ?? 'none'}, not COMPLIANCE`);
    if (!newest || verdict.checkpoint.time >= newest.time) newest = verdict.checkpoint;
  }
  if (!newest) return problems;

  const registry = new Map((await listSealedHeads(deps.pool)).map((h) => [`${h.namespace}/${h.retention_class}`, h]));
  const found = await known;
  for (const head of newest.heads.filter(inScope)) {
    const stream = { namespace: head.namespace, retention_class: head.retention_class };
    const reg = registry.get(`${head.namespace}/${head.retention_class}`);
    const regNo = reg?.batch_no ?? 0;
    for (let n = regNo + 1; n <= head.batch_no; n++) {
      if (found.some((p) => p.reason === 'truncated' && p.batch_no === n && p.stream.namespace === head.namespace && p.stream.retention_class === head.retention_class)) continue;
      problems.push({
        stream,
        batch_no: n,
        object: null,
        reason: 'truncated',
        detail: `the signed checkpoint of ${newest.time.toISOString()} names batch ${head.batch_no} as the head; the registry ends at batch ${regNo}`,
      });
    }
    if (reg && reg.batch_no === head.batch_no && reg.manifest_sha256.toString('hex') !== head.manifest_sha256) {
      problems.push({
        stream,
        batch_no: head.batch_no,
        object: null,
        reason: 'chain_broken',
        detail: `the registry's head manifest is ${reg.manifest_sha256.toString('hex')}, the signed checkpoint names ${head.manifest_sha256}`,
      });
    }
  }
  return problems;
}

/** The first-written version of each key (a later one would not be ours). */
function firstVersions(versions: VersionInfo[]): VersionInfo[] {
  const first = new Map<string, VersionInfo>();
  for (const v of versions) {
    if (v.isDeleteMarker) continue;
    const seen = first.get(v.key);
    if (!seen || v.lastModified < seen.lastModified) first.set(v.key, v);
  }
  return [...first.values()];
}
