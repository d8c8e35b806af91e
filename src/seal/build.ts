import { DataObjectWriter, sha256 } from '../archive/batchfile.js';
import type { Manifest } from '../archive/manifest.js';
import type { StreamId } from '../db/batches.js';
import type { RowView } from '../db/copy.js';
import { pgTimestampMs, positionOf, SEAL_COLUMN, uuidText, visitWindow, type Position, type WindowToRead } from '../db/events.js';
import type { PoolClient } from '../db/pool.js';
import type { BatchIndexBuilder } from '../holds/keyindex.js';
import { SealAlarmError } from './errors.js';
import { sharedBlock, type LeafHasher } from './hasher.js';

/**
 * Milliseconds spent per stage of sealing, summed over batches. Stages overlap (compression runs on
 * the thread pool while the next rows are read and hashed), so `read` and `compress` count only the
 * time the sealer waited for Postgres or for the compressor, not their own busy time. `rows` is the
 * sealer's own work per row: parsing it, indexing its keys, queueing its bytes for compression and
 * hashing (both done on other threads; `compress` includes waiting for the last root).
 */
export interface StageTimes {
  read: number;
  rows: number;
  compress: number;
  upload: number;
  lock: number;
  commit: number;
}

export function emptyStageTimes(): StageTimes {
  return { read: 0, rows: 0, compress: 0, upload: 0, lock: 0, commit: 0 };
}

export function addStageTimes(into: StageTimes, from: StageTimes): void {
  for (const k of Object.keys(into) as (keyof StageTimes)[]) into[k] += from[k];
}

/** Rows per block handed to the compressor: large enough to amortize it, small enough to keep memory flat. */
const PAGE_SIZE = 5_000;

export interface BuiltBatch {
  data: Buffer;
  dataSha256: Buffer;
  root: Buffer;
  count: number;
  /** The leaf-order positions of the first and last row, and the manifest's summary of the rows: undefined when the window was empty. */
  first?: Position;
  last?: Position;
  events?: Manifest['events'];
}

/**
 * Step (b) of DESIGN 5 for a window: stream the rows in leaf order into blocks of lines, each fed
 * to the gzip writer and to `hasher` for the RFC 6962 root, so only the compressed object is held. The same window
 * always gives the same bytes (resume after a crash depends on it). `index` sees every row too
 * (the sealer's hold index). An empty next window gives count 0 and nothing else of use.
 */
export async function buildBatchData(
  client: PoolClient,
  stream: StreamId,
  window: WindowToRead,
  times: StageTimes,
  index: BatchIndexBuilder,
  hasher: LeafHasher,
): Promise<BuiltBatch> {
  const C = SEAL_COLUMN;
  const tree = hasher.open();
  let count = 0;
  const writer = new DataObjectWriter();
  const summary = new Summary();
  const lines = new LineBlock();
  let mark = performance.now();
  let readAtMark = times.read;
  const visitor = {
    row(r: RowView) {
      const at = r.start[C.canonical]!;
      const length = r.length[C.canonical]!;
      lines.append(r.buf, at, length);
      count++;
      const occurred = pgTimestampMs(r.buf, r.start[C.occurred_at]!);
      summary.add(r, occurred);
      index.addRaw(r, occurred);
    },
    async page() {
      const t = performance.now();
      times.rows += t - mark - (times.read - readAtMark);
      const block = lines.take();
      tree.add(block);
      await writer.write(block);
      mark = performance.now();
      times.compress += mark - t;
      readAtMark = times.read;
    },
  };
  try {
    await visitWindow(client, stream, window, visitor, PAGE_SIZE, (ms) => (times.read += ms));
    const t = performance.now();
    const [data, hashed] = await Promise.all([writer.finish(), tree.root()]);
    times.compress += performance.now() - t;
    // Canonical bytes hold no LF, so the hasher, splitting blocks as a verifier splits the object,
    // sees one line per row; anything else would seal a root that no verifier could reproduce.
    if (hashed.count !== count) throw new SealAlarmError(`the window's ${count} rows made ${hashed.count} lines`);
    return { data, dataSha256: sha256(data), root: hashed.root, count, ...summary.result() };
  } catch (e) {
    writer.destroy();
    tree.drop();
    throw e;
  }
}

/** The lines of one page, each followed by LF, in one growing buffer: a block for DataObjectWriter. */
class LineBlock {
  // Shared memory: the hasher thread reads the blocks in place.
  private buf = sharedBlock(4 * 1024 * 1024);
  private used = 0;

  append(src: Buffer, start: number, length: number): void {
    if (this.used + length + 1 > this.buf.length) {
      const bigger = sharedBlock(Math.max(2 * this.buf.length, this.used + length + 1));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    src.copy(this.buf, this.used, start, start + length);
    this.used += length;
    this.buf[this.used++] = 0x0a;
  }

  /** The block so far; appending goes on in a new buffer (the compressor keeps this one a while). */
  take(): Buffer {
    const block = this.buf.subarray(0, this.used);
    // Sized from this page: pages are alike, and memory outside the heap drives the GC too.
    this.buf = sharedBlock(Math.max(64 * 1024, Math.ceil(this.used * 1.25)));
    this.used = 0;
    return block;
  }
}

/**
 * Event id, position and time range of a batch, from the row columns (they hold the same instants
 * as the canonical text). Times are compared as instants and written with millisecond precision
 * (docs/FORMAT.md). Only the first and last rows are named, so only they are decoded.
 */
class Summary {
  private first: { id: Buffer; txid: Buffer; seq: Buffer } | undefined;
  // The last row so far, by offsets into the bytes it was read from (those are never overwritten).
  private lastBuf: Buffer | undefined;
  private lastId = 0;
  private lastTxid = 0;
  private lastSeq = 0;
  private oMin = Infinity;
  private oMax = -Infinity;
  private rMin = Infinity;
  private rMax = -Infinity;

  add(r: RowView, occurredMs: number): void {
    const C = SEAL_COLUMN;
    const { buf, start } = r;
    this.first ??= { id: Buffer.from(r.bytes(C.event_id)!), txid: Buffer.from(r.bytes(C.txid)!), seq: Buffer.from(r.bytes(C.seq)!) };
    this.lastBuf = buf;
    this.lastId = start[C.event_id]!;
    this.lastTxid = start[C.txid]!;
    this.lastSeq = start[C.seq]!;
    const recordedMs = pgTimestampMs(buf, start[C.recorded_at]!);
    if (occurredMs < this.oMin) this.oMin = occurredMs;
    if (occurredMs > this.oMax) this.oMax = occurredMs;
    if (recordedMs < this.rMin) this.rMin = recordedMs;
    if (recordedMs > this.rMax) this.rMax = recordedMs;
  }

  result(): Pick<BuiltBatch, 'first' | 'last' | 'events'> {
    const { first, lastBuf: b } = this;
    if (!first || !b) return {};
    const iso = (t: number) => new Date(t).toISOString();
    return {
      first: positionOf(first),
      last: positionOf({ txid: b.subarray(this.lastTxid, this.lastTxid + 8), seq: b.subarray(this.lastSeq, this.lastSeq + 8) }),
      events: {
        first_event_id: uuidText(first.id),
        last_event_id: uuidText(b.subarray(this.lastId, this.lastId + 16)),
        occurred_min: iso(this.oMin),
        occurred_max: iso(this.oMax),
        recorded_min: iso(this.rMin),
        recorded_max: iso(this.rMax),
      },
    };
  }
}
