/**
 * The narrow storage port. The S3 implementation is what production and the integration tests use;
 * the in-memory one serves unit tests of pure logic. Both pass test/unit/store-contract.test.ts,
 * but WORM behaviour is only ever trusted from a real S3 server (test/integration).
 */
export type LockMode = 'COMPLIANCE' | 'GOVERNANCE';

export interface ObjectLock {
  mode: LockMode;
  retainUntil: Date;
}

export interface PutOptions {
  lock: ObjectLock;
  legalHold: boolean;
  contentType: string;
}

export interface VersionInfo {
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  lastModified: Date;
}

export interface LockState {
  mode: LockMode | undefined;
  retainUntil: Date | undefined;
  legalHold: boolean;
}

export interface BucketProtection {
  versioning: 'Enabled' | 'Suspended' | 'Disabled';
  objectLockEnabled: boolean;
  defaultRetention: { mode: LockMode; days?: number; years?: number } | undefined;
}

export interface ObjectStore {
  /** Human name for messages, e.g. `s3://bucket`. */
  readonly name: string;
  /** Write a whole object with its lock; returns the new version id. */
  put(key: string, body: Buffer, opts: PutOptions): Promise<{ versionId: string }>;
  /** Read one pinned version, into memory the caller owns (verify hands it to a worker thread). Throws ObjectMissingError if that version does not exist. */
  get(key: string, versionId: string): Promise<Buffer>;
  /** Every version and delete marker under a prefix (exact key included), newest first per key. */
  listVersions(prefix: string): Promise<VersionInfo[]>;
  getLock(key: string, versionId: string): Promise<LockState>;
  /** Extend (never shorten: the server refuses) a version's retention. */
  putRetention(key: string, versionId: string, lock: ObjectLock): Promise<void>;
  putLegalHold(key: string, versionId: string, on: boolean): Promise<void>;
  /** Delete a version (refused by the server while locked), or add a delete marker without versionId. */
  delete(key: string, versionId?: string): Promise<void>;
  bucketProtection(): Promise<BucketProtection>;
  /** The server's clock, from its Date header: retain-until dates are judged by it. */
  serverTime(): Promise<Date>;
}

export class ObjectMissingError extends Error {
  override name = 'ObjectMissingError';
  constructor(
    readonly key: string,
    readonly versionId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`object ${key}${versionId ? ` version ${versionId}` : ''} does not exist`, options);
  }
}

/** The server refused an operation that Object Lock forbids (early delete, shorter retention). */
export class LockRefusedError extends Error {
  override name = 'LockRefusedError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
