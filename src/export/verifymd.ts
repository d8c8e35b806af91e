import { dataKey, manifestKey } from '../archive/layout.js';
import { objectPath, type Bundle } from './format.js';

/** VERIFY.md of a bundle: how to check it with standard tools only (sha256sum, gzip, openssl). */
export function verifyInstructions(b: Bundle): string {
  const s = b.streams[0];
  const ex = s?.batches.find((x) => x.data) ?? s?.batches[0];
  const m = s && ex ? objectPath(manifestKey(s, ex.batch_no)) : 'objects/v1/streams/NS/CLASS/000000000001/manifest.json';
  const d = s && ex ? objectPath(dataKey(s, ex.batch_no)) : 'objects/v1/streams/NS/CLASS/000000000001/data.ndjson.gz';
  const cp = objectPath(b.checkpoint.key);
  const key = b.keys[0] ? objectPath(b.keys[0].key) : 'objects/v1/keys/NAME/KEYID.note';
  return `# Verifying this bundle

Exported ${b.created_at} from ${b.source}: ${b.events.count} event(s) in ${b.streams.length} stream(s).
Selection: \`${JSON.stringify(b.selection)}\`.

With wormseal: \`wormseal verify-bundle .\` (no database and no S3 needed; exit 0 verified, 1 problems).
Without it, every step below needs only \`sha256sum\`, \`gzip\`, \`openssl\` and a POSIX shell; the
byte formats are specified in wormseal's docs/FORMAT.md (sections 4-7 and 11-14).

## Files

- \`bundle.json\` — index: object keys, S3 version ids and lock state at export time. Informative;
  trust only what the hashes and the signature below bind.
- \`events.ndjson\` — the selected events, exact canonical bytes, one per line.
- \`proofs.ndjson\` — for line i of events.ndjson: stream, batch, leaf index, tree size, audit path.
- \`objects/\` — the objects as stored in the bucket, under their bucket keys: each listed batch's
  \`manifest.json\`, the \`data.ndjson.gz\` of batches holding selected events, the signed checkpoint
  (\`${cp}\`) and the public key documents (\`objects/v1/keys/…\`).

## 1. The signed checkpoint

The checkpoint is a C2SP signed note: body, blank line, signature lines \`— NAME BASE64\`, where
BASE64 decodes to 4 bytes of key id then the 64-byte Ed25519 signature of the body.

\`\`\`sh
CP=${cp}
KEY=${key}
# the body is everything before the blank line, with its final newline
sed '/^$/,$d' "$CP" > body.txt
# the signature: last field of the first signature line, without the 4-byte key id
sed -n '/^$/{n;p;q}' "$CP" | awk '{print $3}' | openssl base64 -d -A | tail -c 64 > sig.bin
# the public key: raw 32 bytes on the "ed25519" line of the key document, wrapped as SPKI DER
(printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'; sed -n 's/^ed25519 //p' "$KEY" | openssl base64 -d -A) > pub.der
openssl pkey -pubin -inform DER -in pub.der -out pub.pem
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in body.txt -sigfile sig.bin
\`\`\`

Check also that the checkpoint's \`time\` lies between the key document's \`valid_from\` and
\`valid_until\`, and that the key document verifies the same way (it is signed by its own key).
Each \`head NS CLASS N SHA256\` line names a stream's last batch and its manifest's SHA-256.

## 2. Each batch

\`\`\`sh
sha256sum ${m}        # the next batch's prev_manifest_sha256, or the checkpoint's head SHA-256
sha256sum ${d}        # the manifest's data.sha256
gzip -dc ${d} | wc -l # the manifest's tree.size
\`\`\`

Then recompute the Merkle root (RFC 6962: leaf = SHA-256(0x00 ‖ line), node = SHA-256(0x01 ‖ left ‖ right))
and compare it with the manifest's \`tree.root\`; docs/FORMAT.md §5 gives a shell loop.

## 3. The chain

For each stream, every batch from the first listed to the checkpoint's head must be present, and
each manifest's \`prev_manifest_sha256\` must equal \`sha256sum\` of the previous manifest. The
head's manifest must hash to the SHA-256 on the checkpoint's head line.

## 4. Each selected event

Line i of events.ndjson hashes to leaf SHA-256(0x00 ‖ line); with line i of proofs.ndjson, the
RFC 9162 §2.1.3.2 algorithm must lead from it to the batch's \`tree.root\`.
`;
}
