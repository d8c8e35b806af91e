// The data object half of a batch check, free of the manifest schema (and so of zod): worker
// threads (batch-worker.ts) load this module and little else, and start in a few milliseconds.

import { DataObjectError, scanDataObject, scanDataObjectInto, sha256, visitDataLines } from '../archive/batchfile.js';
import type { Manifest } from '../archive/manifest.js';
import { HASH_SIZE, leafHashRun } from '../merkle/hash.js';
import { buildLevelTree } from '../merkle/levels.js';
import type { Reason } from './problems.js';

export interface ContentFinding {
  object: 'data' | 'manifest';
  reason: Reason;
  detail: string;
}

/**
 * The lines of a data object as one decompressed buffer and the offset of each line's LF: a
 * million lines are two typed arrays (cheap to share between threads), not a million Buffers.
 */
export class BatchLines {
  constructor(
    readonly raw: Buffer,
    readonly ends: Float64Array,
  ) {}

  get count(): number {
    return this.ends.length;
  }

  /** Line i (0-based) without its LF: a view into raw, not a copy. */
  line(i: number): Buffer {
    return this.raw.subarray(i === 0 ? 0 : this.ends[i - 1]! + 1, this.ends[i]);
  }
}

/** What a data object is checked against: the manifest's fields about it. */
export interface DataExpectation {
  data: Pick<Manifest['data'], 'sha256' | 'bytes'>;
  tree: Pick<Manifest['tree'], 'size' | 'root'>;
}

export interface DataCheck {
  /** SHA-256 (hex) of the data object's bytes. */
  dataSha256: string;
  /** The lines, when the object decompressed and split into lines. */
  lines?: BatchLines;
  /** With lines: leafHash() of each line, concatenated in line order (32 bytes each). */
  leaves?: Buffer;
  findings: ContentFinding[];
}

/**
 * The data object's SHA-256 and size against the manifest, then its lines: decompressed, split,
 * counted. Findings in the order checkBatchBytes reports them; the root check follows (rootFinding).
 */
export function scanData(expect: DataExpectation, dataBytes: Buffer): ScannedData {
  const digest = digestFinding(expect, dataBytes);
  let scanned: { raw: Buffer; ends: Float64Array };
  try {
    scanned = scanDataObject(dataBytes);
  } catch (e) {
    return linesFailed(digest, e);
  }
  return linesFound(expect, digest, scanned);
}

/**
 * scanData with the lines decompressed into SharedArrayBuffers (raw bytes and LF offsets), which
 * worker threads share without copying: what a BatchChecker worker runs.
 */
export async function scanDataShared(expect: DataExpectation, dataBytes: Buffer): Promise<ScannedData> {
  const digest = digestFinding(expect, dataBytes);
  let scanned: { raw: Buffer; ends: Float64Array };
  try {
    scanned = await scanDataObjectInto(dataBytes, (size) => Buffer.from(new SharedArrayBuffer(size)));
  } catch (e) {
    return linesFailed(digest, e);
  }
  const ends = new Float64Array(new SharedArrayBuffer(scanned.ends.byteLength));
  ends.set(scanned.ends);
  return linesFound(expect, digest, { raw: scanned.raw, ends });
}

export interface ScannedData {
  /** SHA-256 (hex) of the data object's bytes. */
  dataSha256: string;
  lines?: BatchLines;
  findings: ContentFinding[];
}

function digestFinding(expect: DataExpectation, dataBytes: Buffer): ScannedData {
  const digest = sha256(dataBytes).toString('hex');
  if (digest === expect.data.sha256 && dataBytes.length === expect.data.bytes) return { dataSha256: digest, findings: [] };
  return {
    dataSha256: digest,
    findings: [
      {
        object: 'data',
        reason: 'content_changed',
        detail: `data object sha256 ${digest} (${dataBytes.length} bytes), manifest says ${expect.data.sha256} (${expect.data.bytes} bytes)`,
      },
    ],
  };
}

function linesFailed(digest: ScannedData, e: unknown): ScannedData {
  if (!(e instanceof DataObjectError)) throw e;
  return { dataSha256: digest.dataSha256, findings: [...digest.findings, { object: 'data', reason: 'content_changed', detail: e.message }] };
}

function linesFound(expect: DataExpectation, digest: ScannedData, scanned: { raw: Buffer; ends: Float64Array }): ScannedData {
  const lines = new BatchLines(scanned.raw, scanned.ends);
  return { dataSha256: digest.dataSha256, lines, findings: [...digest.findings, ...countFinding(expect, lines.count)] };
}

function countFinding(expect: DataExpectation, count: number): ContentFinding[] {
  if (count === expect.tree.size) return [];
  return [{ object: 'data', reason: 'content_changed', detail: `data object has ${count} lines, manifest tree size is ${expect.tree.size}` }];
}

/** What digestData finds: checkDataObject's result without the lines, only their number. */
export interface DataDigest {
  /** SHA-256 (hex) of the data object's bytes. */
  dataSha256: string;
  /** The number of lines, when the object decompressed and split into lines. */
  count?: number;
  /** With count: leafHash() of each line, concatenated in line order (32 bytes each). */
  leaves?: Buffer;
  findings: ContentFinding[];
}

/**
 * checkDataObject without holding the decompressed object: lines are hashed as they are
 * decompressed, a chunk at a time (visitDataLines), and only their leaf hashes are kept. Same
 * findings, in the same order. For callers that need the leaf hashes but not the lines (`verify`
 * against S3 compares leaf hashes with the hot rows'), at a fraction of the memory traffic.
 */
export async function digestData(expect: DataExpectation, dataBytes: Buffer): Promise<DataDigest> {
  const digest = digestFinding(expect, dataBytes);
  // Room for the lines the manifest states (capped: a tampered manifest may state anything).
  // Memory of their own (not Node's shared pool), so a worker can hand them over (transfer).
  let leaves = Buffer.from(new ArrayBuffer(Math.min(Math.max(expect.tree.size, 1), 1 << 22) * HASH_SIZE));
  let count: number;
  try {
    count = await visitDataLines(dataBytes, (buf, start, ends, n, first) => {
      if ((first + n) * HASH_SIZE > leaves.length) {
        const grown = Buffer.from(new ArrayBuffer(Math.max(leaves.length * 2, (first + n) * HASH_SIZE)));
        leaves.copy(grown);
        leaves = grown;
      }
      leafHashRun(buf, start, ends, 0, n, leaves, first * HASH_SIZE);
    });
  } catch (e) {
    return linesFailed(digest, e);
  }
  leaves = leaves.subarray(0, count * HASH_SIZE);
  const root = buildLevelTree(leaves).root();
  return { dataSha256: digest.dataSha256, count, leaves, findings: [...digest.findings, ...countFinding(expect, count), ...rootFinding(expect, root)] };
}

/**
 * Hash lines [from, to) into `leaves` (32 bytes each, at the lines' positions) and return the RFC
 * 6962 root of just those leaves: the root of a subtree when `from` is a multiple of a power of two
 * at least `to - from` (see CHUNK in threads.ts).
 */
export function hashLines(lines: BatchLines, leaves: Uint8Array, from: number, to: number): Buffer {
  const out = Buffer.from(leaves.buffer, leaves.byteOffset + from * HASH_SIZE, (to - from) * HASH_SIZE);
  const { raw, ends } = lines;
  // Hashed in place from the decompressed bytes (no Buffer per line or per hash).
  leafHashRun(raw, from === 0 ? 0 : ends[from - 1]! + 1, ends, from, to, out, 0);
  return buildLevelTree(out).root();
}

/** The finding when the lines' root is not the manifest's. */
export function rootFinding(expect: DataExpectation, root: Buffer): ContentFinding[] {
  const hex = root.toString('hex');
  return hex === expect.tree.root ? [] : [{ object: 'data', reason: 'content_changed', detail: `lines give root ${hex}, manifest says ${expect.tree.root}` }];
}

/** The data object part of checkBatchBytes, in the calling thread. */
export function checkDataObject(expect: DataExpectation, dataBytes: Buffer): DataCheck {
  const scanned = scanData(expect, dataBytes);
  if (!scanned.lines) return scanned;
  const leaves = Buffer.allocUnsafe(scanned.lines.count * HASH_SIZE);
  const root = hashLines(scanned.lines, leaves, 0, scanned.lines.count);
  return { ...scanned, leaves, findings: [...scanned.findings, ...rootFinding(expect, root)] };
}
