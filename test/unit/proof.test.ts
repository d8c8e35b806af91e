import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeManifest, MANIFEST_FORMAT, type Manifest } from '../../src/archive/manifest.js';
import { signCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeKeyDocument, encodeKeyDocument, loadSigningKey, type SigningKey } from '../../src/checkpoint/keys.js';
import { canonicalBytes } from '../../src/events/canonical.js';
import { buildLevelTree, leafHash } from '../../src/merkle/index.js';
import { encodeProof, PROOF_FORMAT, verifyProofBytes, type ProofDocument } from '../../src/proof/proof.js';

const stream = { namespace: 'billing', retention_class: 'sox-7y' };
const key = (validUntil: Date | null = null): SigningKey =>
  loadSigningKey(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'wormseal', validUntil);

function batch(no: number, prev: Buffer | null, ids: string[]) {
  const lines = ids.map((event_id) => canonicalBytes({ event_id, ...stream, v: 1 }));
  const tree = buildLevelTree(Buffer.concat(lines.map((l) => leafHash(l))));
  const m: Manifest = {
    format: MANIFEST_FORMAT,
    stream,
    batch_no: no,
    prev_manifest_sha256: prev ? prev.toString('hex') : null,
    tree: { algorithm: 'rfc6962-sha256', size: lines.length, root: tree.root().toString('hex') },
    data: { key: `k${no}`, sha256: 'a'.repeat(64), bytes: 1, encoding: 'gzip', media_type: 'application/x-ndjson' },
    window: { first: { txid: '1', seq: '1' }, last: { txid: '1', seq: '2' } },
    events: {
      first_event_id: ids[0]!,
      last_event_id: ids.at(-1)!,
      occurred_min: '2026-01-01T00:00:00.000Z',
      occurred_max: '2026-01-01T00:00:00.000Z',
      recorded_min: '2026-01-01T00:00:00.000Z',
      recorded_max: '2026-01-01T00:00:00.000Z',
    },
    retention: { class: 'sox-7y', duration: 'P7Y', citation: 'SOX', mode: 'COMPLIANCE', retain_until: '2033-01-01T00:00:00.000Z' },
    sealed_at: '2026-01-01T00:00:00.000Z',
  };
  return { lines, tree, ...encodeManifest(m) };
}

/** Two batches of a stream, a checkpoint naming batch 2, and the proof of event 'e4' (batch 1, leaf 4). */
function fixture(opts: { signer?: SigningKey } = {}) {
  const signer = opts.signer ?? key();
  const b1 = batch(1, null, ['e0', 'e1', 'e2', 'e3', 'e4']);
  const b2 = batch(2, b1.sha256, ['e5', 'e6']);
  const time = new Date('2026-06-01T00:00:00.000Z');
  const checkpoint = signCheckpoint({ origin: 's3://b', time, heads: [{ ...stream, batch_no: 2, manifest_sha256: b2.sha256.toString('hex') }] }, signer);
  const doc: ProofDocument = {
    format: PROOF_FORMAT,
    event_id: 'e4',
    canonical_base64: b1.lines[4]!.toString('base64'),
    leaf_index: 4,
    tree_size: 5,
    audit_path: b1.tree.path(4).map((h) => h.toString('hex')),
    manifest_base64: b1.bytes.toString('base64'),
    chain_base64: [b2.bytes.toString('base64')],
    checkpoint,
    keys: [encodeKeyDocument(signer, new Date('2026-01-01T00:00:00.000Z'))],
  };
  return { doc, b1, b2 };
}

describe('inclusion proof documents (pure verification)', () => {
  it('a complete proof verifies and names stream, batch, head and signer', () => {
    const v = verifyProofBytes(encodeProof(fixture().doc));
    expect(v).toMatchObject({ ok: true, batch_no: 1, head_batch_no: 2, stream });
  });

  it('fails for another leaf index, a path for another leaf, or a missing chain link', () => {
    const { doc, b1 } = fixture();
    expect(verifyProofBytes(encodeProof({ ...doc, leaf_index: 3 })).problems[0]).toMatch(/inclusion/);
    expect(verifyProofBytes(encodeProof({ ...doc, audit_path: b1.tree.path(3).map((h) => h.toString('hex')) })).ok).toBe(false);
    expect(verifyProofBytes(encodeProof({ ...doc, chain_base64: [] })).problems[0]).toMatch(/checkpoint names head batch 2/);
  });

  it('fails when the file is not in canonical form, even with the same content', () => {
    const bytes = Buffer.from(JSON.stringify(fixture().doc, null, 2) + '\n');
    expect(verifyProofBytes(bytes).problems[0]).toMatch(/canonical/);
  });

  it('fails when the checkpoint is dated outside the signing key window (key_not_valid)', () => {
    const { doc } = fixture({ signer: key(new Date('2026-03-01T00:00:00.000Z')) });
    expect(verifyProofBytes(encodeProof(doc)).problems[0]).toMatch(/key_not_valid/);
  });

  it('with pinned keys, a proof carrying its own (other) key is refused', () => {
    const { doc } = fixture();
    const pinned = fixture().doc.keys; // a different key pair
    expect(verifyProofBytes(encodeProof(doc), pinned.map((k) => decodeKeyDocument(k))).problems[0]).toMatch(/signature_invalid/);
  });
});

