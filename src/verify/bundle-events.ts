import type { StreamId } from '../db/batches.js';
import { bundleProofSchema, type Bundle } from '../export/format.js';
import { matches, SelectionPrefilter } from '../export/select.js';
import { leafHash, verifyInclusion } from '../merkle/index.js';
import type { BundleBatch } from './bundle.js';
import type { Problem } from './problems.js';

/**
 * The selected events of a bundle: line i of events.ndjson with line i of proofs.ndjson. Each
 * event's leaf must lead to its batch's root along the proof (proof_invalid otherwise), and equal
 * the batch's line at that index when the data object is in the bundle (content_changed). And
 * the listing must be complete: every line of an included data object that matches the bundle's
 * selection must be listed (missing otherwise). Returns the number of events checked.
 */
export function checkBundleEvents(
  bundle: Bundle,
  read: (path: string) => Buffer | undefined,
  batches: Map<string, BundleBatch>,
  /** Every batch the chain check covered, present or not ("ns/class/n"). */
  checked: Set<string>,
  problems: Problem[],
): number {
  const none: StreamId = { namespace: '', retention_class: '' };
  const events = read(bundle.events.listing);
  const proofs = read(bundle.events.proofs);
  if (!events || !proofs) {
    problems.push({ stream: none, batch_no: null, object: !events ? bundle.events.listing : bundle.events.proofs, reason: 'missing', detail: 'file listed in bundle.json is not in the bundle' });
    return 0;
  }
  const eventLines = splitLines(events);
  const proofLines = splitLines(proofs);
  if (eventLines.length !== bundle.events.count || proofLines.length !== bundle.events.count) {
    problems.push({
      stream: none,
      batch_no: null,
      object: bundle.events.listing,
      reason: eventLines.length < bundle.events.count ? 'missing' : 'content_changed',
      detail: `bundle.json lists ${bundle.events.count} event(s); events.ndjson has ${eventLines.length} line(s), proofs.ndjson ${proofLines.length}`,
    });
  }
  const n = Math.min(eventLines.length, proofLines.length);
  // Leaf indexes listed, by batch ("ns/class/n").
  const listed = new Map<string, Set<number>>();
  for (let i = 0; i < n; i++) {
    let proof;
    try {
      const parsed = bundleProofSchema.safeParse(JSON.parse(proofLines[i]!.toString('utf8')));
      if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
      proof = parsed.data;
    } catch (e) {
      problems.push({ stream: none, batch_no: null, object: bundle.events.proofs, reason: 'proof_invalid', detail: `line ${i + 1}: ${(e as Error).message}` });
      continue;
    }
    const stream = { namespace: proof.namespace, retention_class: proof.retention_class };
    const add = (object: string, reason: Problem['reason'], detail: string) =>
      problems.push({ stream, batch_no: proof.batch_no, object, reason, detail: `event ${proof.event_id} (line ${i + 1}): ${detail}` });
    const line = eventLines[i]!;
    let id: unknown;
    try {
      id = (JSON.parse(line.toString('utf8')) as { event_id?: unknown }).event_id;
    } catch {
      id = undefined;
    }
    if (id !== proof.event_id) add(bundle.events.listing, 'content_changed', `the listed line carries event_id ${String(id)}`);
    const batchId = `${proof.namespace}/${proof.retention_class}/${proof.batch_no}`;
    let inBatch = listed.get(batchId);
    if (!inBatch) listed.set(batchId, (inBatch = new Set()));
    inBatch.add(proof.leaf_index);
    if (!checked.has(batchId)) {
      add(bundle.events.proofs, 'missing', 'its batch is not part of the bundle');
      continue;
    }
    const batch = batches.get(batchId);
    if (!batch?.manifest) continue; // the batch itself is missing or unreadable: already a finding
    try {
      if (proof.tree_size !== batch.manifest.tree.size) throw new Error(`tree size ${proof.tree_size}, the manifest says ${batch.manifest.tree.size}`);
      verifyInclusion({
        leafHash: leafHash(line),
        index: proof.leaf_index,
        size: proof.tree_size,
        path: proof.audit_path.map((h) => Buffer.from(h, 'hex')),
        root: Buffer.from(batch.manifest.tree.root, 'hex'),
      });
    } catch (e) {
      add(bundle.events.proofs, 'proof_invalid', (e as Error).message);
    }
    const sealed = batch.lines && proof.leaf_index < batch.lines.count ? batch.lines.line(proof.leaf_index) : undefined;
    if (batch.lines && (!sealed || !sealed.equals(line))) add(bundle.events.listing, 'content_changed', `differs from line ${proof.leaf_index + 1} of the batch`);
  }
  // Every other line of an intact batch must not match the selection. The prefilter passes over
  // most lines without parsing them (it is sound: see SelectionPrefilter); the rest are parsed.
  const prefilter = new SelectionPrefilter(bundle.selection);
  for (const [id, b] of batches) {
    if (!b.intact || !b.lines) continue; // a changed data object is already a finding; its lines prove nothing
    const [namespace, retention_class, no] = id.split('/');
    const lines = b.lines;
    const isListed = listed.get(id);
    const couldMatch = prefilter.scanner(lines.raw);
    for (let i = 0, start = 0; i < lines.count; start = lines.ends[i]! + 1, i++) {
      if (isListed?.has(i) || !couldMatch(start, lines.ends[i]!)) continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(lines.line(i).toString('utf8')) as Record<string, unknown>;
      } catch {
        continue; // an unparseable line changed the batch's root: already a finding
      }
      if (!matches(bundle.selection, event)) continue;
      problems.push({
        stream: { namespace: namespace!, retention_class: retention_class! },
        batch_no: Number(no),
        object: bundle.events.listing,
        reason: 'missing',
        detail: `event ${String(event.event_id)} (line ${i + 1} of the batch) matches the selection but is not listed`,
      });
    }
  }
  return eventLines.length;
}

function splitLines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}
