import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCheckpointBody, encodeCheckpointBody, signCheckpoint, verifyCheckpointNote } from '../../src/checkpoint/checkpoint.js';
import { decodeKeyDocument, encodeKeyDocument, loadSigningKey, type SigningKey } from '../../src/checkpoint/keys.js';
import { keyId, parseNote, signatureValid, signNote } from '../../src/checkpoint/note.js';

function newKey(name: string, validUntil: Date | null = null): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return loadSigningKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), name, validUntil);
}

const HEADS = [
  { namespace: 'billing', retention_class: 'sox-7y', batch_no: 42, manifest_sha256: 'a'.repeat(64) },
  { namespace: 'auth', retention_class: 'soc2-1y', batch_no: 3, manifest_sha256: 'b'.repeat(64) },
];

describe('C2SP signed note', () => {
  // The example key and note of the C2SP signed-note specification (and golang.org/x/mod/sumdb/note).
  const VKEY_RAW = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64');
  const NOTE =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
    '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

  it('computes the key id of the specification example', () => {
    expect(VKEY_RAW[0]).toBe(0x01);
    expect(keyId('PeterNeumann', VKEY_RAW.subarray(1)).toString('hex')).toBe('c74f20a3');
  });

  it('verifies the specification example note and rejects it with one character changed', () => {
    const key = { name: 'PeterNeumann', publicKey: VKEY_RAW.subarray(1) };
    const n = parseNote(NOTE);
    expect(signatureValid(n.body, n.signatures[0]!, key)).toBe(true);
    const changed = parseNote(NOTE.replace('answer', 'Answer'));
    expect(signatureValid(changed.body, changed.signatures[0]!, key)).toBe(false);
  });

  it('rejects bodies with blank lines and non-canonical signature base64', () => {
    const k = newKey('k1');
    expect(() => signNote('a\n\nb\n', k)).toThrow(/blank line/);
    const note = signNote('hello\n', k);
    const sig = note.trimEnd().split(' ').at(-1)!;
    expect(() => parseNote(note.replace(sig, sig + '='))).toThrow();
  });
});

describe('published key documents', () => {
  it('round-trip, and a changed validity window no longer verifies', () => {
    const k = newKey('ops-2026', new Date('2027-01-01T00:00:00.000Z'));
    const doc = encodeKeyDocument(k, new Date('2026-01-01T00:00:00.000Z'));
    const pub = decodeKeyDocument(doc);
    expect(pub).toMatchObject({ name: 'ops-2026', keyId: k.keyId, validUntil: new Date('2027-01-01T00:00:00.000Z') });
    expect(() => decodeKeyDocument(doc.replace('valid_until 2027', 'valid_until 2037'))).toThrow(/not signed by that key/);
  });

  it('refuses keys that are not Ed25519', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => loadSigningKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'x', null)).toThrow(/not Ed25519/);
  });
});

describe('checkpoints', () => {
  const time = new Date('2026-06-01T12:00:00.000Z');
  const k = newKey('wormseal');
  const pub = decodeKeyDocument(encodeKeyDocument(k, new Date('2026-01-01T00:00:00.000Z')));

  it('encode heads sorted and decode back', () => {
    const body = encodeCheckpointBody({ origin: 's3://b', time, heads: HEADS });
    expect(body.split('\n')[3]).toBe(`head auth soc2-1y 3 ${'b'.repeat(64)}`);
    expect(decodeCheckpointBody(body).heads.map((h) => h.namespace)).toEqual(['auth', 'billing']);
  });

  it('verify with a published key valid at their time', () => {
    const v = verifyCheckpointNote(signCheckpoint({ origin: 's3://b', time, heads: HEADS }, k), [pub]);
    expect(v.ok).toBe(true);
  });

  it('signature_invalid when a head line is altered after signing', () => {
    const note = signCheckpoint({ origin: 's3://b', time, heads: HEADS }, k).replace('billing sox-7y 42', 'billing sox-7y 41');
    expect(verifyCheckpointNote(note, [pub])).toMatchObject({ ok: false, reason: 'signature_invalid' });
  });

  it('signature_invalid when signed only by a key that is not published', () => {
    const note = signCheckpoint({ origin: 's3://b', time, heads: HEADS }, newKey('wormseal'));
    expect(verifyCheckpointNote(note, [pub])).toMatchObject({ ok: false, reason: 'signature_invalid', detail: /unknown key/ });
  });

  it('key_not_valid when dated outside the signing key window; older checkpoints stay valid after rotation', () => {
    const old = newKey('wormseal', new Date('2026-03-01T00:00:00.000Z'));
    const oldPub = decodeKeyDocument(encodeKeyDocument(old, new Date('2026-01-01T00:00:00.000Z')));
    const before = signCheckpoint({ origin: 's3://b', time: new Date('2026-02-01T00:00:00.000Z'), heads: HEADS }, old);
    const after = signCheckpoint({ origin: 's3://b', time, heads: HEADS }, old);
    expect(verifyCheckpointNote(before, [oldPub, pub]).ok).toBe(true);
    expect(verifyCheckpointNote(after, [oldPub, pub])).toMatchObject({ ok: false, reason: 'key_not_valid' });
  });
});
