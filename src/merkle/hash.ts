// RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing with domain separation: a leaf can never be mistaken for
// an interior node because their SHA-256 inputs start with different bytes.

import { createHash } from 'node:crypto';

/** Size in bytes of every leaf, node and root hash (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** SHA-256(0x00 ‖ data): the hash of one leaf, here the canonical bytes of one event. */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * SHA-256 of the empty string: the root of a tree with no leaves (RFC 6962 §2.1 MTH({})).
 * Shared: do not modify it; merkleRoot() returns copies.
 */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();
