// A BatchChecker worker thread (threads.ts) and the messages it answers. Three kinds of work: scan a
// data object (digest, gunzip, split into lines), hash a chunk of a scanned object's lines, and
// digest a data object whole (decompressed and hashed a chunk at a time, lines not kept).
// Lines and leaf hashes of a scan live in SharedArrayBuffers, so every worker reads and writes the
// same memory and nothing per line is copied between threads; a digest's leaf hashes and the data
// object are moved back (transferred), not copied.

import { parentPort, workerData } from 'node:worker_threads';
import { BatchLines, digestData, hashLines, scanDataShared, type ContentFinding, type DataExpectation } from './data.js';

export type WorkRequest =
  | { kind: 'scan'; id: number; expect: DataExpectation; data: Uint8Array }
  | { kind: 'digest'; id: number; expect: DataExpectation; data: Uint8Array }
  | { kind: 'hash'; id: number; raw: Uint8Array; ends: Float64Array; leaves: Uint8Array; from: number; to: number };

export type WorkResponse =
  | { id: number; kind: 'scan'; dataSha256: string; findings: ContentFinding[]; raw?: Uint8Array; ends?: Float64Array }
  | { id: number; kind: 'hash'; root: Uint8Array }
  | { id: number; kind: 'digest'; dataSha256: string; findings: ContentFinding[]; count?: number; leaves?: Uint8Array; data: Uint8Array }
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
    if (req.kind === 'digest') {
      const d = await digestData(req.expect, asBuffer(req.data));
      const found = d.leaves && d.count !== undefined ? { count: d.count, leaves: asBytes(d.leaves) } : {};
      return { id: req.id, kind: 'digest', dataSha256: d.dataSha256, findings: d.findings, ...found, data: req.data };
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

/** The memory an answer moves to the caller instead of copying: a digest's leaf hashes and data object. */
export function transferList(res: WorkResponse): ArrayBuffer[] {
  if (res.kind !== 'digest') return [];
  const list = [res.data.buffer, res.leaves?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  return [...new Set(list)];
}

/** workerData of a BatchChecker worker: only then does importing this module answer messages. */
export const WORKER_DATA = { wormsealBatchWorker: 1 } as const;

if (parentPort && (workerData as typeof WORKER_DATA | undefined)?.wormsealBatchWorker === 1) {
  const port = parentPort;
  port.on('message', (req: WorkRequest) => void answer(req).then((res) => port.postMessage(res, transferList(res))));
}
