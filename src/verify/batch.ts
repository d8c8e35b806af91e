import { decodeManifest, ManifestError, type Manifest } from '../archive/manifest.js';
import { checkDataObject, type BatchLines, type ContentFinding } from './data.js';

export { BatchLines, type ContentFinding } from './data.js';

export interface BatchCheck {
  /** The parsed manifest, when it is readable. */
  manifest?: Manifest;
  /** SHA-256 (hex) of the data object's bytes, whenever they were given with a readable manifest. */
  dataSha256?: string;
  /** The data object's lines, when it decompressed and split into lines (and they were asked for). */
  lines?: BatchLines;
  /** The number of lines, whenever the data object decompressed and split into lines. */
  count?: number;
  /**
   * The data object's bytes, given back by a check on a worker thread that was asked for no lines
   * (BatchChecker.check with `lines: false`): to split into lines when they turn out to be needed.
   */
  dataBytes?: Buffer;
  /** With lines: leafHash() of each line, concatenated in line order (32 bytes each). */
  leaves?: Buffer;
  findings: ContentFinding[];
}

/**
 * Check one batch from its bytes alone: the manifest parses and is canonical, the data object's
 * SHA-256 and size match the manifest, its lines rebuild the manifest's RFC 6962 root and count.
 * Shared by `verify` (bytes from S3) and the offline bundle verifier, which run it through
 * BatchChecker (threads.ts) to spread the hashing over worker threads. Returns the parsed manifest
 * (when readable), the lines and their leaf hashes, so callers can go on to chain, hot-row and
 * event checks.
 */
export function checkBatchBytes(manifestBytes: Buffer, dataBytes: Buffer | undefined): BatchCheck {
  const decoded = decodeBatchManifest(manifestBytes);
  if (!decoded.manifest || !dataBytes) return decoded;
  const checked = checkDataObject(decoded.manifest, dataBytes);
  return { manifest: decoded.manifest, ...checked, ...(checked.lines ? { count: checked.lines.count } : {}) };
}

/** The manifest half of checkBatchBytes: the manifest, or the finding that it is unreadable. */
export function decodeBatchManifest(manifestBytes: Buffer): { manifest?: Manifest; findings: ContentFinding[] } {
  try {
    return { manifest: decodeManifest(manifestBytes), findings: [] };
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    return { findings: [{ object: 'manifest', reason: 'content_changed', detail: e.message }] };
  }
}
