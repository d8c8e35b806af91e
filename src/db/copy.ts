/**
 * Reading `COPY (...) TO STDOUT (FORMAT binary)`: bytea arrives as raw bytes, not as hex text that
 * the server must encode and the client decode, and a whole window streams in one statement.
 * Format: PostgreSQL docs, "COPY", section "Binary Format".
 */
import type { PoolClient } from './pool.js';

/** The 11 bytes a binary COPY stream starts with. */
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

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

  /** Parse `chunk[start, end)`, the next bytes of the stream. */
  push(chunk: Buffer, onRow: (row: RowView) => void, start = 0, end = chunk.length): void {
    let pos = start;
    // A row cut by the chunk boundary is completed by joining the kept tail with just the start of
    // the chunk (growing that start only for a long row), so the rest of the chunk is parsed in
    // place: copying every chunk onto its predecessor's tail was a copy of the whole stream.
    while (this.rest.length > 0 && pos < end && !this.ended) {
      const rest = this.rest;
      let n = Math.min(end - pos, JOIN_BYTES);
      let joined: Buffer;
      let stop: number;
      for (;;) {
        joined = Buffer.concat([rest, chunk.subarray(pos, pos + n)]);
        stop = this.parse(joined, 0, joined.length, onRow);
        if (stop > 0 || pos + n === end) break;
        n = Math.min(end - pos, n * 4);
      }
      if (stop === 0) {
        this.rest = joined; // the whole chunk did not complete the row: wait for more
        return;
      }
      if (stop >= rest.length) {
        pos += stop - rest.length;
        this.rest = EMPTY;
      } else {
        this.rest = Buffer.from(rest.subarray(stop));
      }
    }
    if (this.ended) return;
    const stop = this.parse(chunk, pos, end, onRow);
    // Keep the unparsed tail as a copy: the chunk it came from can then be released.
    this.rest = stop < end ? Buffer.from(chunk.subarray(stop, end)) : EMPTY;
  }

  /** Parse the header (once) and every complete row of `buf[pos, end)`; the position after the last. */
  private parse(buf: Buffer, pos: number, end: number, onRow: (row: RowView) => void): number {
    if (!this.headerDone) {
      if (end - pos < 19) return pos;
      if (!buf.subarray(pos, pos + 11).equals(COPY_SIGNATURE)) throw new Error('binary COPY: bad signature');
      const ext = buf.readUInt32BE(pos + 15);
      if (end - pos < 19 + ext) return pos;
      pos += 19 + ext;
      this.headerDone = true;
    }
    const row = this.row;
    row.buf = buf;
    for (;;) {
      if (this.ended || end - pos < 2) return pos;
      const start = pos;
      const n = int16(buf, pos);
      pos += 2;
      if (n === -1) {
        this.ended = true;
        return pos;
      }
      if (n < 0 || n > MAX_FIELDS) throw new Error(`binary COPY: a row of ${n} fields`);
      for (let i = 0; i < n; i++) {
        if (end - pos < 4) return start;
        const len = int32(buf, pos);
        pos += 4;
        row.start[i] = pos;
        row.length[i] = len;
        if (len === -1) continue;
        if (end - pos < len) return start;
        pos += len;
      }
      row.count = n;
      onRow(row);
    }
  }
}

const EMPTY = Buffer.alloc(0);

// Big-endian integers read by hand, the caller having checked the bytes are there: Buffer's
// readInt32BE and kin check their arguments on every call, and a verify reads three of them for
// each of a million 32-byte rows (with them, parsing was ~0.4 µs a row, --cpu-prof).
function uint32(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function int32(b: Buffer, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function int16(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16)) >> 16;
}

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
  const reader = new CopyOutReader(`COPY (${query}) TO STDOUT (FORMAT binary)`, {
    data(buf, start, end) {
      if (failure) return;
      try {
        parser.push(buf, onRow, start, end);
      } catch (error) {
        failure = { error };
      }
    },
    afterChunk: () => (inPage >= pageSize ? deliver() : undefined),
    onWait,
  });
  client.query(reader as unknown as Parameters<PoolClient['query']>[0]);
  await reader.done;
  await deliver();
  if (failure) throw failure.error;
  if (!parser.ended) throw new Error('binary COPY: stream ended without its trailer');
}

const MESSAGE = { copyOutResponse: 0x48, copyData: 0x64, copyDone: 0x63, notice: 0x4e, parameterStatus: 0x53, notification: 0x41 } as const;

interface CopyOutSink {
  /** One CopyData payload, `buf[start, end)`, valid as long as `buf` is (never overwritten). */
  data(buf: Buffer, start: number, end: number): void;
  /** After each chunk read from the socket: reading pauses until a returned promise settles. */
  afterChunk(): Promise<void> | undefined;
  onWait(ms: number): void;
}

/**
 * A pg query object (pg calls submit() with the connection) for `COPY ... TO STDOUT`. While the
 * COPY runs it takes the connection's socket from pg's protocol parser, as pg-copy-streams does,
 * and hands each CopyData payload to the sink as a range of the bytes read: a row costs neither a
 * message object, nor a Buffer, nor a copy. At CopyDone, or at any message other than CopyData and
 * the ones the protocol lets interleave, the rest of the bytes go back to pg, which reports
 * CommandComplete, an error, and ReadyForQuery to this object as to any query.
 */
class CopyOutReader {
  readonly done: Promise<void>;
  private settle!: (error?: unknown) => void;
  private socket!: NodeJS.ReadableStream & { pause(): void; resume(): void };
  private pgOnData!: (chunk: Buffer) => void;
  // An incomplete message from the end of the last chunk.
  private cut: Buffer = EMPTY;
  private attached = false;
  private idleSince = performance.now();
  private readonly onChunk = (chunk: Buffer) => this.chunk(chunk);

  constructor(
    private readonly text: string,
    private readonly sink: CopyOutSink,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settle = (error) => {
        if (settled) return;
        settled = true;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
  }

  /** Called by pg when the query's turn comes; an error returned is reported to handleError. */
  submit(connection: { stream: CopyOutReader['socket']; query(text: string): void }): Error | undefined {
    const socket = connection.stream;
    const listeners = socket.listeners('data');
    if (listeners.length !== 1) return new Error(`COPY TO: expected pg's one data listener on the socket, found ${listeners.length}`);
    this.socket = socket;
    this.pgOnData = listeners[0] as (chunk: Buffer) => void;
    socket.removeListener('data', this.pgOnData);
    socket.on('data', this.onChunk);
    this.attached = true;
    connection.query(this.text);
    return undefined;
  }

  handleError(error: unknown): void {
    this.detach(EMPTY);
    this.settle(error);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.settle();
  }

  private chunk(chunk: Buffer): void {
    this.sink.onWait(performance.now() - this.idleSince);
    let pos = 0;
    if (this.cut.length > 0) {
      // Complete the cut message with just the bytes it lacks (its header first, then the rest of
      // it), then go on in place.
      if (this.cut.length < 5) {
        pos = Math.min(5 - this.cut.length, chunk.length);
        this.cut = Buffer.concat([this.cut, chunk.subarray(0, pos)]);
        if (this.cut.length < 5) return this.paused();
      }
      const whole = 1 + this.cut.readUInt32BE(1);
      const more = Math.min(whole - this.cut.length, chunk.length - pos);
      this.cut = Buffer.concat([this.cut, chunk.subarray(pos, pos + more)]);
      pos += more;
      if (this.cut.length < whole) return this.paused();
      const message = this.cut;
      this.cut = EMPTY;
      if (!this.message(message, 0, message.length)) return this.detach(Buffer.concat([message, chunk.subarray(pos)]));
      if (!this.attached) return this.detach(chunk.subarray(pos));
    }
    while (pos < chunk.length) {
      if (chunk.length - pos < 5 || chunk.length - pos < 1 + uint32(chunk, pos + 1)) {
        this.cut = Buffer.from(chunk.subarray(pos));
        break;
      }
      const end = pos + 1 + uint32(chunk, pos + 1);
      if (!this.message(chunk, pos, end)) return this.detach(chunk.subarray(pos));
      pos = end;
      if (!this.attached) return this.detach(chunk.subarray(pos));
    }
    this.paused();
  }

  /** After a chunk: wait for the sink if it asks to. */
  private paused(): void {
    const wait = this.sink.afterChunk();
    if (!wait) {
      this.idleSince = performance.now();
      return;
    }
    this.socket.pause();
    void wait.finally(() => {
      this.idleSince = performance.now();
      if (this.attached) this.socket.resume();
    });
  }

  /**
   * Handle the message buf[pos, end) (whole in `buf`). False for one pg must see (from its first
   * byte); at CopyDone, true and `attached` is cleared: the bytes after it are pg's.
   */
  private message(buf: Buffer, pos: number, end: number): boolean {
    switch (buf[pos]) {
      case MESSAGE.copyData:
        this.sink.data(buf, pos + 5, end);
        return true;
      case MESSAGE.copyDone:
        this.attached = false;
        return true;
      case MESSAGE.copyOutResponse:
      case MESSAGE.notice:
      case MESSAGE.parameterStatus:
      case MESSAGE.notification:
        return true; // may arrive during a COPY; nothing to do with them here
      default:
        return false;
    }
  }

  /** Give the socket back to pg, with the bytes it has to parse next. */
  private detach(rest: Buffer): void {
    if (this.socket === undefined || this.socket.listeners('data').includes(this.pgOnData)) return;
    this.attached = false;
    this.socket.removeListener('data', this.onChunk);
    this.socket.on('data', this.pgOnData);
    this.socket.resume();
    if (rest.length > 0) this.pgOnData(rest);
  }
}
