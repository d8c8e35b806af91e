import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KEY_NAME, keyId, NoteError, parseNote, rawPublicKey, signatureValid, signNote, type VerifierKey } from './note.js';

/**
 * Published public keys (docs/FORMAT.md, "Public keys"). Each key document is a signed note whose
 * body names the key, its id, the raw Ed25519 public key and its validity window, signed by the key
 * itself: a window changed after publication no longer verifies. A checkpoint counts only when its
 * time lies inside the window of the key that signed it, so a key retired (or stolen) later cannot
 * vouch for new checkpoints, while the checkpoints it signed in its time stay verifiable.
 */
export const KEY_FORMAT = 'wormseal-key/1';

export interface PublishedKey extends VerifierKey {
  keyId: string;
  validFrom: Date;
  validUntil: Date | null;
}

export interface SigningKey {
  name: string;
  privateKey: KeyObject;
  publicKey: Buffer;
  keyId: string;
  /** Latest instant the operator allows this key to sign (WORMSEAL_SIGNING_KEY_VALID_UNTIL). */
  validUntil: Date | null;
}

/** Load an Ed25519 private key from PEM text. Throws with what is wrong, never with the key. */
export function loadSigningKey(pem: string, name: string, validUntil: Date | null): SigningKey {
  if (!KEY_NAME.test(name)) throw new NoteError(`signing key name ${JSON.stringify(name)} must match ${KEY_NAME}`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new NoteError(`not a PEM private key: ${(e as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new NoteError(`the signing key is ${privateKey.asymmetricKeyType}, not Ed25519 (openssl genpkey -algorithm ed25519)`);
  }
  const publicKey = rawPublicKey(privateKey);
  return { name, privateKey, publicKey, keyId: keyId(name, publicKey).toString('hex'), validUntil };
}

export function encodeKeyDocument(key: SigningKey, validFrom: Date): string {
  const body =
    `${KEY_FORMAT}\n` +
    `name ${key.name}\n` +
    `key_id ${key.keyId}\n` +
    `ed25519 ${key.publicKey.toString('base64')}\n` +
    `valid_from ${validFrom.toISOString()}\n` +
    `valid_until ${key.validUntil ? key.validUntil.toISOString() : '-'}\n`;
  return signNote(body, key);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Parse and self-verify a key document. Throws NoteError naming what is wrong. */
export function decodeKeyDocument(text: string): PublishedKey {
  const note = parseNote(text);
  const lines = note.body.slice(0, -1).split('\n');
  const field = (i: number, label: string): string => {
    const line = lines[i];
    if (line === undefined || !line.startsWith(`${label} `)) throw new NoteError(`key document line ${i + 1} must start with "${label} "`);
    return line.slice(label.length + 1);
  };
  if (lines[0] !== KEY_FORMAT || lines.length !== 6) throw new NoteError(`not a ${KEY_FORMAT} document`);
  const name = field(1, 'name');
  const id = field(2, 'key_id');
  const pubText = field(3, 'ed25519');
  const publicKey = Buffer.from(pubText, 'base64');
  if (publicKey.toString('base64') !== pubText || publicKey.length !== 32) throw new NoteError('ed25519: not a base64 32-byte key');
  const from = field(4, 'valid_from');
  const until = field(5, 'valid_until');
  if (!ISO.test(from) || (until !== '-' && !ISO.test(until))) throw new NoteError('validity window is not two UTC instants');
  if (!KEY_NAME.test(name) || keyId(name, publicKey).toString('hex') !== id) throw new NoteError(`key_id ${id} does not match name and key`);
  const key: PublishedKey = {
    name,
    publicKey,
    keyId: id,
    validFrom: new Date(from),
    validUntil: until === '-' ? null : new Date(until),
  };
  if (!note.signatures.some((s) => signatureValid(note.body, s, key))) throw new NoteError(`key document of ${name} is not signed by that key`);
  return key;
}

/** Is `at` inside the key's validity window? */
export function keyValidAt(key: { validFrom: Date; validUntil: Date | null }, at: Date): boolean {
  return at >= key.validFrom && (key.validUntil === null || at <= key.validUntil);
}
