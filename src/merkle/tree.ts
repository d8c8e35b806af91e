// Building RFC 6962 trees and proofs. Inclusion proofs come from merkletreejs, used the one way
// that yields the RFC 6962 tree (DESIGN decision 2). Roots, which the sealer and the verifier need
// for every batch, come from RootBuilder: it keeps only the O(log n) perfect subtrees, so a batch is
// hashed as its rows stream by, without holding every leaf and layer as merkletreejs does; the
// unit tests cross-check it against merkletreejs and the RFC 6962 vectors. Consistency proofs,
// which merkletreejs does not offer, follow RFC 6962 §2.1.2 directly, taking subtree roots from
// the same merkleRoot().

import { MerkleTree } from 'merkletreejs';
import { digestBytes, EMPTY_ROOT, HASH_SIZE, nodeDigest, nodeHash, toDigest, type Digest } from './hash.js';

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

/**
 * The RFC 6962 Merkle Tree Hash computed incrementally: add() leaf hashes in log order, then
 * root(). The left-balanced tree over n leaves is the perfect subtrees of n's binary digits, largest
 * first, folded from the right: MTH(D[n]) = node(P_a, node(P_b, ... P_z)). add() merges equal-size
 * subtrees as they complete, so memory is one hash per set bit of n.
 */
export class RootBuilder {
  // Subtree hashes as Digests (latin1 strings): the cheapest form to hash and to keep (hash.ts).
  private readonly hashes: Digest[] = [];
  private readonly sizes: number[] = [];
  private count = 0;

  /** Number of leaves added so far. */
  get size(): number {
    return this.count;
  }

  /** Append one 32-byte leaf hash (leafHash() of an entry). Throws RangeError for any other length. */
  add(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new RangeError(`leaf ${this.count} is not a ${HASH_SIZE}-byte hash`);
    this.addDigest(toDigest(leafHash));
  }

  /** Append one leaf hash given as a Digest (leafDigest() of an entry): the sealer's and verifier's path. */
  addDigest(leaf: Digest): void {
    if (leaf.length !== HASH_SIZE) throw new RangeError(`leaf ${this.count} is not a ${HASH_SIZE}-byte digest`);
    let h = leaf;
    let size = 1;
    const { hashes, sizes } = this;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      h = nodeDigest(hashes.pop()!, h);
      size += sizes.pop()!;
    }
    hashes.push(h);
    sizes.push(size);
    this.count++;
  }

  /** The root of the leaves added so far (EMPTY_ROOT for none); a fresh Buffer, adding may go on. */
  root(): Buffer {
    const { hashes } = this;
    if (hashes.length === 0) return Buffer.from(EMPTY_ROOT);
    let r = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) r = nodeDigest(hashes[i]!, r);
    return digestBytes(r);
  }
}

/**
 * RFC 6962 Merkle Tree Hash of `leafHashes` (32-byte leaf hashes in log order); EMPTY_ROOT for [].
 * Throws RangeError when a leaf hash is not 32 bytes.
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Buffer {
  const b = new RootBuilder();
  leafHashes.forEach((leaf, i) => {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE) {
      throw new RangeError(`leafHashes[${i}] is not a ${HASH_SIZE}-byte hash`);
    }
    b.add(leaf);
  });
  return b.root();
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
