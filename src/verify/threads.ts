// Batch checks on worker threads. Verifying is SHA-256 bound: two one-shot hashes per event (leaf,
// node) cost ~5 µs, so one thread tops out near 200k events/s. A pool of worker threads takes it to
// the machine's cores: a batch's data object is scanned (digest, gunzip, lines) on one worker, then
// its lines are hashed in chunks on all of them, so a single large batch uses every core too.
// Lines and leaf hashes are SharedArrayBuffers: nothing per line crosses a thread boundary.
// A check that needs no lines (`lines: false`) runs whole on one worker instead, hashing each
// chunk of lines as it is decompressed: no decompressed object is held, which on this project's VM
// saves more than splitting a batch between cores gains, as long as several batches are checked
// at once.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildLevelTree } from '../merkle/levels.js';
import { HASH_SIZE } from '../merkle/hash.js';
import { checkBatchBytes, decodeBatchManifest, type BatchCheck } from './batch.js';
import { asBuffer, WORKER_DATA, type WorkRequest, type WorkResponse } from './batch-worker.js';
import { BatchLines, rootFinding, type DataExpectation } from './data.js';

/**
 * Lines per hashing chunk: a power of two, so each chunk is a perfect subtree (the last one
 * excepted) and the RFC 6962 tree over the chunks' roots is the tree over all leaves: the
 * left-balanced split of n leaves falls on a multiple of every power of two below n.
 * 16,384 lines are ~80 ms of hashing: large enough that messages cost nothing, small enough to
 * share a batch of 100,000 between cores.
 */
export const CHUNK = 16_384;

type Work = WorkRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Task {
  req: WorkRequest;
  resolve: (res: WorkResponse) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/** Worker threads by default on a machine with more than one core; in-thread on one. */
export function defaultThreads(): number {
  const n = availableParallelism();
  return n > 1 ? n : 0;
}

/**
 * checkBatchBytes on a pool of worker threads, started at the first check; results are what
 * checkBatchBytes returns in-thread. Any number of checks may be queued at once. An error thrown
 * by a check rejects that check; a worker that dies rejects every check in flight or queued, and
 * every later one. Call close() when done (idle workers do not keep the process alive).
 */
export class BatchChecker {
  private readonly threads: number;
  private slots: Slot[] | undefined;
  // Hashing chunks of batches already scanned go first: a started batch finishes, and its
  // memory is released, before the next one is opened.
  private readonly hashQueue: Task[] = [];
  private readonly scanQueue: Task[] = [];
  private failure: Error | undefined;
  private nextId = 0;

  /** `threads`: workers to start (0: check in the calling thread); defaultThreads() if omitted. */
  constructor(opts: { threads?: number } = {}) {
    this.threads = opts.threads ?? defaultThreads();
  }

  /**
   * checkBatchBytes(manifestBytes, dataBytes), hashing on the workers. The caller's buffers stay as
   * they are, unless `handOver` is set: then dataBytes may be moved to a worker (transferred, left
   * empty here) instead of copied, and the caller must not read it again. With `lines: false` the
   * result has no lines (only their count and leaf hashes) but gives the data object's bytes back
   * as `dataBytes` (in-thread, lines are there anyway).
   */
  async check(manifestBytes: Buffer, dataBytes: Buffer | undefined, opts: { handOver?: boolean; lines?: boolean } = {}): Promise<BatchCheck> {
    if (this.threads === 0) return checkBatchBytes(manifestBytes, dataBytes);
    // The manifest is small: decoded here, so workers need not load its schema.
    const decoded = decodeBatchManifest(manifestBytes);
    if (!decoded.manifest || !dataBytes) return decoded;
    const handOver = opts.handOver === true;
    const data = opts.lines === false ? await this.digestData(decoded.manifest, dataBytes, handOver) : await this.checkData(decoded.manifest, dataBytes, handOver);
    return { manifest: decoded.manifest, ...data };
  }

  /** Start the workers now rather than at the first check (they take a few ms each to start). */
  start(): void {
    if (this.threads > 0) this.slots ??= Array.from({ length: this.threads }, () => this.spawn());
  }

  /** Stop the workers. Checks still queued or in flight are rejected. */
  async close(): Promise<void> {
    const slots = this.slots ?? [];
    this.fail(new Error('batch checker closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private async checkData(expect: DataExpectation, dataBytes: Buffer, handOver: boolean): Promise<Omit<BatchCheck, 'manifest'>> {
    const data = ownBytes(dataBytes, handOver);
    const scanned = await this.run({ kind: 'scan', expect: { data: expect.data, tree: expect.tree }, data });
    if (scanned.kind !== 'scan') throw new Error('batch check worker answered out of turn');
    const { dataSha256, findings, raw, ends } = scanned;
    if (!raw || !ends) return { dataSha256, findings };
    const leaves = new Uint8Array(new SharedArrayBuffer(ends.length * HASH_SIZE));
    const chunks = [];
    for (let from = 0; from < ends.length; from += CHUNK) {
      chunks.push(this.run({ kind: 'hash', raw, ends, leaves, from, to: Math.min(from + CHUNK, ends.length) }));
    }
    const roots = (await Promise.all(chunks)).map((r) => (r.kind === 'hash' ? r.root : new Uint8Array(0)));
    const root = buildLevelTree(Buffer.concat(roots)).root();
    return { dataSha256, lines: new BatchLines(asBuffer(raw), ends), count: ends.length, leaves: asBuffer(leaves), findings: [...findings, ...rootFinding(expect, root)] };
  }

  private async digestData(expect: DataExpectation, dataBytes: Buffer, handOver: boolean): Promise<Omit<BatchCheck, 'manifest'>> {
    const data = ownBytes(dataBytes, handOver);
    const res = await this.run({ kind: 'digest', expect: { data: expect.data, tree: expect.tree }, data });
    if (res.kind !== 'digest') throw new Error('batch check worker answered out of turn');
    const found = res.leaves && res.count !== undefined ? { count: res.count, leaves: asBuffer(res.leaves) } : {};
    return { dataSha256: res.dataSha256, findings: res.findings, ...found, dataBytes: asBuffer(res.data) };
  }

  private run(work: Work): Promise<WorkResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const task: Task = { req: { ...work, id: this.nextId++ } as WorkRequest, resolve, reject };
      (work.kind === 'hash' ? this.hashQueue : this.scanQueue).push(task);
      this.dispatch();
    });
  }

  private dispatch(): void {
    this.start();
    for (const slot of this.slots ?? []) {
      if (slot.task) continue;
      const task = this.hashQueue.shift() ?? this.scanQueue.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.ref(); // work in flight keeps the process alive until it is answered
      slot.worker.postMessage(task.req, task.req.kind === 'hash' ? [] : [task.req.data.buffer as ArrayBuffer]);
    }
  }

  private spawn(): Slot {
    const { url, execArgv } = workerEntry(new URL('./batch-worker.js', import.meta.url));
    const worker = new Worker(url, { workerData: WORKER_DATA, ...(execArgv ? { execArgv } : {}) });
    const slot: Slot = { worker, task: undefined };
    worker.unref();
    worker.on('message', (res: WorkResponse) => {
      const task = slot.task;
      slot.task = undefined;
      worker.unref();
      if (task && task.req.id === res.id) {
        if (res.kind === 'error') task.reject(Object.assign(new Error(res.error.message), { name: res.error.name, stack: res.error.stack }));
        else task.resolve(res);
      }
      this.dispatch();
    });
    worker.on('error', (e) => this.fail(new Error(`batch check worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.fail(new Error(`batch check worker exited with code ${code}`)));
    return slot;
  }

  /** Reject everything pending, and every later check, with the first failure; stop the workers. */
  private fail(e: Error): void {
    this.failure ??= e;
    const pending = [...(this.slots ?? []).flatMap((s) => (s.task ? [s.task] : [])), ...this.hashQueue.splice(0), ...this.scanQueue.splice(0)];
    for (const s of this.slots ?? []) {
      s.task = undefined;
      void s.worker.terminate();
    }
    for (const t of pending) t.reject(this.failure);
  }
}

/**
 * Memory a worker may own: the caller's buffer when handed over and not shared with anything else
 * (a whole ArrayBuffer), else a copy (a fresh ~20 MB per 100k events, and on a VM every first
 * touch of a page is a fault).
 */
function ownBytes(dataBytes: Buffer, handOver: boolean): Uint8Array {
  const whole = dataBytes.buffer instanceof ArrayBuffer && dataBytes.byteOffset === 0 && dataBytes.byteLength === dataBytes.buffer.byteLength;
  return handOver && whole ? new Uint8Array(dataBytes.buffer) : new Uint8Array(dataBytes);
}

/**
 * Where to start worker module `js` (a URL ending in .js, relative to a module of src/): the
 * compiled file (dist/) when it exists; when running from the TypeScript sources (vitest), the .ts
 * file loaded through tsx, a devDependency, as the tests run it.
 */
export function workerEntry(js: URL): { url: URL; execArgv?: string[] } {
  if (existsSync(fileURLToPath(js))) return { url: js };
  let tsx: string;
  try {
    tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href; // whatever the working directory
  } catch {
    throw new Error(`${fileURLToPath(js)} is missing: run npm run build (or install tsx to run from the TypeScript sources)`);
  }
  return { url: new URL(js.href.replace(/\.js$/, '.ts')), execArgv: ['--import', tsx] };
}
