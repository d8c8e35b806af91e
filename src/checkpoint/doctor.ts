import { publicKeyKey } from '../archive/layout.js';
import type { BucketCheck } from '../archive/protection.js';
import type { ObjectStore } from '../archive/store.js';
import { decodeKeyDocument, keyValidAt, type SigningKey } from './keys.js';

const SOON_MS = 30 * 86_400_000;

/**
 * The checkpoint signing key, for `wormseal doctor`. No key is a warning, not a failure: sealing
 * works without it, but then only the operator's own database records where each chain ends, so a
 * cut tail cannot be shown to an examiner. A key outside its published window is a failure.
 */
export async function checkSigningKey(store: ObjectStore, key: SigningKey | undefined, now: Date): Promise<BucketCheck> {
  const genFix =
    'openssl genpkey -algorithm ed25519 -out wormseal-signing.pem, then set WORMSEAL_SIGNING_KEY_FILE (and WORMSEAL_SIGNING_KEY_NAME)';
  if (!key) {
    return {
      name: 'signing-key',
      ok: true,
      detail: 'no signing key configured: seal works, but writes no signed checkpoints, so a removed last batch is only visible to the database',
      fix: genFix,
    };
  }
  const objectKey = publicKeyKey(key.name, key.keyId);
  const versions = (await store.listVersions(objectKey)).filter((v) => v.key === objectKey && !v.isDeleteMarker);
  if (versions.length === 0) {
    return { name: 'signing-key', ok: true, detail: `${key.name}+${key.keyId}: will be published with the next checkpoint` };
  }
  const doc = decodeKeyDocument((await store.get(objectKey, versions[versions.length - 1]!.versionId)).toString('utf8'));
  const window = `valid ${doc.validFrom.toISOString()} to ${doc.validUntil?.toISOString() ?? 'open end'}`;
  if (!keyValidAt(doc, now)) {
    return { name: 'signing-key', ok: false, detail: `${key.name}+${key.keyId} is ${window}: checkpoints fail`, fix: `configure a new key: ${genFix}` };
  }
  if (doc.validUntil && doc.validUntil.getTime() - now.getTime() < SOON_MS) {
    return { name: 'signing-key', ok: true, detail: `${key.name}+${key.keyId} is ${window}: expires soon`, fix: `rotate: ${genFix}` };
  }
  return { name: 'signing-key', ok: true, detail: `${key.name}+${key.keyId} published, ${window}` };
}
