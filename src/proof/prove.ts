import { parseDataObject, sha256 } from '../archive/batchfile.js';
import { publicKeyKey } from '../archive/layout.js';
import type { ObjectStore } from '../archive/store.js';
import { decodeCheckpointBody } from '../checkpoint/checkpoint.js';
import { parseNote } from '../checkpoint/note.js';
import { findNewestCheckpoint } from '../db/checkpoints.js';
import type { Pool } from '../db/pool.js';
import { buildLevelTree, HASH_SIZE, leafHash, type LevelTree } from '../merkle/index.js';
import { PROOF_FORMAT, type ProofDocument } from './proof.js';
import {
  findEventPosition,
  listBatchRange,
  listPurgedBatches,
  readWindowLeafHashes,
  type ProofBatch,
} from '../db/proofs.js';

export interface ProveDeps {
  pool: Pool;
  store: ObjectStore;
}

const batchId = (b: ProofBatch) => `${b.namespace}/${b.retention_class}/${b.batch_no}`;

export class ProveError extends Error {
  override name = 'ProveError';
}

export interface Prover {
  /** The inclusion proof of one event, anchored to the newest signed checkpoint. Throws ProveError. */
  prove(eventId: string): Promise<ProofDocument>;
}

/**
 * A prover that keeps the trees of recently used batches (LRU, `cachedBatches`), and the manifests
 * and key documents it has read (pinned versions never change), in memory: a warm proof costs three
 * small queries. Sealed batches never change either, so a cached tree stays right; its root is
 * checked against the registry when it is built.
 */
export function createProver(deps: ProveDeps, opts: { cachedBatches?: number } = {}): Prover {
  const trees = new Map<string, LevelTree>();
  const objects = new Map<string, Buffer>();
  const keyDocs = new Map<string, string>();
  const limit = opts.cachedBatches ?? 16;

  const getObject = async (key: string, versionId: string): Promise<Buffer> => {
    const id = `${key}\u0000${versionId}`;
    let b = objects.get(id);
    if (!b) {
      b = await deps.store.get(key, versionId);
      objects.set(id, b);
    }
    return b;
  };

  const remember = (b: ProofBatch, tree: LevelTree) => {
    trees.set(batchId(b), tree);
    if (trees.size > limit) trees.delete(trees.keys().next().value!);
  };

  /** A batch's sealed lines from its data object (pinned version, digest checked); not cached. */
  const sealedLines = async (b: ProofBatch): Promise<Buffer[]> => {
    const data = await deps.store.get(b.data_key, b.data_version_id);
    if (!sha256(data).equals(b.data_sha256)) {
      throw new ProveError(`${b.data_key} version ${b.data_version_id} does not match the sealed digest: run wormseal verify`);
    }
    return parseDataObject(data);
  };

  const treeFromLines = (b: ProofBatch, lines: Buffer[]): LevelTree => {
    const tree = buildLevelTree(Buffer.concat(lines.map((l) => leafHash(l))));
    if (!tree.root().equals(b.root)) throw new ProveError(`batch ${batchId(b)}: sealed lines do not rebuild the registry root: run wormseal verify`);
    return tree;
  };

  const treeOf = async (b: ProofBatch): Promise<LevelTree> => {
    const hit = trees.get(batchId(b));
    if (hit) {
      trees.delete(batchId(b)); // re-insert: Map order is the LRU order
      trees.set(batchId(b), hit);
      return hit;
    }
    // Hot rows hashed by Postgres while they exist; the sealed object once they were purged.
    const leaves = await readWindowLeafHashes(deps.pool, b);
    let tree = leaves.length === b.leaf_count * HASH_SIZE ? buildLevelTree(leaves) : undefined;
    if (!tree || !tree.root().equals(b.root)) tree = treeFromLines(b, await sealedLines(b));
    remember(b, tree);
    return tree;
  };

  /**
   * An event whose hot row was purged: only the data objects of purged batches can hold it. Slow
   * (each such object is read until the event is found) but never misses.
   */
  const findPurged = async (eventId: string): Promise<{ canonical: Buffer; batch: ProofBatch } | undefined> => {
    const needle = Buffer.from(`"event_id":"${eventId}"`);
    for (const b of await listPurgedBatches(deps.pool)) {
      const lines = await sealedLines(b);
      const line = lines.find((l) => l.includes(needle) && (JSON.parse(l.toString('utf8')) as { event_id: string }).event_id === eventId);
      if (line) {
        remember(b, treeFromLines(b, lines));
        return { canonical: line, batch: b };
      }
    }
    return undefined;
  };

  return {
    async prove(eventId) {
      const pos = (await findEventPosition(deps.pool, eventId)) ?? (await findPurged(eventId));
      if (!pos) throw new ProveError(`event ${eventId} is neither in the hot store nor in any batch whose hot rows were purged`);
      if (!pos.batch) throw new ProveError(`event ${eventId} is not sealed yet: run wormseal seal`);
      const batch = pos.batch;
      const newest = await findNewestCheckpoint(deps.pool);
      const checkpoint = newest ? decodeCheckpointBody(parseNote(newest.note).body) : undefined;
      const head = checkpoint?.heads.find((h) => h.namespace === batch.namespace && h.retention_class === batch.retention_class);
      if (!newest || !head || head.batch_no < batch.batch_no) {
        throw new ProveError(
          `no signed checkpoint covers ${batch.namespace}/${batch.retention_class} batch ${batch.batch_no} yet: ` +
            'configure a signing key (wormseal doctor) and run wormseal seal',
        );
      }
      const [tree, chain] = await Promise.all([treeOf(batch), listBatchRange(deps.pool, batch, head.batch_no)]);
      const index = tree.indexOf(leafHash(pos.canonical));
      if (index < 0) throw new ProveError(`event ${eventId} is not among the leaves of its batch ${batch.batch_no}: run wormseal verify`);
      const manifests = await Promise.all(
        chain.map(async (b) => {
          const bytes = await getObject(b.manifest_key, b.manifest_version_id);
          if (!sha256(bytes).equals(b.manifest_sha256)) {
            throw new ProveError(`${b.manifest_key} version ${b.manifest_version_id} does not match the sealed digest: run wormseal verify`);
          }
          return bytes;
        }),
      );
      if (manifests.length !== head.batch_no - batch.batch_no + 1) throw new ProveError(`registry lacks batches up to the checkpointed head ${head.batch_no}`);
      const keys = await Promise.all(
        parseNote(newest.note).signatures.map(async (s) => {
          const key = publicKeyKey(s.name, s.keyId.toString('hex'));
          let doc = keyDocs.get(key);
          if (!doc) {
            // The first version is the publication (later ones would be someone else's writes).
            const versions = (await deps.store.listVersions(key)).filter((v) => v.key === key && !v.isDeleteMarker);
            if (versions.length === 0) throw new ProveError(`public key ${key} is not published in ${deps.store.name}`);
            doc = (await getObject(key, versions[versions.length - 1]!.versionId)).toString('utf8');
            keyDocs.set(key, doc);
          }
          return doc;
        }),
      );
      return {
        format: PROOF_FORMAT,
        event_id: eventId,
        canonical_base64: pos.canonical.toString('base64'),
        leaf_index: index,
        tree_size: tree.size,
        audit_path: tree.path(index).map((h) => h.toString('hex')),
        manifest_base64: manifests[0]!.toString('base64'),
        chain_base64: manifests.slice(1).map((m) => m.toString('base64')),
        checkpoint: newest.note,
        keys,
      };
    },
  };

}
