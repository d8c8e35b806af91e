import type { StreamId } from '../db/batches.js';
import { bundleProofSchema, type Bundle } from '../export/format.js';
import { matches, SelectionPrefilter } from '../export/select.js';
import { leafHash, verifyInclusion } from '../merkle/index.js';
import type { BundleBatch } from './bundle.js';
import type { Problem } from './problems.js';

type ParsedProof = ReturnType<typeof bundleProofSchema.parse>;

/**
 * The selected events of a bundle: line i of events.ndjson with line i of proofs.ndjson. Each
 * event's leaf must lead to its batch's root along the proof (proof_invalid otherwise), and equal
 * the batch's line at that index when the data object is in the bundle (content_changed). And
 * the listing must be complete: every line of an included data object that matches the bundle's
 * selection must be listed (missing otherwise).
 *
 * Judged batch by batch, as verifyBundle judges the batches (batchJudged), so that a batch's lines
 * can be let go as soon as its events are checked: memory holds the batches in flight, not the
 * bundle. Findings come out in the order one pass over the listing, then one over the batches,
 * would give them once verifyBundle sorts them by stream and batch.
 */
export class BundleEvents {
  /** Events listed (lines of events.ndjson). */
  readonly count: number;
  private readonly events: Buffer[] = [];
  private readonly proofs: (ParsedProof | undefined)[] = [];
  /** Listing positions by batch ("ns/class/n"), in listing order. */
  private readonly byBatch = new Map<string, number[]>();
  private readonly prefilter: SelectionPrefilter;

  constructor(
    private readonly bundle: Bundle,
    read: (path: string) => Buffer | undefined,
    private readonly problems: Problem[],
  ) {
    this.prefilter = new SelectionPrefilter(bundle.selection);
    const none: StreamId = { namespace: '', retention_class: '' };
    const events = read(bundle.events.listing);
    const proofs = read(bundle.events.proofs);
    if (!events || !proofs) {
      problems.push({ stream: none, batch_no: null, object: !events ? bundle.events.listing : bundle.events.proofs, reason: 'missing', detail: 'file listed in bundle.json is not in the bundle' });
      this.count = 0;
      return;
    }
    const eventLines = splitLines(events);
    const proofLines = splitLines(proofs);
    this.count = eventLines.length;
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
    for (let i = 0; i < n; i++) {
      this.events.push(eventLines[i]!);
      let proof: ParsedProof;
      try {
        const parsed = bundleProofSchema.safeParse(JSON.parse(proofLines[i]!.toString('utf8')));
        if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
        proof = parsed.data;
      } catch (e) {
        problems.push({ stream: none, batch_no: null, object: bundle.events.proofs, reason: 'proof_invalid', detail: `line ${i + 1}: ${(e as Error).message}` });
        this.proofs.push(undefined);
        continue;
      }
      this.proofs.push(proof);
      const id = `${proof.namespace}/${proof.retention_class}/${proof.batch_no}`;
      let list = this.byBatch.get(id);
      if (!list) this.byBatch.set(id, (list = []));
      list.push(i);
    }
  }

  /**
   * Batch `id` ("ns/class/n") of the chain was judged (`batch` undefined when it is absent from
   * the bundle): check the events listed in it and, when its data object is intact, that every
   * line matching the selection is listed. Call once per batch of the chain, in chain order; the
   * batch's lines are not kept.
   */
  batchJudged(id: string, batch: BundleBatch | undefined): void {
    const listed = this.byBatch.get(id) ?? [];
    this.byBatch.delete(id);
    for (const i of listed) this.checkEvent(i, batch);
    if (!batch?.intact || !batch.lines) return; // a changed data object is already a finding; its lines prove nothing
    const leaves = new Set(listed.map((i) => this.proofs[i]!.leaf_index));
    const [namespace, retention_class, no] = id.split('/');
    const lines = batch.lines;
    // Every other line must not match the selection. The prefilter passes over most lines without
    // parsing them (it is sound: see SelectionPrefilter); the rest are parsed.
    const couldMatch = this.prefilter.scanner(lines.raw);
    for (let i = 0, start = 0; i < lines.count; start = lines.ends[i]! + 1, i++) {
      if (leaves.has(i) || !couldMatch(start, lines.ends[i]!)) continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(lines.line(i).toString('utf8')) as Record<string, unknown>;
      } catch {
        continue; // an unparseable line changed the batch's root: already a finding
      }
      if (!matches(this.bundle.selection, event)) continue;
      this.problems.push({
        stream: { namespace: namespace!, retention_class: retention_class! },
        batch_no: Number(no),
        object: this.bundle.events.listing,
        reason: 'missing',
        detail: `event ${String(event.event_id)} (line ${i + 1} of the batch) matches the selection but is not listed`,
      });
    }
  }

  /** After the last batch: events whose proofs name a batch outside the chain the bundle covers. */
  finish(): void {
    const rest = [...this.byBatch.values()].flat().sort((a, b) => a - b);
    this.byBatch.clear();
    for (const i of rest) {
      this.checkIdentity(i);
      this.add(i, this.bundle.events.proofs, 'missing', 'its batch is not part of the bundle');
    }
  }

  private checkEvent(i: number, batch: BundleBatch | undefined): void {
    const line = this.checkIdentity(i);
    const proof = this.proofs[i]!;
    if (!batch?.manifest) return; // the batch itself is missing or unreadable: already a finding
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
      this.add(i, this.bundle.events.proofs, 'proof_invalid', (e as Error).message);
    }
    const sealed = batch.lines && proof.leaf_index < batch.lines.count ? batch.lines.line(proof.leaf_index) : undefined;
    if (batch.lines && (!sealed || !sealed.equals(line))) this.add(i, this.bundle.events.listing, 'content_changed', `differs from line ${proof.leaf_index + 1} of the batch`);
  }

  /** The listed line must carry the event_id its proof names. Returns the line. */
  private checkIdentity(i: number): Buffer {
    const line = this.events[i]!;
    let id: unknown;
    try {
      id = (JSON.parse(line.toString('utf8')) as { event_id?: unknown }).event_id;
    } catch {
      id = undefined;
    }
    if (id !== this.proofs[i]!.event_id) this.add(i, this.bundle.events.listing, 'content_changed', `the listed line carries event_id ${String(id)}`);
    return line;
  }

  private add(i: number, object: string, reason: Problem['reason'], detail: string): void {
    const proof = this.proofs[i]!;
    this.problems.push({
      stream: { namespace: proof.namespace, retention_class: proof.retention_class },
      batch_no: proof.batch_no,
      object,
      reason,
      detail: `event ${proof.event_id} (line ${i + 1}): ${detail}`,
    });
  }
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
