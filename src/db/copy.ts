/**
 * Reading `COPY (...) TO STDOUT (FORMAT binary)`: bytea arrives as raw bytes, not as hex text that
 * the server must encode and the client decode, and a whole window streams in one statement.
 * Format: PostgreSQL docs, "COPY", section "Binary Format".
 */
import copyStreams from 'pg-copy-streams';
import type { PoolClient } from './pool.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/** One row: each field's raw binary value, null for SQL NULL. Valid until the callback returns. */
export type BinaryRow = (Buffer | null)[];

/**
 * Incremental parser of the binary COPY stream: push() chunks as they arrive, cut at any byte,
 * and get complete rows back. Throws on a malformed stream.
 */
export class BinaryCopyParser {
  private rest: Buffer = Buffer.alloc(0);
  private headerDone = false;
  /** True once the trailer (field count -1) was read. */
  ended = false;

  push(chunk: Buffer, onRow: (row: BinaryRow) => void): void {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let pos = 0;
    if (!this.headerDone) {
      if (buf.length < 19) {
        this.rest = buf;
        return;
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('binary COPY: bad signature');
      const ext = buf.readUInt32BE(15);
      if (buf.length < 19 + ext) {
        this.rest = buf;
        return;
      }
      pos = 19 + ext;
      this.headerDone = true;
    }
    for (;;) {
      if (this.ended || buf.length - pos < 2) break;
      const start = pos;
      const n = buf.readInt16BE(pos);
      pos += 2;
      if (n === -1) {
        this.ended = true;
        break;
      }
      const row: BinaryRow = new Array(n);
      let complete = true;
      for (let i = 0; i < n; i++) {
        if (buf.length - pos < 4) {
          complete = false;
          break;
        }
        const len = buf.readInt32BE(pos);
        pos += 4;
        if (len === -1) {
          row[i] = null;
          continue;
        }
        if (buf.length - pos < len) {
          complete = false;
          break;
        }
        row[i] = buf.subarray(pos, pos + len);
        pos += len;
      }
      if (!complete) {
        pos = start;
        break;
      }
      onRow(row);
    }
    // Keep the unparsed tail as a copy: the chunk it came from can then be released.
    this.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
  }
}

/**
 * Run `COPY (query) TO STDOUT (FORMAT binary)` on `client`, handing rows to `onRows` in pages of
 * `pageSize`, awaited (backpressure: reading pauses meanwhile). If `onRows` throws, the rest of
 * the stream is still drained, so the connection stays usable, and the error is rethrown.
 * `onWait` receives the milliseconds spent waiting for the server.
 */
export async function copyOutBinary<T>(
  client: PoolClient,
  query: string,
  decode: (row: BinaryRow) => T,
  pageSize: number,
  onRows: (rows: T[]) => void | Promise<void>,
  onWait: (ms: number) => void = () => {},
): Promise<void> {
  // A deep read-ahead buffer lets the server produce the next page while this one is handled;
  // the default 16 KiB would stall it after a few dozen rows.
  const stream = client.query(copyStreams.to(`COPY (${query}) TO STDOUT (FORMAT binary)`, { highWaterMark: READ_AHEAD_BYTES }));
  const parser = new BinaryCopyParser();
  let page: T[] = [];
  let failure: { error: unknown } | undefined;
  const deliver = async () => {
    const rows = page;
    page = [];
    if (failure || rows.length === 0) return;
    try {
      await onRows(rows);
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
    parser.push(next.value, (row) => page.push(decode(row)));
    if (page.length >= pageSize) await deliver();
  }
  await deliver();
  if (failure) throw failure.error;
  if (!parser.ended) throw new Error('binary COPY: stream ended without its trailer');
}
