import { sha256 } from '../archive/batchfile.js';
import type { ObjectLock, ObjectStore } from '../archive/store.js';
import { SealAlarmError } from './errors.js';

/**
 * Write a batch object exactly once (DESIGN 5c). A version already under the key with the same
 * SHA-256 is the one a crashed run wrote: reuse it. Any other content there is an alarm — we never
 * write a second, different version over a batch key. (RGW ignores If-None-Match on PUT, so this
 * check-then-put relies on the stream's advisory lock to keep other sealers away.)
 */
export async function putOnce(
  store: ObjectStore,
  key: string,
  body: Buffer,
  opts: { lock: ObjectLock; legalHold: boolean; contentType: string },
): Promise<{ versionId: string; reused: boolean }> {
  const existing = (await store.listVersions(key)).filter((v) => v.key === key && !v.isDeleteMarker);
  if (existing.length > 0) {
    const want = sha256(body);
    for (const v of existing) {
      const got = sha256(await store.get(key, v.versionId));
      if (got.equals(want)) {
        if (existing.length > 1) {
          throw new SealAlarmError(
            `${key} has ${existing.length} versions; only one was ever written by wormseal: inspect the bucket before sealing this batch`,
          );
        }
        return { versionId: v.versionId, reused: true };
      }
    }
    throw new SealAlarmError(
      `${key} already exists with different content (sha256 ${sha256(await store.get(key, existing[0]!.versionId)).toString('hex')}, ` +
        `expected ${want.toString('hex')}); refusing to overwrite: inspect the bucket and the batch registry`,
    );
  }
  const { versionId } = await store.put(key, body, opts);
  return { versionId, reused: false };
}

/**
 * Step (d): read a version's lock back and raise it to what was intended. Needed because some
 * servers ignore lock headers on some uploads (RGW on multipart, DESIGN 6). Throws if the lock is
 * still weaker after the repair.
 */
export async function ensureLock(
  store: ObjectStore,
  key: string,
  versionId: string,
  want: ObjectLock,
  legalHold: boolean,
): Promise<{ repaired: boolean }> {
  let repaired = false;
  let state = await store.getLock(key, versionId);
  if (state.mode !== want.mode || !state.retainUntil || state.retainUntil < want.retainUntil) {
    await store.putRetention(key, versionId, want);
    repaired = true;
  }
  if (legalHold && !state.legalHold) {
    await store.putLegalHold(key, versionId, true);
    repaired = true;
  }
  if (repaired) {
    state = await store.getLock(key, versionId);
    if (state.mode !== want.mode || !state.retainUntil || state.retainUntil < want.retainUntil || (legalHold && !state.legalHold)) {
      throw new SealAlarmError(
        `${key} version ${versionId}: lock is ${state.mode ?? 'none'} until ${state.retainUntil?.toISOString() ?? 'never'} ` +
          `after repair; wanted ${want.mode} until ${want.retainUntil.toISOString()}`,
      );
    }
  }
  return { repaired };
}
