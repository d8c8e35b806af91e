import { expect, it } from 'vitest';
import { LockRefusedError, ObjectMissingError, type ObjectStore } from '../../src/archive/store.js';

export interface ContractSubject {
  store: ObjectStore;
  /** The store's notion of now (server time for S3). */
  now: () => Date;
  /** Let time pass for the store (sleep for S3, advance for the fake). */
  wait: (ms: number) => Promise<void>;
}

/**
 * The ObjectStore contract: what the sealer and verifier rely on. Run against the in-memory store
 * (unit) and a real S3 server with Object Lock (integration): only the latter is evidence of WORM.
 */
export function storeContract(make: () => Promise<ContractSubject>): void {
  const body = Buffer.from('{"a":1}\n');
  it('puts whole objects with a lock and reads pinned versions back', async () => {
    const { store, now } = await make();
    const retainUntil = new Date(Math.ceil((now().getTime() + 3_600_000) / 1000) * 1000);
    const { versionId } = await store.put('c/one', body, { lock: { mode: 'COMPLIANCE', retainUntil }, legalHold: false, contentType: 'text/plain' });
    expect((await store.get('c/one', versionId)).equals(body)).toBe(true);
    const lock = await store.getLock('c/one', versionId);
    expect(lock).toEqual({ mode: 'COMPLIANCE', retainUntil, legalHold: false });
    await expect(store.get('c/one', 'no-such-version')).rejects.toBeInstanceOf(ObjectMissingError);
  });

  it('refuses early deletion and shortening, allows extension', async () => {
    const { store, now } = await make();
    const retainUntil = new Date(Math.ceil((now().getTime() + 3_600_000) / 1000) * 1000);
    const { versionId } = await store.put('c/two', body, { lock: { mode: 'COMPLIANCE', retainUntil }, legalHold: false, contentType: 'text/plain' });
    await expect(store.delete('c/two', versionId)).rejects.toBeInstanceOf(LockRefusedError);
    await expect(
      store.putRetention('c/two', versionId, { mode: 'COMPLIANCE', retainUntil: new Date(retainUntil.getTime() - 60_000) }),
    ).rejects.toBeInstanceOf(LockRefusedError);
    const later = new Date(retainUntil.getTime() + 86_400_000);
    await store.putRetention('c/two', versionId, { mode: 'COMPLIANCE', retainUntil: later });
    expect((await store.getLock('c/two', versionId)).retainUntil).toEqual(later);
    expect((await store.get('c/two', versionId)).equals(body)).toBe(true);
  });

  it('keeps a legal-hold version past its retention until the hold is released', async () => {
    const { store, now, wait } = await make();
    const retainUntil = new Date(Math.ceil((now().getTime() + 2_000) / 1000) * 1000);
    const { versionId } = await store.put('c/held', body, { lock: { mode: 'COMPLIANCE', retainUntil }, legalHold: true, contentType: 'text/plain' });
    expect((await store.getLock('c/held', versionId)).legalHold).toBe(true);
    await wait(retainUntil.getTime() - now().getTime() + 1_500);
    await expect(store.delete('c/held', versionId)).rejects.toBeInstanceOf(LockRefusedError);
    await store.putLegalHold('c/held', versionId, false);
    await store.delete('c/held', versionId);
    await expect(store.get('c/held', versionId)).rejects.toBeInstanceOf(ObjectMissingError);
  });

  it('lists versions and delete markers newest first', async () => {
    const { store, now } = await make();
    const lock = { mode: 'COMPLIANCE' as const, retainUntil: new Date(Math.ceil((now().getTime() + 3_600_000) / 1000) * 1000) };
    const v1 = await store.put('c/list', body, { lock, legalHold: false, contentType: 'text/plain' });
    await store.delete('c/list');
    const versions = (await store.listVersions('c/list')).filter((v) => v.key === 'c/list');
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatchObject({ isDeleteMarker: true, isLatest: true });
    expect(versions[1]).toMatchObject({ versionId: v1.versionId, isDeleteMarker: false, isLatest: false, size: body.length });
    // The sealed version survives the marker.
    expect((await store.get('c/list', v1.versionId)).equals(body)).toBe(true);
  });

  it('reports the bucket protection', async () => {
    const { store } = await make();
    const p = await store.bucketProtection();
    expect(p).toMatchObject({ versioning: 'Enabled', objectLockEnabled: true, defaultRetention: { mode: 'COMPLIANCE' } });
  });
}
