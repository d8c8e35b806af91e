import { z } from 'zod';

/**
 * bundle.json, the index of an export bundle (docs/FORMAT.md, "Export bundles"). It records what
 * the exporter saw — object versions, their locks at export time, digests from the operator's
 * registry — but proves nothing by itself: the verifier trusts only what hashes and signatures bind.
 */
export const BUNDLE_FORMAT = 'wormseal-bundle/1';

const iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const lockSchema = z
  .object({ mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).nullable(), retain_until: iso.nullable(), legal_hold: z.boolean() })
  .strict();

export const objectRefSchema = z.object({ key: z.string(), version_id: z.string(), lock: lockSchema }).strict();

export const selectionSchema = z
  .object({
    namespace: z.string().optional(),
    from: iso.optional(),
    to: iso.optional(),
    actor: z.string().optional(),
    resource: z.object({ type: z.string(), id: z.string() }).strict().optional(),
    subject: z.string().optional(),
  })
  .strict();

export const bundleSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    created_at: iso,
    source: z.string(),
    selection: selectionSchema,
    checkpoint: objectRefSchema,
    /** The checkpoint's RFC 3161 time-stamp response, when the operator runs with a TSA. */
    checkpoint_timestamp: objectRefSchema.nullable(),
    keys: z.array(objectRefSchema),
    streams: z.array(
      z
        .object({
          namespace: z.string(),
          retention_class: z.string(),
          /** The head batch the checkpoint names; the bundle holds every manifest from the first batch listed to it. */
          head_batch_no: z.number().int().min(1),
          batches: z.array(
            z
              .object({
                batch_no: z.number().int().min(1),
                manifest: objectRefSchema.extend({ sha256: hex64 }).strict(),
                /** Present for batches holding selected events; chain-only batches carry just the manifest. */
                data: objectRefSchema.extend({ sha256: hex64 }).strict().nullable(),
                selected_events: z.number().int().min(0),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
    events: z.object({ count: z.number().int().min(0), listing: z.literal('events.ndjson'), proofs: z.literal('proofs.ndjson') }).strict(),
  })
  .strict();

export type Bundle = z.infer<typeof bundleSchema>;
export type Selection = z.infer<typeof selectionSchema>;
export type LockRecord = z.infer<typeof lockSchema>;

/** One line of proofs.ndjson: where the event of the same line of events.ndjson sits, and its audit path. */
export const bundleProofSchema = z
  .object({
    event_id: z.string(),
    namespace: z.string(),
    retention_class: z.string(),
    batch_no: z.number().int().min(1),
    leaf_index: z.number().int().min(0),
    tree_size: z.number().int().min(1),
    audit_path: z.array(hex64),
  })
  .strict();

export type BundleProof = z.infer<typeof bundleProofSchema>;

/** Bundle-relative path of an object: the bucket key under objects/, so the layout is the bucket's. */
export function objectPath(key: string): string {
  return `objects/${key}`;
}
