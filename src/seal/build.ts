import { appendLines, DataObjectWriter, sha256 } from '../archive/batchfile.js';
import type { Manifest } from '../archive/manifest.js';
import type { StreamId } from '../db/batches.js';
import { positionOf, streamNextWindow, streamWindow, uuidText, type Position, type SealRow } from '../db/events.js';
import type { PoolClient } from '../db/pool.js';
import { leafDigest, RootBuilder, type Digest } from '../merkle/index.js';

/**
 * Milliseconds spent per stage of sealing, summed over batches. Stages overlap (compression runs on
 * the thread pool while the next page is read and hashed), so `read` and `compress` count only the
 * time the sealer waited for Postgres or for the compressor, not their own busy time.
 */
export interface StageTimes {
  read: number;
  hash: number;
  tree: number;
  compress: number;
  upload: number;
  lock: number;
  commit: number;
}

export function emptyStageTimes(): StageTimes {
  return { read: 0, hash: 0, tree: 0, compress: 0, upload: 0, lock: 0, commit: 0 };
}

export function addStageTimes(into: StageTimes, from: StageTimes): void {
  for (const k of Object.keys(into) as (keyof StageTimes)[]) into[k] += from[k];
}

/** Rows fetched per round trip: large enough to amortize it, small enough to keep memory flat. */
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
 * What to read: a pending batch's claimed window [first, last], or the next window of up to
 * `limit` rows after `after` below the horizon (the rows read then define the window to claim).
 */
export type WindowToRead = { first: Position; last: Position } | { after: Position | undefined; horizon: bigint; limit: number };

/**
 * Step (b) of DESIGN 5 for a window: stream the rows in leaf order, hash each into the RFC 6962
 * root and feed it to the gzip writer, so only the compressed object is held. The same window
 * always gives the same bytes (resume after a crash depends on it). `perRow` sees every row too
 * (the sealer's hold index). An empty next window gives count 0 and nothing else of use.
 */
export async function buildBatchData(
  client: PoolClient,
  stream: StreamId,
  window: WindowToRead,
  times: StageTimes,
  perRow: { add(row: SealRow): void },
): Promise<BuiltBatch> {
  const tree = new RootBuilder();
  const writer = new DataObjectWriter();
  const summary = new Summary();
  const onPage = async (rows: SealRow[]) => {
    const t0 = performance.now();
    const leaves = new Array<Digest>(rows.length);
    const lines = new Array<Buffer>(rows.length);
    // One pass per row: the place to feed anything else built per batch from the row columns.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      leaves[i] = leafDigest(row.canonical);
      lines[i] = row.canonical;
      summary.add(row);
      perRow.add(row);
    }
    const t1 = performance.now();
    for (const leaf of leaves) tree.addDigest(leaf);
    const t2 = performance.now();
    const block = appendLines(lines);
    await writer.write(block);
    times.hash += t1 - t0;
    times.tree += t2 - t1;
    times.compress += performance.now() - t2;
  };
  const onWait = (ms: number) => (times.read += ms);
  try {
    if ('after' in window) {
      await streamNextWindow(client, stream, window.after, window.horizon, window.limit, PAGE_SIZE, onPage, onWait);
    } else {
      await streamWindow(client, stream, window.first, window.last, PAGE_SIZE, onPage, onWait);
    }
    const t = performance.now();
    const data = await writer.finish();
    times.compress += performance.now() - t;
    return { data, dataSha256: sha256(data), root: tree.root(), count: tree.size, ...summary.result() };
  } catch (e) {
    writer.destroy();
    throw e;
  }
}

/**
 * Event id and time range of a batch, from the row columns (they hold the same instants as the
 * canonical text). Times are compared as instants and written with millisecond precision
 * (docs/FORMAT.md).
 */
class Summary {
  // Raw rows' bytes, decoded once in result(): only the first and last of a batch are named. The
  // first row's fields are copied: a row's bytes are a view of a read chunk.
  private first: { id: Buffer; txid: Buffer; seq: Buffer } | undefined;
  private last: SealRow | undefined;
  private oMin = Infinity;
  private oMax = -Infinity;
  private rMin = Infinity;
  private rMax = -Infinity;

  add(r: SealRow): void {
    this.first ??= { id: Buffer.from(r.event_id), txid: Buffer.from(r.txid), seq: Buffer.from(r.seq) };
    this.last = r;
    if (r.occurred_ms < this.oMin) this.oMin = r.occurred_ms;
    if (r.occurred_ms > this.oMax) this.oMax = r.occurred_ms;
    if (r.recorded_ms < this.rMin) this.rMin = r.recorded_ms;
    if (r.recorded_ms > this.rMax) this.rMax = r.recorded_ms;
  }

  result(): Pick<BuiltBatch, 'first' | 'last' | 'events'> {
    const iso = (t: number) => new Date(t).toISOString();
    const { first, last } = this;
    if (!first || !last) return {};
    return {
      first: positionOf(first),
      last: positionOf(last),
      events: {
        first_event_id: uuidText(first.id),
        last_event_id: uuidText(last.event_id),
        occurred_min: iso(this.oMin),
        occurred_max: iso(this.oMax),
        recorded_min: iso(this.rMin),
        recorded_max: iso(this.rMax),
      },
    };
  }
}
