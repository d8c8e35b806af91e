import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures: a UTF-8 text body
 * ending in a newline, a blank line, then one line per signature
 * `— <key name> <base64(key id ‖ signature)>`. The key id is the first 4 bytes of
 * SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 being the Ed25519 signature type. Pure: no I/O.
 */
export const ED25519_TYPE = 0x01;
const EM_DASH = '\u2014';
// DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410): prefix of every 32-byte raw key.
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Key names: what C2SP allows (no spaces, no '+'), narrowed to what fits an object key. */
export const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class NoteError extends Error {
  override name = 'NoteError';
}

export function keyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.of(0x0a, ED25519_TYPE))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** The raw 32-byte Ed25519 public key of a private or public KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  if (pub.asymmetricKeyType !== 'ed25519' || der.length !== 44) throw new NoteError('not an Ed25519 key');
  return der.subarray(12);
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new NoteError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export interface NoteSigner {
  name: string;
  privateKey: KeyObject;
}

/** Sign `body` (must end with a newline and contain no blank line) into a complete note. */
export function signNote(body: string, signer: NoteSigner): string {
  checkBody(body);
  if (!KEY_NAME.test(signer.name)) throw new NoteError(`key name ${JSON.stringify(signer.name)} must match ${KEY_NAME}`);
  const sig = sign(null, Buffer.from(body, 'utf8'), signer.privateKey);
  const id = keyId(signer.name, rawPublicKey(signer.privateKey));
  return `${body}\n${EM_DASH} ${signer.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface ParsedNote {
  body: string;
  signatures: NoteSignature[];
}

/** Split a note into body and signature lines. Throws NoteError when it is not a signed note. */
export function parseNote(text: string): ParsedNote {
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('no blank line between body and signatures');
  const body = text.slice(0, split + 1);
  checkBody(body);
  const rest = text.slice(split + 2);
  if (!rest.endsWith('\n')) throw new NoteError('signature block does not end with a newline');
  const signatures: NoteSignature[] = [];
  for (const line of rest.slice(0, -1).split('\n')) {
    const m = /^\u2014 ([^ +]+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m) throw new NoteError(`malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const raw = Buffer.from(m[2]!, 'base64');
    // Canonical base64 only: a different spelling of the same bytes is a changed note.
    if (raw.toString('base64') !== m[2] || raw.length !== 4 + 64) throw new NoteError(`malformed signature of key ${m[1]}`);
    signatures.push({ name: m[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4) });
  }
  if (signatures.length === 0) throw new NoteError('note has no signature');
  return { body, signatures };
}

function checkBody(body: string): void {
  if (!body.endsWith('\n')) throw new NoteError('note body must end with a newline');
  if (body.includes('\n\n') || body.startsWith('\n')) throw new NoteError('note body must not contain a blank line');
}

export interface VerifierKey {
  name: string;
  publicKey: Buffer;
}

/** Does `sig` carry a valid Ed25519 signature of `body` by `key` (name and key id must match too)? */
export function signatureValid(body: string, sig: NoteSignature, key: VerifierKey): boolean {
  if (sig.name !== key.name || !sig.keyId.equals(keyId(key.name, key.publicKey))) return false;
  return verify(null, Buffer.from(body, 'utf8'), publicKeyFromRaw(key.publicKey), sig.signature);
}
