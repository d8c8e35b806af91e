/**
 * What the HTML verification report shows, as plain data. It is built from a verification result
 * (of the archive, or of an exported bundle) and never needs the database: `verify-bundle` renders
 * it offline. Every string in it may be hostile (stream names, details, matter ids): the renderer
 * escapes all of them.
 */

/** `absent`: a batch number the chain expects, or the bucket holds, that has no registry entry. */
export type TimelineState = 'valid' | 'problem' | 'pending' | 'tombstoned' | 'absent';

export interface ReportModel {
  title: string;
  /** What was verified, e.g. "s3://bucket, database audit" or "bundle ./exam-2026". */
  subject: string;
  /** ISO 8601 UTC. */
  generated_at: string;
  summary: ReportSummary;
  streams: StreamTimeline[];
  /** Whether the verifier supplied per-batch data; without it timelines show only problem batches. */
  per_batch: boolean;
  /** null: no holds registry was available to this verification (e.g. a bundle without one). */
  holds: HoldEntry[] | null;
  /** null: the retention schedule in force is unknown to this verification. */
  retention: RetentionSection | null;
}

export interface ReportSummary {
  ok: boolean;
  batches_checked: number;
  batches_valid: number;
  events_checked: number;
  streams_checked: number;
  pending_batches: number;
  tombstoned_batches: number;
  problem_count: number;
  /** Most frequent first. */
  by_reason: { reason: string; count: number }[];
}

export interface StreamTimeline {
  namespace: string;
  retention_class: string;
  events: number;
  batches: TimelineBatch[];
  problems: ProblemEntry[];
}

export interface TimelineBatch {
  batch_no: number;
  state: TimelineState;
  /** null for absent batches: the registry knows nothing about them. */
  leaf_count: number | null;
  sealed_at: string | null;
  retain_until: string | null;
  /** The `id`s of the problems naming this batch. */
  problem_ids: string[];
}

export interface ProblemEntry {
  /** Unique in the page: the anchor a batch links to. */
  id: string;
  batch_no: number | null;
  object: string | null;
  reason: string;
  detail: string;
}

/** A legal hold on a matter (issue "Retention schedules and legal holds"). */
export interface HoldEntry {
  matter: string;
  /** The scope in words: namespace, time range, actor, resource, subject, event type. */
  scope: string;
  placed_at: string;
  placed_by: string;
  reason: string;
  batches_covered: number;
  active: boolean;
  released_at: string | null;
  released_by: string | null;
}

export interface RetentionSection {
  /** "built-in" or the schedule file's path. */
  source: string;
  default_class: string;
  classes: { name: string; duration: string; duration_words: string; citation: string; description: string; streams: number }[];
  rules: { match: string; class: string }[];
}
