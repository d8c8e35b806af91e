import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDataObject, sha256 } from '../archive/batchfile.js';
import { decodeManifest } from '../archive/manifest.js';
import { publicKeyKey, timestampKey } from '../archive/layout.js';
import type { ObjectStore } from '../archive/store.js';
import { decodeCheckpointBody } from '../checkpoint/checkpoint.js';
import { parseNote } from '../checkpoint/note.js';
import type { Clock } from '../config/clock.js';
import { findNewestCheckpoint } from '../db/checkpoints.js';
import type { Pool } from '../db/pool.js';
import { listBatchRange, type ProofBatch } from '../db/proofs.js';
import { appendEvents } from '../events/ingest.js';
import type { Logger } from '../log/logger.js';
import { buildLevelTree, leafHash } from '../merkle/index.js';
import type { RetentionSchedule } from '../retention/schedule.js';
import { BUNDLE_FORMAT, objectPath, type Bundle, type BundleProof, type LockRecord, type Selection } from './format.js';
import { candidateBatches, matches } from './select.js';
import { verifyInstructions } from './verifymd.js';

export interface ExportDeps {
  pool: Pool;
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  /** For recording the export itself as an audit event. */
  schedule: RetentionSchedule;
  maxEventBytes: number;
  /** Called after each batch read, for a progress bar. */
  progress?: (done: number, total: number) => void;
}

export interface ExportResult {
  out: string;
  events: number;
  batches: number;
  streams: number;
  checkpoint: string;
  /** The `audit_export.created` event that records this export in the `wormseal` namespace. */
  audit_event_id: string;
}

export class ExportError extends Error {
  override name = 'ExportError';
}

/** Namespace and type of the audit event every export records (the log of the log, DESIGN 7). */
export const EXPORT_EVENT = { namespace: 'wormseal', event_type: 'audit_export.created' } as const;

/**
 * Write a self-contained bundle of the selected events (docs/FORMAT.md, "Export bundles"): the
 * data objects and manifests of the batches holding them, every manifest from there to the head
 * named by the newest signed checkpoint, that checkpoint and its public keys, one inclusion proof
 * per event, and VERIFY.md. Objects are read by pinned version and copied byte for byte. The
 * export is then recorded as an audit event attributed to `by`.
 */
export async function exportBundle(deps: ExportDeps, sel: Selection, out: string, by: { id: string; type: 'user' | 'service' | 'admin' | 'system' }): Promise<ExportResult> {
  if (existsSync(out) && readdirSync(out).length > 0) throw new ExportError(`${out} is not empty: export into a new directory`);
  const newest = await findNewestCheckpoint(deps.pool);
  if (!newest) throw new ExportError('no signed checkpoint exists: configure a signing key (wormseal doctor) and run wormseal seal');
  const note = parseNote(newest.note);
  const checkpoint = decodeCheckpointBody(note.body);

  const files = new Map<string, Buffer>();
  const lockOf = async (key: string, versionId: string): Promise<LockRecord> => {
    const l = await deps.store.getLock(key, versionId);
    return { mode: l.mode ?? null, retain_until: l.retainUntil?.toISOString() ?? null, legal_hold: l.legalHold };
  };
  const copy = async (key: string, versionId: string) => {
    const bytes = await deps.store.get(key, versionId);
    files.set(objectPath(key), bytes);
    return { bytes, ref: { key, version_id: versionId, lock: await lockOf(key, versionId) } };
  };

  const candidates = await candidateBatches(deps.pool, sel);
  const byStream = new Map<string, { batches: Map<number, { data: Buffer; lines: Buffer[]; picked: number[] }>; first: ProofBatch | undefined }>();
  const events: Buffer[] = [];
  const proofs: BundleProof[] = [];
  const streams: Bundle['streams'] = [];
  let done = 0;
  for (const c of candidates) {
    const head = checkpoint.heads.find((h) => h.namespace === c.namespace && h.retention_class === c.retention_class);
    if (!head || head.batch_no < c.batch_no) {
      throw new ExportError(`no signed checkpoint covers ${c.namespace}/${c.retention_class} batch ${c.batch_no} yet: run wormseal seal`);
    }
    const id = `${c.namespace}/${c.retention_class}`;
    const s = byStream.get(id) ?? { batches: new Map(), first: undefined };
    byStream.set(id, s);
    const [b] = await listBatchRange(deps.pool, c, c.batch_no);
    const data = await deps.store.get(b!.data_key, b!.data_version_id);
    const lines = parseDataObject(data);
    const picked = lines.flatMap((l, i) => (matches(sel, JSON.parse(l.toString('utf8')) as Record<string, unknown>) ? [i] : []));
    if (picked.length > 0) {
      s.batches.set(c.batch_no, { data, lines, picked });
      s.first ??= b;
    }
    deps.progress?.(++done, candidates.length);
  }

  for (const [id, s] of byStream) {
    if (!s.first) continue;
    const head = checkpoint.heads.find((h) => `${h.namespace}/${h.retention_class}` === id)!;
    const chain = await listBatchRange(deps.pool, s.first, head.batch_no);
    if (chain.length !== head.batch_no - s.first.batch_no + 1) throw new ExportError(`${id}: registry lacks batches up to the checkpointed head ${head.batch_no}`);
    const batches: Bundle['streams'][number]['batches'] = [];
    for (const b of chain) {
      const m = await copy(b.manifest_key, b.manifest_version_id);
      const selected = s.batches.get(b.batch_no);
      let data = null;
      if (selected) {
        // The bytes read while selecting are the pinned version: no second download.
        files.set(objectPath(b.data_key), selected.data);
        data = { key: b.data_key, version_id: b.data_version_id, lock: await lockOf(b.data_key, b.data_version_id), sha256: b.data_sha256.toString('hex') };
        const tree = buildLevelTree(Buffer.concat(selected.lines.map((l) => leafHash(l))));
        const manifest = decodeManifest(m.bytes);
        for (const i of selected.picked) {
          const line = selected.lines[i]!;
          events.push(line);
          proofs.push({
            event_id: (JSON.parse(line.toString('utf8')) as { event_id: string }).event_id,
            namespace: manifest.stream.namespace,
            retention_class: manifest.stream.retention_class,
            batch_no: b.batch_no,
            leaf_index: i,
            tree_size: tree.size,
            audit_path: tree.path(i).map((h) => h.toString('hex')),
          });
        }
      }
      batches.push({
        batch_no: b.batch_no,
        manifest: { ...m.ref, sha256: b.manifest_sha256.toString('hex') },
        data,
        selected_events: selected?.picked.length ?? 0,
      });
    }
    streams.push({ namespace: s.first.namespace, retention_class: s.first.retention_class, head_batch_no: head.batch_no, batches });
  }

  const cp = await copy(newest.object_key, newest.version_id);
  const tsKey = timestampKey(newest.object_key);
  const tsVersion = (await deps.store.listVersions(tsKey)).filter((v) => v.key === tsKey && !v.isDeleteMarker).at(-1);
  const stamp = tsVersion ? (await copy(tsKey, tsVersion.versionId)).ref : null;
  const keys = [];
  for (const sig of note.signatures) {
    const key = publicKeyKey(sig.name, sig.keyId.toString('hex'));
    const versions = (await deps.store.listVersions(key)).filter((v) => v.key === key && !v.isDeleteMarker);
    if (versions.length === 0) throw new ExportError(`public key ${key} is not published in ${deps.store.name}`);
    keys.push((await copy(key, versions[versions.length - 1]!.versionId)).ref);
  }
  const bundle: Bundle = {
    format: BUNDLE_FORMAT,
    created_at: deps.clock.now().toISOString(),
    source: deps.store.name,
    selection: sel,
    checkpoint: cp.ref,
    checkpoint_timestamp: stamp,
    keys,
    streams,
    events: { count: events.length, listing: 'events.ndjson', proofs: 'proofs.ndjson' },
  };
  files.set('bundle.json', Buffer.from(JSON.stringify(bundle, null, 2) + '\n'));
  files.set('events.ndjson', Buffer.concat(events.flatMap((e) => [e, Buffer.from('\n')])));
  files.set('proofs.ndjson', Buffer.from(proofs.map((p) => JSON.stringify(p) + '\n').join('')));
  files.set('VERIFY.md', Buffer.from(verifyInstructions(bundle)));
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), bytes);
  }

  const event = [
    {
      namespace: EXPORT_EVENT.namespace,
      event_type: EXPORT_EVENT.event_type,
      occurred_at: bundle.created_at,
      actor: by,
      outcome: 'success',
      data: {
        selection: sel,
        events: events.length,
        batches: streams.flatMap((s) => s.batches.filter((b) => b.data).map((b) => `${s.namespace}/${s.retention_class}/${b.batch_no}`)),
        checkpoint: newest.object_key,
        bundle_json_sha256: sha256(files.get('bundle.json')!).toString('hex'),
      },
    },
  ];
  let auditId: string | undefined;
  let why = '';
  try {
    const recorded = await appendEvents(deps, event);
    auditId = recorded.event_ids[0];
    why = recorded.errors.map((e) => e.reason).join('; ');
  } catch (e) {
    why = (e as Error).message;
  }
  if (!auditId) {
    // No export may exist without its audit event: take the bundle back (out was empty before).
    for (const entry of readdirSync(out)) rmSync(join(out, entry), { recursive: true, force: true });
    throw new ExportError(`recording the export as an audit event failed, so the bundle was removed: ${why}`);
  }
  deps.logger.info(`export recorded as audit event ${auditId} (${EXPORT_EVENT.namespace}/${EXPORT_EVENT.event_type})`);
  return {
    out,
    events: events.length,
    batches: streams.reduce((n, s) => n + s.batches.filter((b) => b.data).length, 0),
    streams: streams.length,
    checkpoint: newest.object_key,
    audit_event_id: auditId,
  };
}
