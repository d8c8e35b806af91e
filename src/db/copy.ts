/**
 * Reading `COPY (...) TO STDOUT (FORMAT binary)`: bytea arrives as raw bytes, not as hex text that
 * the server must encode and the client decode, and a whole window streams in one statement.
 * Format: PostgreSQL docs, "COPY", section "Binary Format".
 */
import copyStreams from 'pg-copy-streams';
import type { PoolClient } from './pool.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * One row of a binary COPY stream, as offsets into the bytes it was read from: no Buffer or string
 * is made per field unless asked for (the sealer reads a million rows of eleven fields). The
 * parser reuses one RowView for every row: read what you need during the callback. The bytes
 * themselves are never overwritten, so views taken with bytes() stay valid.
 */
export class RowView {
  /** The bytes holding this row's fields (a read chunk, possibly joined with the previous one's tail). */
  buf: Buffer = Buffer.alloc(0);
  /** Number of fields. */
  count = 0;
  /** Byte offset in `buf` of each field, and its length (-1 for SQL NULL). */
  readonly start: Int32Array;
  readonly length: Int32Array;

  constructor(maxFields: number) {
    this.start = new Int32Array(maxFields);
    this.length = new Int32Array(maxFields);
  }

  /** A view of field `i` (null for NULL), sharing the row's memory. */
  bytes(i: number): Buffer | null {
    const n = this.length[i]!;
    return n < 0 ? null : this.buf.subarray(this.start[i]!, this.start[i]! + n);
  }

  /** Field `i` decoded as UTF-8 (null for NULL). */
  text(i: number): string | null {
    const n = this.length[i]!;
    return n < 0 ? null : this.buf.toString('utf8', this.start[i]!, this.start[i]! + n);
  }

  /** Every field as a copy (null for NULL). */
  toArray(): (Buffer | null)[] {
    return Array.from({ length: this.count }, (_, i) => {
      const b = this.bytes(i);
      return b === null ? null : Buffer.from(b);
    });
  }
}

/** The most fields a row may have (a row of more is a malformed stream here). */
const MAX_FIELDS = 64;

/**
 * Incremental parser of the binary COPY stream: push() chunks as they arrive, cut at any byte,
 * and get complete rows back. Throws on a malformed stream.
 */
export class BinaryCopyParser {
  private rest: Buffer = EMPTY;
  private headerDone = false;
  private readonly row = new RowView(MAX_FIELDS);
  /** True once the trailer (field count -1) was read. */
  ended = false;

  push(chunk: Buffer, onRow: (row: RowView) => void): void {
    let pos = 0;
    // A row cut by the chunk boundary is completed by joining the kept tail with just the start of
    // the chunk (growing that start only for a long row), so the rest of the chunk is parsed in
    // place: copying every chunk onto its predecessor's tail was a copy of the whole stream.
    while (this.rest.length > 0 && pos < chunk.length && !this.ended) {
      const rest = this.rest;
      let n = Math.min(chunk.length - pos, JOIN_BYTES);
      let joined: Buffer;
      let end: number;
      for (;;) {
        joined = Buffer.concat([rest, chunk.subarray(pos, pos + n)]);
        end = this.parse(joined, 0, onRow);
        if (end > 0 || pos + n === chunk.length) break;
        n = Math.min(chunk.length - pos, n * 4);
      }
      if (end === 0) {
        this.rest = joined; // the whole chunk did not complete the row: wait for more
        return;
      }
      if (end >= rest.length) {
        pos += end - rest.length;
        this.rest = EMPTY;
      } else {
        this.rest = Buffer.from(rest.subarray(end));
      }
    }
    if (this.ended) return;
    const end = this.parse(chunk, pos, onRow);
    // Keep the unparsed tail as a copy: the chunk it came from can then be released.
    this.rest = end < chunk.length ? Buffer.from(chunk.subarray(end)) : EMPTY;
  }

  /** Parse the header (once) and every complete row of `buf` from `pos`; the position after the last. */
  private parse(buf: Buffer, pos: number, onRow: (row: RowView) => void): number {
    if (!this.headerDone) {
      if (buf.length - pos < 19) return pos;
      if (!buf.subarray(pos, pos + 11).equals(SIGNATURE)) throw new Error('binary COPY: bad signature');
      const ext = buf.readUInt32BE(pos + 15);
      if (buf.length - pos < 19 + ext) return pos;
      pos += 19 + ext;
      this.headerDone = true;
    }
    const row = this.row;
    row.buf = buf;
    for (;;) {
      if (this.ended || buf.length - pos < 2) return pos;
      const start = pos;
      const n = buf.readInt16BE(pos);
      pos += 2;
      if (n === -1) {
        this.ended = true;
        return pos;
      }
      if (n < 0 || n > MAX_FIELDS) throw new Error(`binary COPY: a row of ${n} fields`);
      for (let i = 0; i < n; i++) {
        if (buf.length - pos < 4) return start;
        const len = buf.readInt32BE(pos);
        pos += 4;
        row.start[i] = pos;
        row.length[i] = len;
        if (len === -1) continue;
        if (buf.length - pos < len) return start;
        pos += len;
      }
      row.count = n;
      onRow(row);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Bytes of a new chunk first joined to a cut row's tail: more than most rows need to complete. */
const JOIN_BYTES = 16 * 1024;

/** What copyOutBinary hands rows to. */
export interface RowVisitor {
  /** Each row, synchronously, in stream order. */
  row(row: RowView): void;
  /** After every `pageSize` rows and once at the end, awaited: reading pauses meanwhile (backpressure). */
  page(): void | Promise<void>;
}

/**
 * Run `COPY (query) TO STDOUT (FORMAT binary)` on `client`, handing each row to `visitor.row` and
 * awaiting `visitor.page` every `pageSize` rows. If the visitor throws, the rest of the stream is
 * still drained, so the connection stays usable, and the error is rethrown. `onWait` receives the
 * milliseconds spent waiting for the server.
 */
export async function copyOutBinary(
  client: PoolClient,
  query: string,
  visitor: RowVisitor,
  pageSize: number,
  onWait: (ms: number) => void = () => {},
): Promise<void> {
  // A deep read-ahead buffer lets the server produce the next page while this one is handled;
  // the default 16 KiB would stall it after a few dozen rows.
  const stream = client.query(copyStreams.to(`COPY (${query}) TO STDOUT (FORMAT binary)`, { highWaterMark: READ_AHEAD_BYTES }));
  const parser = new BinaryCopyParser();
  let inPage = 0;
  let failure: { error: unknown } | undefined;
  const onRow = (row: RowView) => {
    visitor.row(row);
    inPage++;
  };
  const deliver = async () => {
    inPage = 0;
    if (failure) return;
    try {
      await visitor.page();
    } catch (error) {
      failure = { error };
    }
  };
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    const t0 = performance.now();
    const next = (await it.next()) as IteratorResult<Buffer>;
    onWait(performance.now() - t0);
    if (next.done) break;
    if (failure) continue;
    try {
      parser.push(next.value, onRow);
    } catch (error) {
      failure = { error };
      continue;
    }
    if (inPage >= pageSize) await deliver();
  }
  await deliver();
  if (failure) throw failure.error;
  if (!parser.ended) throw new Error('binary COPY: stream ended without its trailer');
}
