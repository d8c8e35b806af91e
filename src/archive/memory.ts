import { randomUUID } from 'node:crypto';
import {
  LockRefusedError,
  ObjectMissingError,
  type BucketProtection,
  type LockState,
  type ObjectLock,
  type ObjectStore,
  type PutOptions,
  type VersionInfo,
} from './store.js';
import type { Clock } from '../config/clock.js';

interface Version {
  versionId: string;
  body: Buffer | undefined; // undefined: delete marker
  lock: ObjectLock | undefined;
  legalHold: boolean;
  lastModified: Date;
}

/**
 * An in-memory ObjectStore with S3's versioning and Object Lock rules, for unit tests of pure
 * logic. It is never evidence that a WORM guarantee holds: that is tested on a real S3 server.
 */
export class MemoryObjectStore implements ObjectStore {
  readonly name = 'memory://';
  private readonly objects = new Map<string, Version[]>();

  constructor(
    private readonly clock: Clock,
    private readonly protection: BucketProtection = {
      versioning: 'Enabled',
      objectLockEnabled: true,
      defaultRetention: { mode: 'COMPLIANCE', days: 1 },
    },
  ) {}

  async put(key: string, body: Buffer, opts: PutOptions): Promise<{ versionId: string }> {
    const v: Version = {
      versionId: randomUUID(),
      body: Buffer.from(body),
      lock: opts.lock,
      legalHold: opts.legalHold,
      lastModified: this.clock.now(),
    };
    this.objects.set(key, [v, ...(this.objects.get(key) ?? [])]);
    return { versionId: v.versionId };
  }

  private find(key: string, versionId: string): Version {
    const v = this.objects.get(key)?.find((x) => x.versionId === versionId);
    if (!v || !v.body) throw new ObjectMissingError(key, versionId);
    return v;
  }

  async get(key: string, versionId: string): Promise<Buffer> {
    return Buffer.from(this.find(key, versionId).body!);
  }

  async listVersions(prefix: string): Promise<VersionInfo[]> {
    const out: VersionInfo[] = [];
    for (const key of [...this.objects.keys()].sort()) {
      if (!key.startsWith(prefix)) continue;
      this.objects.get(key)!.forEach((v, i) =>
        out.push({
          key,
          versionId: v.versionId,
          isLatest: i === 0,
          isDeleteMarker: v.body === undefined,
          size: v.body?.length ?? 0,
          lastModified: v.lastModified,
        }),
      );
    }
    return out;
  }

  async getLock(key: string, versionId: string): Promise<LockState> {
    const v = this.find(key, versionId);
    return { mode: v.lock?.mode, retainUntil: v.lock?.retainUntil, legalHold: v.legalHold };
  }

  async putRetention(key: string, versionId: string, lock: ObjectLock): Promise<void> {
    const v = this.find(key, versionId);
    if (v.lock?.mode === 'COMPLIANCE' && lock.retainUntil < v.lock.retainUntil && v.lock.retainUntil > this.clock.now()) {
      throw new LockRefusedError(`memory: shortening COMPLIANCE retention of ${key} refused`, 'AccessDenied');
    }
    v.lock = lock;
  }

  async putLegalHold(key: string, versionId: string, on: boolean): Promise<void> {
    this.find(key, versionId).legalHold = on;
  }

  async delete(key: string, versionId?: string): Promise<void> {
    const versions = this.objects.get(key) ?? [];
    if (versionId === undefined) {
      this.objects.set(key, [
        { versionId: randomUUID(), body: undefined, lock: undefined, legalHold: false, lastModified: this.clock.now() },
        ...versions,
      ]);
      return;
    }
    const v = versions.find((x) => x.versionId === versionId);
    if (!v) return;
    if (v.legalHold || (v.lock && v.lock.retainUntil > this.clock.now())) {
      throw new LockRefusedError(`memory: delete of locked ${key} version ${versionId} refused`, 'AccessDenied');
    }
    this.objects.set(
      key,
      versions.filter((x) => x !== v),
    );
  }

  async bucketProtection(): Promise<BucketProtection> {
    return this.protection;
  }

  async serverTime(): Promise<Date> {
    return this.clock.now();
  }
}
