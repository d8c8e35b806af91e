// Proof verification per RFC 9162 §2.1.3.2 and §2.1.4.2, written out rather than delegated to
// merkletreejs: its verify() ignores the leaf index and the tree size, so a proof for one position
// would pass for another. Index and sizes are uint64 in RFC 9162, so they are handled as bigint.

import { ProofError, RootMismatchError } from './errors.js';
import { HASH_SIZE, nodeHash } from './hash.js';

export interface InclusionProofInput {
  /** leafHash() of the entry's bytes, computed by the verifier from the bytes it holds. */
  leafHash: Uint8Array;
  /** 0-based position of the leaf. */
  index: number | bigint;
  /** Number of leaves in the tree that `root` is the root of. */
  size: number | bigint;
  /** Sibling hashes from the leaf upwards (RFC 9162 inclusion_path). */
  path: readonly Uint8Array[];
  /** Trusted root of the tree of `size` leaves. */
  root: Uint8Array;
}

export interface ConsistencyProofInput {
  size1: number | bigint;
  size2: number | bigint;
  /** RFC 9162 consistency_path. */
  proof: readonly Uint8Array[];
  /** Trusted root of the tree of `size1` leaves. */
  root1: Uint8Array;
  /** Trusted root of the tree of `size2` leaves. */
  root2: Uint8Array;
}

/**
 * Checks that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Returns normally on success; throws ProofError when the input cannot be a
 * proof (index >= size, index/size not an integer in [0, 2^64) — pass a bigint above 2^53 —,
 * hashes not 32 bytes, path too long or too short for index and size) and RootMismatchError when
 * the path leads to another root.
 *
 * The caller must still ensure that `root` and `size` come from a trusted place (a verified
 * manifest or signed checkpoint): a path does not bind the size by itself — the path for leaf 0 of
 * 5 leaves also passes for 6, 7 or 8 leaves if handed the 5-leaf root — and that `leafHash` was
 * computed here from the event bytes, not taken from the proof's sender.
 */
export function verifyInclusion(input: InclusionProofInput): void {
  const index = toTreeInteger('index', input.index);
  const size = toTreeInteger('size', input.size);
  if (index >= size) throw new ProofError(`leaf index ${index} is not below tree size ${size}`);
  checkHashLength('leaf hash', input.leafHash);
  input.path.forEach((hash, i) => checkHashLength(`path[${i}]`, hash));

  let fn = index;
  let sn = size - 1n;
  let r: Uint8Array = input.leafHash;
  for (const p of input.path) {
    if (sn === 0n) throw new ProofError(tooLong(input.path.length, `leaf ${index} of a tree of size ${size}`));
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      // Climb past the levels where this node is the last one and has no right sibling.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError(tooShort(input.path.length, `leaf ${index} of a tree of size ${size}`));
  if (!equalBytes(r, input.root)) throw new RootMismatchError(toHex(input.root), toHex(r), `root (size ${size})`);
}

/**
 * Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
 * leaves with root `root2` (RFC 9162 §2.1.4.2). Requires 0 < size1 <= size2; equal sizes need an
 * empty proof and equal roots. Throws ProofError for impossible sizes or a malformed proof and
 * RootMismatchError (naming root1 or root2) when the proof does not reproduce a root.
 *
 * The caller must still ensure that both roots and sizes come from trusted checkpoints.
 */
export function verifyConsistency(input: ConsistencyProofInput): void {
  const size1 = toTreeInteger('size1', input.size1);
  const size2 = toTreeInteger('size2', input.size2);
  const { proof, root1, root2 } = input;
  // RFC 9162 defines verification for 0 < size1 < size2 only; the rest is decided here (size1 = 0
  // must stop before the loops below: fn = -1 never loses its low bit).
  if (size1 === 0n) throw new ProofError('size1 is 0: a consistency proof from the empty tree proves nothing');
  if (size1 > size2) throw new ProofError(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0) {
      throw new ProofError(`sizes are equal, so the proof must be empty; it has ${proof.length} hashes`);
    }
    if (!equalBytes(root1, root2)) {
      throw new RootMismatchError(toHex(root1), toHex(root2), `root2 (size ${size2}, same as size1)`);
    }
    return;
  }
  if (proof.length === 0) throw new ProofError('empty proof');
  proof.forEach((hash, i) => checkHashLength(`proof[${i}]`, hash));

  // Step 2: when the old tree is a complete subtree its root is the seed and is not sent.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError(tooLong(proof.length, `sizes ${size1} and ${size2}`));
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError(tooShort(proof.length, `sizes ${size1} and ${size2}`));
  if (!equalBytes(fr, root1)) throw new RootMismatchError(toHex(root1), toHex(fr), `root1 (size ${size1})`);
  if (!equalBytes(sr, root2)) throw new RootMismatchError(toHex(root2), toHex(sr), `root2 (size ${size2})`);
}

/** verifyInclusion() as a boolean: false for ProofError and RootMismatchError. */
export function isValidInclusion(input: InclusionProofInput): boolean {
  return holds(() => verifyInclusion(input));
}

/** verifyConsistency() as a boolean: false for ProofError and RootMismatchError. */
export function isValidConsistency(input: ConsistencyProofInput): boolean {
  return holds(() => verifyConsistency(input));
}

function holds(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof ProofError || err instanceof RootMismatchError) return false;
    throw err;
  }
}

const UINT64_LIMIT = 1n << 64n;

function toTreeInteger(name: string, value: number | bigint): bigint {
  if (typeof value === 'bigint') {
    if (value >= 0n && value < UINT64_LIMIT) return value;
  } else if (Number.isSafeInteger(value) && value >= 0) {
    return BigInt(value);
  }
  throw new ProofError(
    `${name} must be an integer in [0, 2^64) (a bigint above 2^53), got ${typeof value} ${String(value)}`,
  );
}

function checkHashLength(what: string, hash: Uint8Array): void {
  if (hash.length !== HASH_SIZE) throw new ProofError(`${what} is ${hash.length} bytes, not ${HASH_SIZE}`);
}

function tooLong(count: number, what: string): string {
  return `proof has ${count} hashes, more than ${what} needs`;
}

function tooShort(count: number, what: string): string {
  return `proof has ${count} hashes, fewer than ${what} needs`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
