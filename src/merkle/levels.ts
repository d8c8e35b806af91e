// An RFC 6962 tree kept as flat levels (one Buffer of 32-byte hashes per level), for taking audit
// paths quickly from large batches: 100 000 leaves are two Buffers of a few MB, not 200 000
// objects. Pairing neighbours and promoting an odd last node unchanged builds exactly the
// left-balanced RFC 6962 tree, so its paths are those of RFC 9162 §2.1.3.1.

import { hash } from 'node:crypto';
import { HASH_SIZE } from './hash.js';
import { nativeAddon } from './native.js';

export interface LevelTree {
  readonly size: number;
  root(): Buffer;
  /** Sibling hashes from the leaf upwards (RFC 9162 inclusion_path) for leaf `index`. */
  path(index: number): Buffer[];
  /** Position of a leaf hash, or -1. */
  indexOf(leafHash: Buffer): number;
}

/** Build from `leaves`: the concatenated 32-byte leaf hashes, in log order (at least one). */
export function buildLevelTree(leaves: Buffer): LevelTree {
  if (leaves.length === 0 || leaves.length % HASH_SIZE !== 0) {
    throw new RangeError(`leaf hashes must be a non-empty multiple of ${HASH_SIZE} bytes, got ${leaves.length}`);
  }
  const levels: Buffer[] = [leaves];
  for (let level = leaves; level.length > HASH_SIZE; ) {
    const next = Buffer.allocUnsafe(Math.ceil(level.length / HASH_SIZE / 2) * HASH_SIZE);
    if (nativeAddon) nativeAddon.level(level, next);
    else levelUpJs(level, next);
    levels.push(next);
    level = next;
  }
  const size = leaves.length / HASH_SIZE;
  return {
    size,
    root: () => Buffer.from(at(levels[levels.length - 1]!, 0)),
    path(index: number): Buffer[] {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new RangeError(`leaf index ${index} is outside a tree of ${size} leaves`);
      }
      const out: Buffer[] = [];
      let i = index;
      for (const level of levels.slice(0, -1)) {
        const sibling = i ^ 1;
        // The last node of an odd level has no sibling: it is promoted, adding nothing to the path.
        if (sibling < level.length / HASH_SIZE) out.push(Buffer.from(at(level, sibling)));
        i >>= 1;
      }
      return out;
    },
    indexOf(leafHash: Buffer): number {
      // A 32-byte match at an unaligned offset spans two leaves: keep looking.
      for (let at = leaves.indexOf(leafHash); at >= 0; at = leaves.indexOf(leafHash, at + 1)) {
        if (at % HASH_SIZE === 0) return at / HASH_SIZE;
      }
      return -1;
    },
  };
}

/**
 * One level up, through node:crypto: next[i] = SHA-256(0x01 ‖ level[2i] ‖ level[2i+1]), an odd last
 * node promoted unchanged. What the native addon's level() does (exported for tests).
 */
export function levelUpJs(level: Buffer, next: Buffer): void {
  const n = level.length / HASH_SIZE;
  if (next.length !== Math.ceil(n / 2) * HASH_SIZE) throw new RangeError('levelUp: next must hold half as many hashes, rounded up');
  // One reused 0x01 ‖ left ‖ right buffer and one-shot hashing: cheaper than a Hash object per node.
  const pair = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);
  for (let i = 0; i + 1 < n; i += 2) {
    level.copy(pair, 1, i * HASH_SIZE, (i + 2) * HASH_SIZE);
    // A latin1 string result is much cheaper than a Buffer one (see Digest in hash.ts).
    next.write(hash('sha256', pair, 'binary'), (i / 2) * HASH_SIZE, HASH_SIZE, 'latin1');
  }
  if (n % 2 === 1) at(level, n - 1).copy(next, ((n - 1) / 2) * HASH_SIZE);
}

function at(level: Buffer, i: number): Buffer {
  return level.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
}
