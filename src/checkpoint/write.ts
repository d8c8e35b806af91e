import { sha256 } from '../archive/batchfile.js';
import { checkpointKey, publicKeyKey, timestampKey } from '../archive/layout.js';
import type { ObjectLock, ObjectStore } from '../archive/store.js';
import type { Clock } from '../config/clock.js';
import { findNewestCheckpoint, insertCheckpoint, listSealedHeads } from '../db/checkpoints.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log/logger.js';
import { ensureLock, putOnce } from '../seal/objects.js';
import { decodeCheckpointBody, encodeCheckpointBody, signCheckpoint, type StreamHead } from './checkpoint.js';
import { decodeKeyDocument, encodeKeyDocument, keyValidAt, type PublishedKey, type SigningKey } from './keys.js';
import { parseNote } from './note.js';
import { checkTimestamp, requestTimestamp } from './timestamp.js';

export interface CheckpointDeps {
  pool: Pool;
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  signingKey: SigningKey;
  /** RFC 3161 TSA to time-stamp each checkpoint; none when undefined. */
  tsaUrl?: string | undefined;
}

export interface WrittenCheckpoint {
  key: string;
  version_id: string;
  time: string;
  signed_by: string;
  heads: StreamHead[];
  /** The TSA's time-stamp of the note, when a TSA is configured. */
  timestamp?: { key: string; version_id: string; gen_time: string };
}

/**
 * Sign the head of every stream and store it as a checkpoint object under COMPLIANCE (DESIGN 9),
 * publishing the public key first if the bucket does not hold it yet. Writes nothing when no stream
 * head moved since the newest checkpoint. The checkpoint is locked until the latest retain-until of
 * the batches it names, and the key document's lock is extended to match, so a key outlives every
 * checkpoint it signed.
 */
export async function writeCheckpoint(deps: CheckpointDeps): Promise<WrittenCheckpoint | undefined> {
  const { pool, store, signingKey } = deps;
  const rows = await listSealedHeads(pool);
  if (rows.length === 0) return undefined;
  const heads: StreamHead[] = rows.map((r) => ({
    namespace: r.namespace,
    retention_class: r.retention_class,
    batch_no: r.batch_no,
    manifest_sha256: r.manifest_sha256.toString('hex'),
  }));
  const newest = await findNewestCheckpoint(pool);
  if (newest) {
    const signed = decodeCheckpointBody(parseNote(newest.note).body).heads;
    if (sameHeads(signed, heads)) return undefined;
    refuseRegression(signed, heads, newest.object_key);
  }

  const time = deps.clock.now();
  if (signingKey.validUntil && signingKey.validUntil < time) {
    // Checked before publishing: a key document whose window is already over must never be locked in.
    throw new Error(`signing key ${signingKey.name}+${signingKey.keyId} expired ${signingKey.validUntil.toISOString()}: configure a new key (rotation)`);
  }
  const retainUntil = new Date(Math.ceil(Math.max(...rows.map((r) => r.retain_until.getTime())) / 1000) * 1000);
  const lock: ObjectLock = { mode: 'COMPLIANCE', retainUntil };
  const published = await publishKey(store, signingKey, time, lock);
  if (!keyValidAt(published, time)) {
    throw new Error(
      `signing key ${signingKey.name}+${signingKey.keyId} is valid ${published.validFrom.toISOString()} to ` +
        `${published.validUntil?.toISOString() ?? 'open end'}, not at ${time.toISOString()}: configure a new key (rotation)`,
    );
  }
  const note = signCheckpoint({ origin: store.name, time, heads }, signingKey);
  const noteBytes = Buffer.from(note, 'utf8');
  const key = checkpointKey(time, sha256(noteBytes).toString('hex'));
  // Stamped before anything is stored: a TSA that fails leaves no checkpoint, and the next run retries.
  const tsr = deps.tsaUrl ? await requestTimestamp(deps.tsaUrl, noteBytes) : undefined;
  const put = await putOnce(store, key, noteBytes, { lock, legalHold: false, contentType: 'text/plain; charset=utf-8' });
  await ensureLock(store, key, put.versionId, lock, false);
  let timestamp: WrittenCheckpoint['timestamp'];
  if (tsr) {
    const tsKey = timestampKey(key);
    const tsPut = await putOnce(store, tsKey, tsr, { lock, legalHold: false, contentType: 'application/timestamp-reply' });
    await ensureLock(store, tsKey, tsPut.versionId, lock, false);
    timestamp = { key: tsKey, version_id: tsPut.versionId, gen_time: checkTimestamp(tsr, noteBytes).genTime.toISOString() };
  }
  await insertCheckpoint(pool, {
    object_key: key,
    version_id: put.versionId,
    signed_at: time,
    key_name: signingKey.name,
    key_id: signingKey.keyId,
    note,
  });
  deps.logger.info(`checkpoint ${key}: ${heads.length} stream head(s) signed by ${signingKey.name}+${signingKey.keyId}`);
  return {
    key,
    version_id: put.versionId,
    time: time.toISOString(),
    signed_by: `${signingKey.name}+${signingKey.keyId}`,
    heads,
    ...(timestamp ? { timestamp } : {}),
  };
}

/**
 * The published document of the signing key: the one already in the bucket (its window was fixed
 * when it was first published), or a new one valid from `now`. Its lock is raised to `lock`.
 */
async function publishKey(store: ObjectStore, k: SigningKey, now: Date, lock: ObjectLock): Promise<PublishedKey> {
  const objectKey = publicKeyKey(k.name, k.keyId);
  const published = async () => {
    const versions = (await store.listVersions(objectKey)).filter((v) => v.key === objectKey && !v.isDeleteMarker);
    // The first version is the publication; later ones would be someone else's writes.
    const first = versions[versions.length - 1];
    return first ? { versionId: first.versionId, doc: decodeKeyDocument((await store.get(objectKey, first.versionId)).toString('utf8')) } : undefined;
  };
  let found = await published();
  if (!found) {
    const text = encodeKeyDocument(k, now);
    try {
      const put = await putOnce(store, objectKey, Buffer.from(text, 'utf8'), { lock, legalHold: false, contentType: 'text/plain; charset=utf-8' });
      found = { versionId: put.versionId, doc: decodeKeyDocument(text) };
    } catch (e) {
      // Another sealer published it a moment earlier (with its own valid_from): use that one.
      found = await published();
      if (!found) throw e;
    }
  }
  const { versionId, doc } = found;
  await ensureLock(store, objectKey, versionId, lock, false);
  return doc;
}

/**
 * The registry only grows, so a head below (or different from) one already signed means batches
 * were removed from the registry. Signing that would make the cut invisible: refuse instead.
 */
function refuseRegression(signed: StreamHead[], now: StreamHead[], checkpointKey: string): void {
  for (const s of signed) {
    const cur = now.find((h) => h.namespace === s.namespace && h.retention_class === s.retention_class);
    if (!cur || cur.batch_no < s.batch_no || (cur.batch_no === s.batch_no && cur.manifest_sha256 !== s.manifest_sha256)) {
      throw new Error(
        `refusing to sign: ${s.namespace}/${s.retention_class} ends at ${cur ? `batch ${cur.batch_no}` : 'no batch'} in the registry, ` +
          `but ${checkpointKey} signed batch ${s.batch_no} (${s.manifest_sha256}); run wormseal verify`,
      );
    }
  }
}

function sameHeads(a: StreamHead[], b: StreamHead[]): boolean {
  return encodeCheckpointBody({ origin: '', time: new Date(0), heads: a }) === encodeCheckpointBody({ origin: '', time: new Date(0), heads: b });
}
