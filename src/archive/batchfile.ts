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
