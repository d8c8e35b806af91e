// A LeafHasher worker thread (hasher.ts): RFC 6962 roots of the batches being sealed, from the same
// LF-terminated line blocks the data object is compressed from. Blocks live in SharedArrayBuffers,
// so posting one shares it: no line is copied between threads.

import { parentPort, workerData } from 'node:worker_threads';
import { leafDigestAt } from '../merkle/hash.js';
import { RootBuilder } from '../merkle/tree.js';

export type HashRequest =
  | { kind: 'lines'; batch: number; block: Uint8Array }
  | { kind: 'root'; batch: number }
  | { kind: 'drop'; batch: number };

export type HashResponse =
  | { kind: 'root'; batch: number; root: Uint8Array; count: number }
  | { kind: 'error'; batch: number; error: { name: string; message: string } };

/** The trees of open batches, by batch number of this worker; requests of one batch arrive in order. */
export class LineHashing {
  private readonly trees = new Map<number, RootBuilder>();
  private readonly failed = new Map<number, Error>();

  handle(req: HashRequest): HashResponse | undefined {
    const { batch } = req;
    if (req.kind === 'drop') {
      this.trees.delete(batch);
      this.failed.delete(batch);
      return undefined;
    }
    if (req.kind === 'lines') {
      if (this.failed.has(batch)) return undefined;
      try {
        this.add(batch, req.block);
      } catch (e) {
        this.failed.set(batch, e instanceof Error ? e : new Error(String(e)));
      }
      return undefined;
    }
    const tree = this.trees.get(batch) ?? new RootBuilder();
    const error = this.failed.get(batch);
    this.trees.delete(batch);
    this.failed.delete(batch);
    if (error) return { kind: 'error', batch, error: { name: error.name, message: error.message } };
    return { kind: 'root', batch, root: tree.root(), count: tree.size };
  }

  private add(batch: number, block: Uint8Array): void {
    let tree = this.trees.get(batch);
    if (!tree) this.trees.set(batch, (tree = new RootBuilder()));
    const buf = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    // A line is the bytes up to its LF, exactly as a verifier splits the data object.
    let start = 0;
    while (start < buf.length) {
      const end = buf.indexOf(0x0a, start);
      if (end < 0) throw new Error(`line block of batch ${batch} does not end with LF`);
      tree.addDigest(leafDigestAt(buf, start, end - start));
      start = end + 1;
    }
  }
}

/** workerData of a LeafHasher worker: only then does importing this module answer messages. */
export const HASH_WORKER_DATA = { wormsealHashWorker: 1 } as const;

if (parentPort && (workerData as typeof HASH_WORKER_DATA | undefined)?.wormsealHashWorker === 1) {
  const port = parentPort;
  const hashing = new LineHashing();
  port.on('message', (req: HashRequest) => {
    const res = hashing.handle(req);
    if (res) port.postMessage(res);
  });
}
