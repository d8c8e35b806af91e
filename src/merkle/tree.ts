// Building RFC 6962 trees and proofs. Roots and inclusion proofs come from merkletreejs, used the
// one way that yields the RFC 6962 tree (DESIGN decision 2); consistency proofs, which it does not
// offer, follow RFC 6962 §2.1.2 directly, taking subtree roots from the same merkleRoot().

import { MerkleTree } from 'merkletreejs';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js';

/** A tree built once over a list of leaf hashes, for taking many proofs from one batch. */
export interface LogTree {
  /** Number of leaves. */
  readonly size: number;
  /** The RFC 6962 Merkle Tree Hash (a fresh copy on every call). */
  root(): Buffer;
  /** RFC 6962 §2.1.1 PATH for leaf `index` (0-based): sibling hashes from the leaf upwards. */
  inclusionProof(index: number): Buffer[];
}

/**
 * The hash function given to merkletreejs. With pre-hashed leaves and every option at its default,
 * merkletreejs 0.6.0 calls it only as hashFn(Buffer.concat([left, right])) while pairing a layer:
 * no leaf hashing (hashLeaves), no padding (fillDefaultHash), no double hash (isBitcoinTree), and
 * an odd last node is promoted unhashed, which is what makes the result the RFC 6962 left-balanced
 * tree. The length check turns any other kind of call, e.g. after an upgrade or an added option,
 * into an error instead of a silently different root.
 */
function hashPair(pair: Buffer): Buffer {
  if (pair.length !== 2 * HASH_SIZE) {
    throw new Error(`merkletreejs asked to hash ${pair.length} bytes; expected two ${HASH_SIZE}-byte hashes`);
  }
  return nodeHash(pair.subarray(0, HASH_SIZE), pair.subarray(HASH_SIZE));
}

/**
 * Builds the tree over `leafHashes` (each the 32-byte leafHash() of one entry, in log order).
 * Throws RangeError when a leaf hash is not 32 bytes. An empty list gives a tree whose root is
 * EMPTY_ROOT and which has no proofs.
 */
export function buildTree(leafHashes: readonly Uint8Array[]): LogTree {
  leafHashes.forEach((leaf, i) => {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE) {
      throw new RangeError(`leafHashes[${i}] is not a ${HASH_SIZE}-byte hash`);
    }
  });
  const size = leafHashes.length;
  // Options deliberately omitted: duplicateOdd, sortPairs, sortLeaves, isBitcoinTree,
  // fillDefaultHash and complete each build a different tree, and some let two different leaf
  // lists share a root.
  const tree = new MerkleTree([...leafHashes], hashPair);
  return {
    size,
    root: () => Buffer.from(size === 0 ? EMPTY_ROOT : tree.getRoot()),
    inclusionProof(index: number): Buffer[] {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new RangeError(`leaf index ${index} is outside a tree of ${size} leaves`);
      }
      // merkletreejs looks the leaf up by index when one is given; the left/right positions it
      // returns are dropped because RFC 9162 verifiers derive them from index and size.
      return tree.getProof(tree.getLeaf(index), index).map((step) => Buffer.from(step.data));
    },
  };
}

/** RFC 6962 Merkle Tree Hash of `leafHashes` (32-byte leaf hashes in log order); EMPTY_ROOT for []. */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Buffer {
  return buildTree(leafHashes).root();
}

/**
 * Inclusion proof (RFC 6962 §2.1.1 PATH) for leaf `index` of the tree over `leafHashes`.
 * Builds the tree each call: for many proofs from one batch use buildTree().
 * Throws RangeError unless 0 <= index < leafHashes.length.
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Buffer[] {
  return buildTree(leafHashes).inclusionProof(index);
}

/**
 * Consistency proof (RFC 6962 §2.1.2 PROOF) that the tree over the first `size1` leaves is a
 * prefix of the tree over all of `leafHashes`. Requires 0 < size1 <= leafHashes.length (RangeError
 * otherwise); equal sizes give the empty proof.
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number): Buffer[] {
  const size2 = leafHashes.length;
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
    throw new RangeError(`size1 must be in 1..${size2} for a consistency proof, got ${size1}`);
  }
  const proof: Buffer[] = [];
  subproof(leafHashes, size1, 0, size2, true, proof);
  return proof;
}

/**
 * SUBPROOF(m, D[lo:hi], b) of RFC 6962 §2.1.2, appending to `out` in the RFC's order.
 * `complete` is b: true while D[lo:lo+m] is still the whole old tree, whose root the verifier has.
 */
function subproof(
  leaves: readonly Uint8Array[],
  m: number,
  lo: number,
  hi: number,
  complete: boolean,
  out: Buffer[],
): void {
  const n = hi - lo;
  if (m === n) {
    if (!complete) out.push(merkleRoot(leaves.slice(lo, hi)));
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    subproof(leaves, m, lo, lo + k, complete, out);
    out.push(merkleRoot(leaves.slice(lo + k, hi)));
  } else {
    subproof(leaves, m - k, lo + k, hi, false, out);
    out.push(merkleRoot(leaves.slice(lo, lo + k)));
  }
}

/** The largest power of two strictly below n; n >= 2. */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
