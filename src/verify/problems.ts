import type { StreamId } from '../db/batches.js';

/**
 * Reason classes of a verification verdict (docs/FORMAT.md, "Verdicts"). The `verify --json`
 * shape is a contract: new reasons may be added, existing ones are never renamed.
 */
export type Reason =
  /** Bytes differ from what was sealed: data object, manifest, or a hot row. */
  | 'content_changed'
  /** Something that must exist does not: an object version, a batch number, a hot row. */
  | 'missing'
  /** A manifest does not name the SHA-256 of its predecessor. */
  | 'chain_broken'
  /** A batch sits at another position than the one it names. */
  | 'reordered'
  /** Batches exist beyond the registry's last one: the tail of a chain was cut. */
  | 'truncated'
  /** Lock mode is not COMPLIANCE, or retain-until is earlier than the registry's. */
  | 'lock_weaker'
  /** An object's S3 legal-hold flag differs from the holds registry (some active hold covers its batch, or none). */
  | 'legal_hold_mismatch'
  /** A checkpoint has no valid signature of a published key (altered, or signed by an unknown key). */
  | 'signature_invalid'
  /** A checkpoint is signed by a published key, but dated outside that key's validity window. */
  | 'key_not_valid'
  /** An inclusion proof in a bundle does not lead from its event to its batch's root. */
  | 'proof_invalid'
  /** A delete marker hides the sealed version from plain reads (the version itself is intact). */
  | 'delete_marker'
  /** Another version was written over a batch key (the sealed version itself is intact). */
  | 'overwritten';

export interface Problem {
  stream: StreamId;
  batch_no: number | null;
  object: string | null;
  reason: Reason;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  batches_checked: number;
  batches_valid: number;
  events_checked: number;
  streams_checked: number;
  /** Batches claimed but not yet sealed (a run in progress, or a crash the next run will finish). */
  pending_batches: number;
  /** Batches deleted at the end of their retention, each with a tombstone (counted as valid). */
  batches_expired: number;
  problems: Problem[];
  /** Every batch of every stream checked, in chain order, for timelines (the HTML report). */
  streams?: StreamSummary[];
}

/** How one batch came out: `problem` when any finding names it; `tombstoned` once retention deleted it. */
export type BatchVerdict = 'valid' | 'problem' | 'pending' | 'tombstoned';

export interface BatchSummary {
  batch_no: number;
  leaf_count: number;
  /** ISO 8601 UTC. */
  sealed_at: string;
  retain_until: string;
  state: BatchVerdict;
}

export interface StreamSummary {
  stream: StreamId;
  batches: BatchSummary[];
}

export function formatProblem(p: Problem): string {
  const where = `${p.stream.namespace}/${p.stream.retention_class}${p.batch_no !== null ? ` batch ${p.batch_no}` : ''}`;
  return `${p.reason.toUpperCase()} ${where}${p.object ? ` ${p.object}` : ''}: ${p.detail}`;
}
