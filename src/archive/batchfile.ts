import { hash } from 'node:crypto';
import { once } from 'node:events';
import type { TransformOptions } from 'node:stream';
import { constants, createGunzip, createGzip, gunzipSync, gzipSync, type Gzip, type ZlibOptions } from 'node:zlib';
import { nativeAddon } from '../merkle/native.js';

/**
 * The data object of a batch: the events' canonical bytes, each followed by one LF, gzip-compressed
 * (docs/FORMAT.md, "Data object"). Canonical JSON never contains a raw LF, so lines split cleanly.
 */

// Every parameter pinned: the same window must give the same bytes when a crashed batch is
// rebuilt (DESIGN 5). Node's gzip header carries no name and mtime 0. Deflate without flushes
// gives the same bytes however the input is split into writes (test/unit/batchfile.test.ts), so
// the streaming writer below and buildDataObject agree byte for byte.
// Level 1: compression is the largest cost of sealing; level 6 took 2.3x the sealing time for
// objects only ~17% smaller (npm run bench). Changing it changes the bytes a crashed batch is
// rebuilt with: never change it while a batch may be pending (see docs/FORMAT.md, section 4).
const GZIP_OPTIONS = {
  level: 1,
  memLevel: 8,
  windowBits: 15,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

export function buildDataObject(lines: Buffer[]): Buffer {
  return gzipSync(appendLines(lines), GZIP_OPTIONS);
}

/**
 * Output buffer of the streaming compressor. Each filled buffer is a round trip from the thread
 * pool to the main thread, which is busy hashing: Node's 16 KiB default made a 5,000-row block
 * wait for ~15 of them. Output buffer sizes do not change the deflate stream (only input and flushes
 * do; test/unit/batchfile.test.ts checks it against the one-shot build).
 */
const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * Uncompressed bytes that may wait for the compressor before write() makes the caller wait: a few
 * blocks, so the next block is read and hashed while the previous ones compress.
 */
const STREAM_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * Builds a data object from lines as they are read, compressing on the libuv thread pool while the
 * caller reads and hashes the next ones: only the compressed output is held. Call write() with
 * blocks of whole lines, each already followed by its LF (see appendLines), then finish().
 */
export class DataObjectWriter {
  // Zlib streams take the Transform options too; @types/node's ZlibOptions does not list them.
  private readonly gz: Gzip = createGzip({
    ...GZIP_OPTIONS,
    chunkSize: STREAM_CHUNK_BYTES,
    writableHighWaterMark: STREAM_QUEUE_BYTES,
  } as ZlibOptions & TransformOptions);
  private readonly out: Buffer[] = [];
  private readonly ended: Promise<unknown>;

  constructor() {
    this.gz.on('data', (c: Buffer) => this.out.push(c));
    this.ended = once(this.gz, 'end');
    // once() above rejects on 'error'; keep an unawaited rejection from crashing the process
    // before finish() is called.
    this.ended.catch(() => {});
  }

  /** Queue a block for compression; resolves when the compressor can take more (backpressure). */
  async write(block: Buffer): Promise<void> {
    if (!this.gz.write(block)) await Promise.race([once(this.gz, 'drain'), this.ended]);
  }

  /** The whole gzip object. */
  async finish(): Promise<Buffer> {
    this.gz.end();
    await this.ended;
    return Buffer.concat(this.out);
  }

  /** Stop early (on an error elsewhere), releasing the compressor. */
  destroy(): void {
    this.gz.destroy();
  }
}

/** One buffer holding each line followed by an LF: a block for DataObjectWriter.write(). */
export function appendLines(lines: readonly Uint8Array[]): Buffer {
  let n = 0;
  for (const l of lines) n += l.length + 1;
  const block = Buffer.allocUnsafe(n);
  let at = 0;
  for (const l of lines) {
    block.set(l, at);
    at += l.length;
    block[at++] = 0x0a;
  }
  return block;
}

export class DataObjectError extends Error {
  override name = 'DataObjectError';
}

/** Decompress and split a data object into its lines (without the LF). Throws DataObjectError. */
export function parseDataObject(gz: Buffer): Buffer[] {
  const { raw, ends } = scanDataObject(gz);
  const lines = new Array<Buffer>(ends.length);
  for (let i = 0, start = 0; i < ends.length; start = ends[i++]! + 1) lines[i] = raw.subarray(start, ends[i]);
  return lines;
}

/**
 * parseDataObject without a Buffer per line: the decompressed bytes and the offset of each line's
 * LF, so line i is raw[ends[i-1] + 1, ends[i]) (from 0 for the first). Throws DataObjectError.
 */
export function scanDataObject(gz: Buffer): { raw: Buffer; ends: Float64Array } {
  let raw: Buffer;
  try {
    // Output chunks of the size the gzip trailer states (ISIZE, capped): one chunk and no
    // concatenation for an intact object, ~20% faster. Only a hint: a wrong one costs time, not results.
    raw = gunzipSync(gz, { chunkSize: Math.min(Math.max(isizeHint(gz) + 64, 64 * 1024), 64 * 1024 * 1024) });
  } catch (e) {
    throw new DataObjectError(`not a valid gzip stream: ${(e as Error).message}`);
  }
  return { raw, ends: splitLines(raw) };
}

/**
 * scanDataObject with the decompressed bytes written into memory from `alloc` (a
 * SharedArrayBuffer, for the verifier's worker threads) as they come, instead of into a buffer of
 * zlib's that would then be copied: on this project's VM, where first touches of fresh memory are
 * costly, the copy cost as much as decompressing. `alloc(n)` must return n writable bytes; it is
 * called once for an intact object (n from its gzip trailer) and again, larger, when the trailer
 * understates the size. Same results and errors as scanDataObject.
 */
export async function scanDataObjectInto(gz: Buffer, alloc: (size: number) => Buffer): Promise<{ raw: Buffer; ends: Float64Array }> {
  // The trailer is only a hint (a tampered object may state anything): start no larger than 256 MiB.
  let out = alloc(Math.min(Math.max(isizeHint(gz), 1), 256 * 1024 * 1024));
  let n = 0;
  // zlib writes into a fresh buffer of chunkSize for each chunk, then it is copied into `out`. One
  // chunk of the trailer's size rather than 1 MiB ones: large buffers get huge pages where malloc
  // gives them (src/cli/relaunch.ts), 1 MiB ones never do, and most page faults of a verify were
  // zlib's first writes into its chunks (perf). 500k lines, huge pages on, 1 MiB / ISIZE chunks:
  // 1.57 / 1.35 s, 2.75 / 2.45 s of CPU, 83k / 39k faults; without huge pages the same time, ~6%
  // more CPU.
  const z = createGunzip({ chunkSize: Math.min(Math.max(isizeHint(gz) + 64, 64 * 1024), 64 * 1024 * 1024) });
  z.on('data', (chunk: Buffer) => {
    if (n + chunk.length > out.length) {
      const grown = alloc(Math.max(out.length * 2, n + chunk.length));
      out.copy(grown, 0, 0, n);
      out = grown;
    }
    chunk.copy(out, n);
    n += chunk.length;
  });
  try {
    z.end(gz);
    await once(z, 'end');
  } catch (e) {
    throw new DataObjectError(`not a valid gzip stream: ${(e as Error).message}`);
  }
  const raw = out.subarray(0, n);
  return { raw, ends: splitLines(raw) };
}

/**
 * Decompressed bytes handed to visitDataLines' visitor at a time. Small enough to stay in the
 * core's cache between zlib writing them and the visitor reading them, and to come from memory
 * malloc reuses: a verify that decompressed each object whole spent ~8% of the machine's CPU
 * zeroing fresh pages (perf, clear_page_erms), the VM's first touches being costly.
 */
export const LINE_CHUNK_BYTES = 256 * 1024;

/**
 * Each line of a data object, decompressed a chunk at a time and never held whole. The visitor
 * gets runs of consecutive lines, in order: `visit(buf, start, ends, count, first)` is lines
 * first .. first+count-1 (0-based), the first one buf[start, ends[0]), each next one from one past
 * the previous end to its own (their LFs excluded). `buf` and `ends` are only valid during the call
 * (reused; a line split between chunks comes as a run of one from a buffer of its own). Returns
 * the number of lines. Throws DataObjectError with scanDataObject's message for the same bytes,
 * once the whole stream is read (so that a truncated stream with an empty line reports what
 * scanDataObject reports); no line from the first empty one on is visited.
 *
 * With the native addon the object is decompressed synchronously into one reused buffer, by the
 * zlib node:zlib uses (src/native/gunzip.c); when that zlib refuses the bytes, node:zlib's stream
 * reads them again for its error message, and the visitor is called again from line 0. `opts`
 * are for tests: the chunk size, and node:zlib's stream even with the addon.
 */
export async function visitDataLines(gz: Buffer, visit: LineRunVisitor, opts: { chunkSize?: number; zlibStream?: boolean } = {}): Promise<number> {
  const chunkSize = opts.chunkSize ?? LINE_CHUNK_BYTES;
  if (nativeAddon && !opts.zlibStream) {
    const lines = new LineSplitter(visit);
    const out = gunzipBuffer(chunkSize);
    if (nativeAddon.gunzip(gz, out, (n) => lines.chunk(out.subarray(0, n))) === 0) return lines.finish();
  }
  const lines = new LineSplitter(visit);
  const z = createGunzip({ chunkSize });
  // Each chunk is visited in a promise callback, after zlib's callback has returned: zlib has by
  // then started on the next chunk (on the libuv thread pool), so decompressing and visiting
  // overlap instead of taking turns. Chunks are visited in order, one at a time, and zlib never
  // writes again into the bytes of a chunk it has handed out.
  let visited = Promise.resolve();
  z.on('data', (chunk: Buffer) => {
    visited = visited.then(() => lines.chunk(chunk));
  });
  try {
    z.end(gz);
    await once(z, 'end');
  } catch (e) {
    throw new DataObjectError(`not a valid gzip stream: ${(e as Error).message}`);
  } finally {
    await visited; // chunk() does not throw (the visitor's errors are kept for finish())
  }
  return lines.finish();
}

export type LineRunVisitor = (buf: Buffer, start: number, ends: Float64Array, count: number, first: number) => void;

// The native path's output buffer, reused by every call in this thread (it is synchronous).
let gunzipOut: Buffer | undefined;

function gunzipBuffer(size: number): Buffer {
  if (gunzipOut?.length !== size) gunzipOut = Buffer.allocUnsafeSlow(size);
  return gunzipOut;
}

/** visitDataLines' splitting of decompressed chunks into runs of lines, and its final checks. */
class LineSplitter {
  private carry = Buffer.allocUnsafe(4096); // the start of a line the last chunk cut
  private carried = 0;
  private ends = new Float64Array(4096);
  private readonly one = new Float64Array(1);
  private n = 0; // lines so far
  private total = 0;
  private firstEmpty = 0; // 1-based number of the first empty line, 0 while none
  private visitorError: unknown;

  constructor(private readonly visit: LineRunVisitor) {}

  chunk(chunk: Buffer): void {
    this.total += chunk.length;
    let start = 0;
    if (this.carried > 0) {
      const end = chunk.indexOf(0x0a);
      if (end < 0) return this.keep(chunk, 0, chunk.length);
      this.keep(chunk, 0, end);
      if (this.firstEmpty === 0) {
        this.one[0] = this.carried;
        this.run(this.carry, 0, this.one, 1);
      }
      this.n++;
      this.carried = 0;
      start = end + 1;
    }
    const runStart = start;
    let count = 0;
    for (let end = chunk.indexOf(0x0a, start); end >= 0; start = end + 1, end = chunk.indexOf(0x0a, start)) {
      if (end === start && this.firstEmpty === 0) {
        this.firstEmpty = this.n + count + 1;
        this.run(chunk, runStart, this.ends, count); // the lines before it
      }
      if (this.firstEmpty === 0) {
        if (count === this.ends.length) {
          const grown = new Float64Array(count * 2);
          grown.set(this.ends);
          this.ends = grown;
        }
        this.ends[count] = end;
      }
      count++;
    }
    if (this.firstEmpty === 0) this.run(chunk, runStart, this.ends, count);
    this.n += count;
    if (start < chunk.length) this.keep(chunk, start, chunk.length);
  }

  /** The number of lines; throws the visitor's error, or DataObjectError as scanDataObject would. */
  finish(): number {
    if (this.visitorError !== undefined) throw this.visitorError;
    // scanDataObject's checks, in its order.
    if (this.total === 0) throw new DataObjectError('empty data object');
    if (this.carried > 0) throw new DataObjectError('last line is not terminated by LF');
    if (this.firstEmpty > 0) throw new DataObjectError(`empty line ${this.firstEmpty}`);
    return this.n;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (this.carried + to - from > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.carry.length * 2, this.carried + to - from));
      this.carry.copy(grown, 0, 0, this.carried);
      this.carry = grown;
    }
    chunk.copy(this.carry, this.carried, from, to);
    this.carried += to - from;
  }

  private run(buf: Buffer, start: number, list: Float64Array, count: number): void {
    if (count === 0 || this.visitorError !== undefined) return;
    try {
      this.visit(buf, start, list, count, this.n);
    } catch (e) {
      this.visitorError = e; // thrown by finish(): a decompressor's callback must not throw
    }
  }
}

/** ISIZE from a gzip trailer: the uncompressed size mod 2^32 of the last member (0 when too short). */
function isizeHint(gz: Buffer): number {
  return gz.length >= 4 ? gz.readUInt32LE(gz.length - 4) : 0;
}

/** The offset of each line's LF in decompressed data-object bytes; throws DataObjectError. */
function splitLines(raw: Buffer): Float64Array {
  if (raw.length === 0) throw new DataObjectError('empty data object');
  if (raw[raw.length - 1] !== 0x0a) throw new DataObjectError('last line is not terminated by LF');
  let ends = new Float64Array(1024);
  let n = 0;
  for (let start = 0; start < raw.length; ) {
    const end = raw.indexOf(0x0a, start);
    if (end === start) throw new DataObjectError(`empty line ${n + 1}`);
    if (n === ends.length) {
      const grown = new Float64Array(n * 2);
      grown.set(ends);
      ends = grown;
    }
    ends[n++] = end;
    start = end + 1;
  }
  return ends.slice(0, n);
}

export function sha256(b: Uint8Array): Buffer {
  return hash('sha256', b, 'buffer');
}
