// RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing with domain separation: a leaf can never be mistaken for
// an interior node because their SHA-256 inputs start with different bytes.

import { createHash, hash } from 'node:crypto';
import { nativeAddon } from './native.js';

/** Size in bytes of every leaf, node and root hash (SHA-256). */
export const HASH_SIZE = 32;

// One-shot crypto.hash over a reused input buffer: sealing and verifying hash two inputs per
// event, and a Hash object per call costs more than hashing a 500-byte line. Synchronous and
// single-threaded (no await between fill and hash), so sharing the buffers is safe.
let leafInput = Buffer.alloc(64 * 1024 + 1);
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/**
 * A hash as a 32-character latin1 string, one character per byte: what the hot paths (sealing,
 * verifying) pass around. On Node 24 crypto.hash returning a string is 2–3 times faster than
 * returning a Buffer (a 65-byte node hash: ~0.7 µs against ~2 µs), and V8 strings of this size
 * cost less to keep than Buffers. Convert with digestBytes() at the edges. ('binary' is Node's name
 * for latin1 among digest encodings.)
 */
export type Digest = string;

// Views of leafInput by input length, made once: a view per hash was a tenth of the sealer's time.
let leafViews = new Map<number, Buffer>();

/** leafInput holding 0x00 and room for `length` bytes, and the view of exactly that much. */
function leafInputFor(length: number): Buffer {
  if (length + 1 > leafInput.length) {
    leafInput = Buffer.alloc(length + 1);
    leafViews = new Map();
  }
  let view = leafViews.get(length);
  if (!view) {
    if (leafViews.size >= 4096) leafViews.clear();
    view = leafInput.subarray(0, length + 1);
    leafViews.set(length, view);
  }
  leafInput[0] = 0x00;
  return view;
}

/** SHA-256(0x00 ‖ data) as a Digest: the hash of one leaf, here the canonical bytes of one event. */
export function leafDigest(data: Uint8Array): Digest {
  const view = leafInputFor(data.length);
  leafInput.set(data, 1);
  return hash('sha256', view, 'binary');
}

/** leafDigest of `buf[start, start+length)`, without a view of it. */
export function leafDigestAt(buf: Buffer, start: number, length: number): Digest {
  const view = leafInputFor(length);
  buf.copy(leafInput, 1, start, start + length);
  return hash('sha256', view, 'binary');
}

/**
 * Leaf hashes of a run of lines in one buffer, written 32 bytes apiece at out[outOffset...]: lines
 * from..to-1, line `from` being buf[start, ends[from]) and each next one running from one past the
 * previous end to its own (the LF-separated lines of a data object). With the native addon
 * (native.ts) one call hashes the run; without it, one node:crypto call per line. Same bytes.
 */
export function leafHashRun(buf: Uint8Array, start: number, ends: Float64Array, from: number, to: number, out: Uint8Array, outOffset: number): void {
  if (nativeAddon) return nativeAddon.leaves(buf, start, ends, from, to, out, outOffset);
  leafHashRunJs(buf, start, ends, from, to, out, outOffset);
}

/** leafHashRun through node:crypto, one line at a time (exported for tests, to compare the two). */
export function leafHashRunJs(buf: Uint8Array, start: number, ends: Float64Array, from: number, to: number, out: Uint8Array, outOffset: number): void {
  if (to - from > (out.length - outOffset) / HASH_SIZE) throw new RangeError('leafHashRun: out too small');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const o = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  for (let i = from, at = start; i < to; at = ends[i]! + 1, i++) {
    const end = ends[i]!;
    if (!(end >= at && end <= b.length)) throw new RangeError('leafHashRun: line end outside buf or before its start');
    o.write(leafDigestAt(b, at, end - at), outOffset + (i - from) * HASH_SIZE, HASH_SIZE, 'latin1');
  }
}

/** SHA-256(0x01 ‖ left ‖ right) as a Digest, from two Digests. */
export function nodeDigest(left: Digest, right: Digest): Digest {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new RangeError(`node inputs must be ${HASH_SIZE}-byte digests, got ${left.length} and ${right.length}`);
  }
  nodeInput.write(left, 1, HASH_SIZE, 'latin1');
  nodeInput.write(right, 1 + HASH_SIZE, HASH_SIZE, 'latin1');
  return hash('sha256', nodeInput, 'binary');
}

/** The bytes of a Digest (a fresh Buffer). */
export function digestBytes(d: Digest): Buffer {
  return Buffer.from(d, 'latin1');
}

/** A hash's bytes as a Digest. */
export function toDigest(b: Uint8Array): Digest {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** SHA-256(0x00 ‖ data): the hash of one leaf, here the canonical bytes of one event. */
export function leafHash(data: Uint8Array): Buffer {
  return digestBytes(leafDigest(data));
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node (both 32 bytes). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return createHash('sha256').update(nodeInput.subarray(0, 1)).update(left).update(right).digest();
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return digestBytes(hash('sha256', nodeInput, 'binary'));
}

/**
 * SHA-256 of the empty string: the root of a tree with no leaves (RFC 6962 §2.1 MTH({})).
 * Shared: do not modify it; merkleRoot() returns copies.
 */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();
