import { hash } from 'node:crypto';
import { once } from 'node:events';
import type { TransformOptions } from 'node:stream';
import { constants, createGunzip, createGzip, gunzipSync, gzipSync, type Gzip, type ZlibOptions } from 'node:zlib';

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
 * scanDataObject reports); no line from the first empty one on is visited. `chunkSize` is for tests.
 */
export async function visitDataLines(
  gz: Buffer,
  visit: (buf: Buffer, start: number, ends: Float64Array, count: number, first: number) => void,
  chunkSize = LINE_CHUNK_BYTES,
): Promise<number> {
  const z = createGunzip({ chunkSize });
  let carry = Buffer.allocUnsafe(4096); // the start of a line the last chunk cut
  let carried = 0;
  let ends = new Float64Array(4096);
  const one = new Float64Array(1);
  let n = 0; // lines so far
  let total = 0;
  let firstEmpty = 0; // 1-based number of the first empty line, 0 while none
  let visitorError: unknown;
  const keep = (chunk: Buffer, from: number, to: number) => {
    if (carried + to - from > carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(carry.length * 2, carried + to - from));
      carry.copy(grown, 0, 0, carried);
      carry = grown;
    }
    chunk.copy(carry, carried, from, to);
    carried += to - from;
  };
  const run = (buf: Buffer, start: number, list: Float64Array, count: number) => {
    if (count > 0 && visitorError === undefined) {
      try {
        visit(buf, start, list, count, n);
      } catch (e) {
        visitorError = e; // rethrown once the stream is done: zlib's callback must not throw
      }
    }
  };
  const onChunk = (chunk: Buffer) => {
    total += chunk.length;
    let start = 0;
    if (carried > 0) {
      const end = chunk.indexOf(0x0a);
      if (end < 0) return keep(chunk, 0, chunk.length);
      keep(chunk, 0, end);
      if (firstEmpty === 0) {
        one[0] = carried;
        run(carry, 0, one, 1);
      }
      n++;
      carried = 0;
      start = end + 1;
    }
    const runStart = start;
    let count = 0;
    for (let end = chunk.indexOf(0x0a, start); end >= 0; start = end + 1, end = chunk.indexOf(0x0a, start)) {
      if (end === start && firstEmpty === 0) {
        firstEmpty = n + count + 1;
        run(chunk, runStart, ends, count); // the lines before it
      }
      if (firstEmpty === 0) {
        if (count === ends.length) {
          const grown = new Float64Array(count * 2);
          grown.set(ends);
          ends = grown;
        }
        ends[count] = end;
      }
      count++;
    }
    if (firstEmpty === 0) run(chunk, runStart, ends, count);
    n += count;
    if (start < chunk.length) keep(chunk, start, chunk.length);
  };
  // Each chunk is visited in a promise callback, after zlib's callback has returned: zlib has by
  // then started on the next chunk (on the libuv thread pool), so decompressing and visiting
  // overlap instead of taking turns. Chunks are visited in order, one at a time, and zlib never
  // writes again into the bytes of a chunk it has handed out.
  let visited = Promise.resolve();
  z.on('data', (chunk: Buffer) => {
    visited = visited.then(() => onChunk(chunk));
  });
  try {
    z.end(gz);
    await once(z, 'end');
  } catch (e) {
    throw new DataObjectError(`not a valid gzip stream: ${(e as Error).message}`);
  } finally {
    await visited; // onChunk does not throw (the visitor's errors are kept in visitorError)
  }
  if (visitorError !== undefined) throw visitorError;
  // scanDataObject's checks, in its order.
  if (total === 0) throw new DataObjectError('empty data object');
  if (carried > 0) throw new DataObjectError('last line is not terminated by LF');
  if (firstEmpty > 0) throw new DataObjectError(`empty line ${firstEmpty}`);
  return n;
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
