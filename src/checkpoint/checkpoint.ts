import { keyValidAt, type PublishedKey } from './keys.js';
import { NoteError, parseNote, signatureValid, signNote, type NoteSigner } from './note.js';

/**
 * The checkpoint body (docs/FORMAT.md, "Checkpoints"), carried in a C2SP signed note:
 *
 *   wormseal-checkpoint/1
 *   origin s3://BUCKET
 *   time 2026-11-23T09:30:02.000Z
 *   head NAMESPACE RETENTION_CLASS BATCH_NO MANIFEST_SHA256
 *   …one head line per stream, sorted by namespace then retention class
 *
 * Pure: encoding, decoding and checking against a set of published keys.
 */
export const CHECKPOINT_FORMAT = 'wormseal-checkpoint/1';

export interface StreamHead {
  namespace: string;
  retention_class: string;
  batch_no: number;
  manifest_sha256: string;
}

export interface Checkpoint {
  origin: string;
  time: Date;
  heads: StreamHead[];
}

export function encodeCheckpointBody(c: Checkpoint): string {
  const heads = [...c.heads].sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.retention_class, b.retention_class));
  return (
    `${CHECKPOINT_FORMAT}\norigin ${c.origin}\ntime ${c.time.toISOString()}\n` +
    heads.map((h) => `head ${h.namespace} ${h.retention_class} ${h.batch_no} ${h.manifest_sha256}\n`).join('')
  );
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(encodeCheckpointBody(c), signer);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Parse a checkpoint body; throws NoteError naming the bad line. Requires the canonical encoding. */
export function decodeCheckpointBody(body: string): Checkpoint {
  const lines = body.slice(0, -1).split('\n');
  if (lines[0] !== CHECKPOINT_FORMAT) throw new NoteError(`checkpoint line 1 is not ${CHECKPOINT_FORMAT}`);
  const origin = /^origin (\S+)$/.exec(lines[1] ?? '')?.[1];
  const time = /^time (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)$/.exec(lines[2] ?? '')?.[1];
  if (!origin || !time) throw new NoteError('checkpoint lines 2-3 must be "origin …" and "time …"');
  const heads = lines.slice(3).map((l, i) => {
    const m = /^head ([a-z0-9][a-z0-9_-]*) ([a-z0-9][a-z0-9_-]*) ([1-9]\d*) ([0-9a-f]{64})$/.exec(l);
    if (!m) throw new NoteError(`checkpoint line ${i + 4} is not a head line: ${JSON.stringify(l.slice(0, 120))}`);
    return { namespace: m[1]!, retention_class: m[2]!, batch_no: Number(m[3]), manifest_sha256: m[4]! };
  });
  const c = { origin, time: new Date(time), heads };
  if (encodeCheckpointBody(c) !== body) throw new NoteError('checkpoint body is not in canonical form (order, duplicates)');
  return c;
}

export type CheckpointVerdict =
  | { ok: true; checkpoint: Checkpoint; key: PublishedKey }
  | { ok: false; reason: 'signature_invalid' | 'key_not_valid' | 'content_changed'; detail: string; checkpoint?: Checkpoint };

/**
 * Check a checkpoint note against published keys: well-formed, signed by at least one of them
 * (signatures of other keys are ignored, as C2SP says), and dated inside that key's validity
 * window. The caller decides which keys to trust (the bucket's, a bundle's, or pinned ones).
 */
export function verifyCheckpointNote(text: string, keys: readonly PublishedKey[]): CheckpointVerdict {
  let note;
  try {
    note = parseNote(text);
  } catch (e) {
    return { ok: false, reason: 'signature_invalid', detail: `not a signed note: ${(e as Error).message}` };
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpointBody(note.body);
  } catch (e) {
    return { ok: false, reason: 'content_changed', detail: (e as Error).message };
  }
  const known = note.signatures.flatMap((s) => {
    const key = keys.find((k) => k.name === s.name && k.keyId === s.keyId.toString('hex'));
    return key ? [{ s, key }] : [];
  });
  if (known.length === 0) {
    const by = note.signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`).join(', ');
    const pub = keys.map((k) => `${k.name}+${k.keyId}`).join(', ') || 'none';
    return { ok: false, reason: 'signature_invalid', detail: `signed only by unknown key(s) ${by}; published keys: ${pub}`, checkpoint };
  }
  const valid = known.filter(({ s, key }) => signatureValid(note.body, s, key));
  if (valid.length === 0) {
    return {
      ok: false,
      reason: 'signature_invalid',
      detail: `signature of ${known.map(({ key }) => `${key.name}+${key.keyId}`).join(', ')} does not verify over the checkpoint body`,
      checkpoint,
    };
  }
  const inWindow = valid.find(({ key }) => keyValidAt(key, checkpoint.time));
  if (!inWindow) {
    const { key } = valid[0]!;
    return {
      ok: false,
      reason: 'key_not_valid',
      detail:
        `checkpoint dated ${checkpoint.time.toISOString()} is signed by ${key.name}+${key.keyId}, valid ` +
        `${key.validFrom.toISOString()} to ${key.validUntil?.toISOString() ?? 'open end'}`,
      checkpoint,
    };
  }
  return { ok: true, checkpoint, key: inWindow.key };
}
