// A BatchChecker worker thread (threads.ts) and the messages it answers. Two kinds of work: scan a
// data object (digest, gunzip, split into lines), and hash a chunk of a scanned object's lines.
// Lines and leaf hashes live in SharedArrayBuffers, so every worker reads and writes the same
// memory and nothing per line is copied between threads.

import { parentPort, workerData } from 'node:worker_threads';
import { BatchLines, hashLines, scanDataShared, type ContentFinding, type DataExpectation } from './data.js';

export type WorkRequest =
  | { kind: 'scan'; id: number; expect: DataExpectation; data: Uint8Array }
  | { kind: 'hash'; id: number; raw: Uint8Array; ends: Float64Array; leaves: Uint8Array; from: number; to: number };

export type WorkResponse =
  | { id: number; kind: 'scan'; dataSha256: string; findings: ContentFinding[]; raw?: Uint8Array; ends?: Float64Array }
  | { id: number; kind: 'hash'; root: Uint8Array }
  | { id: number; kind: 'error'; error: { name: string; message: string; stack?: string } };

/** Do one piece of work. An error thrown by it is answered, not thrown. */
export async function answer(req: WorkRequest): Promise<WorkResponse> {
  try {
    if (req.kind === 'scan') {
      // Lines land in shared memory as they are decompressed: posted back, they are shared, not copied.
      const s = await scanDataShared(req.expect, asBuffer(req.data));
      const lines = s.lines ? { raw: asBytes(s.lines.raw), ends: s.lines.ends } : {};
      return { id: req.id, kind: 'scan', dataSha256: s.dataSha256, findings: s.findings, ...lines };
    }
    const root = hashLines(new BatchLines(asBuffer(req.raw), req.ends), req.leaves, req.from, req.to);
    return { id: req.id, kind: 'hash', root };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { id: req.id, kind: 'error', error: { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) } };
  }
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** workerData of a BatchChecker worker: only then does importing this module answer messages. */
export const WORKER_DATA = { wormsealBatchWorker: 1 } as const;

if (parentPort && (workerData as typeof WORKER_DATA | undefined)?.wormsealBatchWorker === 1) {
  const port = parentPort;
  port.on('message', (req: WorkRequest) => void answer(req).then((res) => port.postMessage(res)));
}
