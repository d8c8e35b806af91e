// The sealer's Merkle hashing, off the main thread. Sealing is CPU bound on two fronts: the main
// thread parses rows, indexes keys and feeds the compressor, while SHA-256 (a leaf and a node hash
// per event) cost as much again. A worker thread hashes the same line blocks the data object is
// compressed from, shared, not copied, and answers each batch's root when its last block is in.

import { Worker } from 'node:worker_threads';
import { defaultThreads, workerEntry } from '../verify/threads.js';
import { HASH_WORKER_DATA, LineHashing, type HashRequest, type HashResponse } from './hash-worker.js';

/** A buffer the hasher can share with its thread: line blocks are written into these. */
export function sharedBlock(bytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(bytes));
}

/** The tree of one batch's lines. */
export interface LineTree {
  /**
   * Add a block of whole lines, each ending in LF, in leaf order. The block must stay unchanged
   * from now on (it is read on another thread); a sharedBlock() is shared, any other buffer copied.
   */
  add(block: Buffer): void;
  /** The RFC 6962 root of every line added, and their number. Ends the tree. */
  root(): Promise<{ root: Buffer; count: number }>;
  /** Forget the tree (after a failure). */
  drop(): void;
}

/**
 * Hashes batches' lines on one worker thread (in the calling thread when `thread` is false, as on
 * a one-core machine). Any number of trees may be open at once. A worker that dies rejects every
 * root asked for, then and later. Call close() when done.
 */
export class LeafHasher {
  private worker: Worker | undefined;
  private readonly local: LineHashing | undefined;
  private readonly waiting = new Map<number, { resolve: (r: { root: Buffer; count: number }) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private nextBatch = 0;

  constructor(opts: { thread?: boolean } = {}) {
    if (!(opts.thread ?? defaultThreads() > 0)) this.local = new LineHashing();
  }

  open(): LineTree {
    const batch = this.nextBatch++;
    return {
      add: (block) => this.send({ kind: 'lines', batch, block }),
      root: () => this.root(batch),
      drop: () => this.send({ kind: 'drop', batch }),
    };
  }

  async close(): Promise<void> {
    this.fail(new Error('leaf hasher closed'));
    await this.worker?.terminate();
  }

  private send(req: HashRequest): void {
    if (this.local) {
      const res = this.local.handle(req);
      if (res) this.settle(res);
      return;
    }
    if (this.failure) return;
    this.worker ??= this.spawn();
    this.worker.postMessage(req);
  }

  private root(batch: number): Promise<{ root: Buffer; count: number }> {
    if (this.failure) return Promise.reject(this.failure);
    const answer = new Promise<{ root: Buffer; count: number }>((resolve, reject) => this.waiting.set(batch, { resolve, reject }));
    this.worker?.ref(); // a root asked for keeps the process alive until it is answered
    this.send({ kind: 'root', batch });
    return answer;
  }

  private settle(res: HashResponse): void {
    const w = this.waiting.get(res.batch);
    this.waiting.delete(res.batch);
    if (this.waiting.size === 0) this.worker?.unref();
    if (!w) return;
    if (res.kind === 'error') w.reject(Object.assign(new Error(res.error.message), { name: res.error.name }));
    else w.resolve({ root: Buffer.from(res.root.buffer, res.root.byteOffset, res.root.byteLength), count: res.count });
  }

  private spawn(): Worker {
    const { url, execArgv } = workerEntry(new URL('./hash-worker.js', import.meta.url));
    const worker = new Worker(url, { workerData: HASH_WORKER_DATA, ...(execArgv ? { execArgv } : {}) });
    worker.unref();
    worker.on('message', (res: HashResponse) => this.settle(res));
    worker.on('error', (e) => this.fail(new Error(`leaf hasher thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.fail(new Error(`leaf hasher thread exited with code ${code}`)));
    return worker;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }
}
