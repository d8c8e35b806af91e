import type { Bundle } from './format.js';

/** VERIFY.md of a bundle: how to check it with standard tools only (sha256sum, gzip, openssl). */
export function verifyInstructions(b: Bundle): string {
  const s = b.streams[0];
  const ex = s?.batches.find((x) => x.data) ?? s?.batches[0];
  return `# Verifying this bundle

Exported ${b.created_at} from ${b.source}: ${b.events.count} event(s) in ${b.streams.length} stream(s).
Selection: \`${JSON.stringify(b.selection)}\`.

With wormseal: \`wormseal verify-bundle .\` (no database and no S3 needed; exit 0 verified, 1 problems).
Without it, every step below needs only \`sha256sum\`, \`gzip\`, \`openssl\` and a POSIX shell; the
byte formats are specified in wormseal's docs/FORMAT.md (sections 4-7 and 11-15).

## Files

- \`bundle.json\` — index: object keys, S3 version ids and lock state at export time. Informative;
  trust only what the hashes and the signature below bind.
- \`events.ndjson\` — the selected events, exact canonical bytes, one per line.
- \`proofs.ndjson\` — for line i of events.ndjson: stream, batch, leaf index, tree size, audit path.
- \`objects/\` — the objects as stored in the bucket, under their bucket keys: each listed batch's
  \`manifest.json\`, the \`data.ndjson.gz\` of batches holding selected events, the signed checkpoint
  and the public key documents (\`objects/v1/keys/…\`).

## Check a batch and the checkpoint

Set B to this directory, NS and CLASS to a stream, N to a batch number (12 digits) and NEXT to the
following batch's number (empty for the head the checkpoint names), then run this with \`bash\`; it
stops with a non-zero status at the first mismatch. For example: \`B=. NS=${s?.namespace ?? 'NS'} CLASS=${s?.retention_class ?? 'CLASS'} N=${ex ? String(ex.batch_no).padStart(12, '0') : 'N'} NEXT=…\`.

\`\`\`sh
${MANUAL_CHECK}
\`\`\`

Also check that the checkpoint's \`time\` lies between the key document's \`valid_from\` and
\`valid_until\`, and that each stream has every batch from the first listed in bundle.json to the
head the checkpoint names.

## Each selected event

Line i of events.ndjson hashes to leaf SHA-256(0x00 ‖ line); with line i of proofs.ndjson, the
RFC 9162 §2.1.3.2 algorithm must lead from it to the batch's \`tree.root\`.
`;
}

/** docs/FORMAT.md §17, verbatim (a test keeps the two identical and runs it). */
export const MANUAL_CHECK = `set -eu
dir="$B/objects/v1/streams/$NS/$CLASS/$N"
str() { sed -n "s/.*\\"$1\\":\\"\\([^\\"]*\\)\\".*/\\1/p" "$2"; }   # a string field of a canonical manifest
num() { sed -n "s/.*\\"$1\\":\\([0-9]*\\).*/\\1/p" "$2"; }           # a number field
hex() { openssl dgst -sha256 -binary | xxd -p -c 32; }

# 1. data object digest and line count (§4, §6)
test "$(sha256sum < "$dir/data.ndjson.gz" | cut -d' ' -f1)" = "$(str sha256 "$dir/manifest.json")"
test "$(gzip -dc "$dir/data.ndjson.gz" | wc -l)" -eq "$(num size "$dir/manifest.json")"

# 2. Merkle root (§5): leaf = SHA-256(0x00 || line); pair neighbours, promote an odd last node
gzip -dc "$dir/data.ndjson.gz" | while IFS= read -r line; do printf '\\000%s' "$line" | hex; done > level.txt
while [ "$(wc -l < level.txt)" -gt 1 ]; do
  : > next.txt
  while read -r a; do
    if read -r b; then printf '01%s%s' "$a" "$b" | xxd -r -p | hex >> next.txt; else echo "$a" >> next.txt; fi
  done < level.txt
  mv next.txt level.txt
done
test "$(cat level.txt)" = "$(str root "$dir/manifest.json")"

# 3. chain (§7): this manifest's digest is named by the next one, or by the checkpoint's head line
cp=$(ls "$B"/objects/v1/checkpoints/*.note)
digest=$(sha256sum < "$dir/manifest.json" | cut -d' ' -f1)
if [ -n "$NEXT" ]; then
  test "$digest" = "$(str prev_manifest_sha256 "$B/objects/v1/streams/$NS/$CLASS/$NEXT/manifest.json")"
else
  test "head $NS $CLASS $(expr "$N" + 0) $digest" = "$(grep "^head $NS $CLASS " "$cp")"
fi

# 4. checkpoint signature (§13, §14): body, 64-byte signature after the 4-byte key id, SPKI key
sed '/^$/,$d' "$cp" > body.txt
sed -n '/^$/{n;p;q;}' "$cp" | awk '{print $3}' | openssl base64 -d -A | tail -c 64 > sig.bin
name=$(sed -n '/^$/{n;p;q;}' "$cp" | awk '{print $2}')
keydoc=$(ls "$B"/objects/v1/keys/"$name"/*.note)
(printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'; sed -n 's/^ed25519 //p' "$keydoc" | openssl base64 -d -A) > pub.der
openssl pkey -pubin -inform DER -in pub.der -out pub.pem
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in body.txt -sigfile sig.bin
echo "batch $N of $NS/$CLASS verified"`;
