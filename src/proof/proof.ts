import { z } from 'zod';
import { sha256 } from '../archive/batchfile.js';
import { decodeManifest, type Manifest } from '../archive/manifest.js';
import { verifyCheckpointNote } from '../checkpoint/checkpoint.js';
import { decodeKeyDocument, type PublishedKey } from '../checkpoint/keys.js';
import { canonicalBytes } from '../events/canonical.js';
import { leafHash, verifyInclusion } from '../merkle/index.js';

/**
 * The inclusion proof document of `wormseal prove` (docs/FORMAT.md, "Inclusion proofs"). Every
 * byte of it is checked: the file is RFC 8785 canonical JSON plus one newline, binary values are
 * canonical base64, and each field is either recomputed or bound by a hash or signature. So any
 * single changed byte makes verification fail. Pure: no I/O.
 */
export const PROOF_FORMAT = 'wormseal-proof/1';

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
export const proofSchema = z
  .object({
    format: z.literal(PROOF_FORMAT),
    event_id: z.string(),
    /** The event's canonical bytes (the Merkle leaf), base64. */
    canonical_base64: b64,
    leaf_index: z.number().int().min(0),
    tree_size: z.number().int().min(1),
    audit_path: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
    /** The manifest of the event's batch, exact bytes, base64. */
    manifest_base64: b64,
    /** The manifests of the following batches up to the checkpointed head, in order, base64. */
    chain_base64: z.array(b64),
    /** The newest signed checkpoint (a C2SP signed note). */
    checkpoint: z.string(),
    /** Documents of the public keys that signed the checkpoint (self-signed notes). */
    keys: z.array(z.string()).min(1),
  })
  .strict();

export type ProofDocument = z.infer<typeof proofSchema>;

export function encodeProof(p: ProofDocument): Buffer {
  return Buffer.concat([canonicalBytes(p), Buffer.from('\n')]);
}

export interface ProofVerdict {
  ok: boolean;
  /** What failed, first failure first; empty when ok. */
  problems: string[];
  event_id?: string;
  stream?: { namespace: string; retention_class: string };
  batch_no?: number;
  head_batch_no?: number;
  checkpoint_time?: string;
  signed_by?: string;
}

class Fail extends Error {}

function fromBase64(what: string, s: string): Buffer {
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) throw new Fail(`${what} is not canonical base64`);
  return b;
}

/**
 * Verify a proof file's bytes: inclusion of the event in its batch (RFC 9162 §2.1.3.2), the
 * manifest chain from that batch to the head a signed checkpoint names, the checkpoint signature
 * and the signing key's validity window. `trustedKeys`, when given, replaces the keys carried in
 * the proof (an examiner who pinned the operator's keys out of band should pass them).
 */
export function verifyProofBytes(bytes: Buffer, trustedKeys?: readonly PublishedKey[]): ProofVerdict {
  const v: ProofVerdict = { ok: false, problems: [] };
  try {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new Fail(`not JSON: ${(e as Error).message}`);
    }
    const parsed = proofSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new Fail(`field ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const p = parsed.data;
    if (!encodeProof(p).equals(bytes)) throw new Fail('file is not RFC 8785 canonical JSON followed by one newline');
    v.event_id = p.event_id;

    const canonical = fromBase64('canonical_base64', p.canonical_base64);
    let event: { event_id?: unknown; namespace?: unknown; retention_class?: unknown };
    try {
      event = JSON.parse(canonical.toString('utf8')) as typeof event;
    } catch {
      throw new Fail('canonical_base64 does not decode to a JSON event');
    }
    if (event.event_id !== p.event_id) throw new Fail(`the event's bytes carry event_id ${String(event.event_id)}, not ${p.event_id}`);

    const manifestBytes = fromBase64('manifest_base64', p.manifest_base64);
    const manifest = decode('manifest', manifestBytes);
    v.stream = manifest.stream;
    v.batch_no = manifest.batch_no;
    if (event.namespace !== manifest.stream.namespace || event.retention_class !== manifest.stream.retention_class) {
      throw new Fail(`the event belongs to ${String(event.namespace)}/${String(event.retention_class)}, the manifest to another stream`);
    }
    if (p.tree_size !== manifest.tree.size) throw new Fail(`tree_size ${p.tree_size}, manifest tree size ${manifest.tree.size}`);
    try {
      verifyInclusion({
        leafHash: leafHash(canonical),
        index: p.leaf_index,
        size: p.tree_size,
        path: p.audit_path.map((h) => Buffer.from(h, 'hex')),
        root: Buffer.from(manifest.tree.root, 'hex'),
      });
    } catch (e) {
      throw new Fail(`inclusion: ${(e as Error).message}`);
    }

    let last = manifest;
    let lastSha = sha256(manifestBytes).toString('hex');
    p.chain_base64.forEach((m, i) => {
      const bytesI = fromBase64(`chain_base64[${i}]`, m);
      const next = decode(`chain_base64[${i}]`, bytesI);
      const sameStream = next.stream.namespace === last.stream.namespace && next.stream.retention_class === last.stream.retention_class;
      if (!sameStream || next.batch_no !== last.batch_no + 1) throw new Fail(`chain_base64[${i}] is not batch ${last.batch_no + 1} of the stream`);
      if (next.prev_manifest_sha256 !== lastSha) {
        throw new Fail(`chain broken at batch ${next.batch_no}: it names ${next.prev_manifest_sha256}, batch ${last.batch_no} hashes to ${lastSha}`);
      }
      last = next;
      lastSha = sha256(bytesI).toString('hex');
    });
    v.head_batch_no = last.batch_no;

    const keys = trustedKeys ?? p.keys.map((k, i) => {
      try {
        return decodeKeyDocument(k);
      } catch (e) {
        throw new Fail(`keys[${i}]: ${(e as Error).message}`);
      }
    });
    const cp = verifyCheckpointNote(p.checkpoint, keys);
    if (!cp.ok) throw new Fail(`checkpoint: ${cp.reason}: ${cp.detail}`);
    v.checkpoint_time = cp.checkpoint.time.toISOString();
    v.signed_by = `${cp.key.name}+${cp.key.keyId}`;
    const head = cp.checkpoint.heads.find((h) => h.namespace === last.stream.namespace && h.retention_class === last.stream.retention_class);
    if (!head) throw new Fail('the checkpoint names no head for the stream');
    if (head.batch_no !== last.batch_no || head.manifest_sha256 !== lastSha) {
      throw new Fail(`the checkpoint names head batch ${head.batch_no} (${head.manifest_sha256}); the chain ends at batch ${last.batch_no} (${lastSha})`);
    }
    v.ok = true;
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    v.problems.push(e.message);
  }
  return v;
}

function decode(what: string, bytes: Buffer): Manifest {
  try {
    return decodeManifest(bytes);
  } catch (e) {
    throw new Fail(`${what}: ${(e as Error).message}`);
  }
}
