// RFC 6962 / RFC 9162 Merkle trees: pure functions over hashes, no I/O. Shared by the sealer (self
// check), the CLI and the bundle verifier.

export { digestBytes, EMPTY_ROOT, HASH_SIZE, leafDigest, leafDigestAt, leafHash, nodeDigest, nodeHash, toDigest, type Digest } from './hash.js';
export { buildLevelTree, type LevelTree } from './levels.js';
export { buildTree, consistencyProof, inclusionProof, merkleRoot, RootBuilder, type LogTree } from './tree.js';
export {
  isValidConsistency,
  isValidInclusion,
  verifyConsistency,
  verifyInclusion,
  type ConsistencyProofInput,
  type InclusionProofInput,
} from './proof.js';
export { ProofError, RootMismatchError } from './errors.js';
