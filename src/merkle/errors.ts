// Typed failures of proof verification, so callers can tell "this proof is malformed for the
// claimed index/size" from "the proof is well-formed but leads to a different root".

/** The proof cannot be checked as given: bad index or size, wrong number or length of hashes. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
  readonly reason: string;

  constructor(reason: string) {
    super(`invalid Merkle proof: ${reason}`);
    this.reason = reason;
  }
}

/** The proof was well-formed but recomputes a different root than the one it was checked against. */
export class RootMismatchError extends Error {
  override readonly name = 'RootMismatchError';
  /** The trusted root (hex). */
  readonly expected: string;
  /** The root the proof leads to (hex). */
  readonly computed: string;

  /** `subject` names the root in the message, e.g. 'root', 'root1 (size 6)'. */
  constructor(expected: string, computed: string, subject = 'root') {
    super(`Merkle ${subject} mismatch: expected ${expected}, proof computes ${computed}`);
    this.expected = expected;
    this.computed = computed;
  }
}
