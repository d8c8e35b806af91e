import { z } from 'zod';
import { canonicalBytes } from '../events/canonical.js';
import { sha256 } from './batchfile.js';

/**
 * The batch manifest (docs/FORMAT.md, "Manifest"): RFC 8785 canonical JSON, so an examiner can
 * recompute its SHA-256 from the object bytes alone, and the next manifest names that SHA-256.
 */
export const MANIFEST_FORMAT = 'wormseal-manifest/1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const position = z.object({ txid: z.string().regex(/^\d+$/), seq: z.string().regex(/^\d+$/) }).strict();

export const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    stream: z.object({ namespace: z.string(), retention_class: z.string() }).strict(),
    batch_no: z.number().int().min(1),
    prev_manifest_sha256: hex64.nullable(),
    tree: z.object({ algorithm: z.literal('rfc6962-sha256'), size: z.number().int().min(1), root: hex64 }).strict(),
    data: z
      .object({
        key: z.string(),
        sha256: hex64,
        bytes: z.number().int().min(1),
        encoding: z.literal('gzip'),
        media_type: z.literal('application/x-ndjson'),
      })
      .strict(),
    window: z.object({ first: position, last: position }).strict(),
    events: z
      .object({
        first_event_id: z.string(),
        last_event_id: z.string(),
        occurred_min: iso,
        occurred_max: iso,
        recorded_min: iso,
        recorded_max: iso,
      })
      .strict(),
    retention: z
      .object({
        class: z.string(),
        duration: z.string(),
        citation: z.string(),
        mode: z.literal('COMPLIANCE'),
        retain_until: iso,
      })
      .strict(),
    sealed_at: iso,
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;

export function encodeManifest(m: Manifest): { bytes: Buffer; sha256: Buffer } {
  const bytes = canonicalBytes(m);
  return { bytes, sha256: sha256(bytes) };
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Parse and check the shape of manifest bytes; also requires the bytes to be canonical. */
export function decodeManifest(bytes: Buffer): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ManifestError(`manifest is not JSON: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ManifestError(`manifest field ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  if (!canonicalBytes(parsed.data).equals(bytes)) throw new ManifestError('manifest bytes are not in RFC 8785 canonical form');
  return parsed.data;
}
