/**
 * Writing `COPY ... FROM STDIN (FORMAT binary)` rows: each field is its length and the bytes of the
 * type's binary form, so bytea goes as raw bytes (text COPY doubles it into hex, which the client
 * encodes and the server decodes) and uuid and timestamptz need no text parsing by the server.
 * Format: PostgreSQL docs, "COPY", section "Binary Format"; copy.ts reads the same format.
 */
import { COPY_SIGNATURE } from './copy.js';

/** What a binary COPY stream starts with: the signature, flags 0, no header extension. */
export const COPY_BINARY_HEADER: Buffer = Buffer.concat([COPY_SIGNATURE, Buffer.alloc(8)]);
/** What it ends with: a field count of -1. */
export const COPY_BINARY_TRAILER: Buffer = Buffer.from([0xff, 0xff]);

/** A value the writer cannot encode: the COPY must not be sent (a bug upstream of the writer). */
export class CopyEncodeError extends Error {
  override name = 'CopyEncodeError';
}

/** Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const TWO_32 = 2 ** 32;

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (the calendar of both PostgreSQL and JS
 * Date), in integer arithmetic: Date.UTC maps years 0-99 to 1900-1999.
 */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/**
 * Slabs of COPYs that have finished, kept for the next ones (at most `max` of `bytes` each). A
 * slab is written once per row by a CPU that reaches each of its pages first: on a VM where the
 * first touch of a 4 KB page costs about 10 µs, a fresh 1 MiB slab costs as much as encoding 1,800
 * rows, and ingest used three per 5,000 events.
 */
export class SlabPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bytes: number,
    private readonly max: number,
  ) {}

  /** A slab of at least `min` bytes: a kept one when it is big enough. */
  get(min: number): Buffer {
    if (min <= this.bytes) {
      const kept = this.free.pop();
      if (kept) return kept;
    }
    return Buffer.allocUnsafe(Math.max(this.bytes, min));
  }

  /** Keep `slab` for later: only when nothing will read or write it again. */
  put(slab: Buffer): void {
    if (slab.length === this.bytes && this.free.length < this.max) this.free.push(slab);
  }
}

/**
 * The buffer binary COPY rows are written into: reserve() room for a row, write its fields from
 * `at` with the put* functions (each returns the offset after what it wrote), set `at` to the end
 * of the row; take() hands over the rows written since the last take().
 *
 * Rows are written into a slab and handed over as views of it, so a slice of a few dozen rows
 * costs no allocation: a fresh buffer per take() was a third of the encoding time (its memory
 * outside the heap also drives the GC). A full slab is left to the views still using it; with a
 * SlabPool, recycle() gives every slab back once no view is in use any more.
 */
export class BinaryCopyRows {
  buf: Buffer;
  /** Where the next row starts. */
  at = 0;
  /** Where the rows not yet taken start. */
  private from = 0;
  /** Full slabs, given back to the pool with the current one by recycle(). */
  private readonly full: Buffer[] = [];

  constructor(
    private readonly slab = 1024 * 1024,
    private readonly pool?: SlabPool,
  ) {
    this.buf = pool ? pool.get(slab) : Buffer.allocUnsafe(slab);
  }

  /** Make room for `bytes` more bytes after `at`; returns the buffer to write them into. */
  reserve(bytes: number): Buffer {
    if (this.at + bytes > this.buf.length) {
      // Only the rows not yet taken move: views handed out keep the old slab.
      const pending = this.at - this.from;
      const need = Math.max(this.slab, 2 * (pending + bytes));
      const next = this.pool ? this.pool.get(need) : Buffer.allocUnsafe(need);
      this.buf.copy(next, 0, this.from, this.at);
      this.full.push(this.buf);
      this.buf = next;
      this.from = 0;
      this.at = pending;
    }
    return this.buf;
  }

  /** The rows written since the last take(): a view, never written again by this writer. */
  take(): Buffer {
    const out = this.buf.subarray(this.from, this.at);
    this.from = this.at;
    return out;
  }

  /**
   * Give the slabs to the pool, for a writer that is done: the caller vouches that no view taken
   * from it is read any more (for a COPY: the server has confirmed it, so the socket has sent every
   * byte). The writer must not be used after.
   */
  recycle(): void {
    if (!this.pool) return;
    for (const slab of this.full) this.pool.put(slab);
    this.pool.put(this.buf);
    this.full.length = 0;
    this.buf = Buffer.alloc(0);
    this.at = this.from = 0;
  }
}

function putLength(buf: Buffer, o: number, n: number): number {
  buf[o] = n >>> 24;
  buf[o + 1] = n >>> 16;
  buf[o + 2] = n >>> 8;
  buf[o + 3] = n;
  return o + 4;
}

/** The start of a row of `fields` fields; exactly that many fields must follow. */
export function putRowStart(buf: Buffer, o: number, fields: number): number {
  buf[o] = fields >>> 8;
  buf[o + 1] = fields;
  return o + 2;
}

/** text (and varchar) as UTF-8, the server's and the connection's encoding; SQL NULL for null/undefined. */
export function putText(buf: Buffer, o: number, s: string | null | undefined): number {
  if (s === null || s === undefined) return putLength(buf, o, -1);
  const n = s.length;
  const at = o + 4;
  // Short ASCII strings (nearly every column value) byte by byte: a native write per field
  // costs more than the copy.
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[at + i] = c;
  }
  const bytes = i === n ? n : i + buf.write(s.slice(i), at + i, 'utf8');
  putLength(buf, o, bytes);
  return at + bytes;
}

export function putBytea(buf: Buffer, o: number, b: Buffer): number {
  putLength(buf, o, b.length);
  b.copy(buf, o + 4);
  return o + 4 + b.length;
}

/**
 * bytea holding the UTF-8 encoding of `text`, whose length in bytes the caller already knows:
 * encoded in place, with no Buffer in between. A wrong `byteLength` throws CopyEncodeError.
 */
export function putByteaText(buf: Buffer, o: number, text: string, byteLength: number): number {
  putLength(buf, o, byteLength);
  // Room for one byte more where there is some, so that a longer text shows as written > length.
  const written = buf.write(text, o + 4, Math.min(byteLength + 1, buf.length - o - 4), 'utf8');
  if (written !== byteLength) throw new CopyEncodeError(`text is not ${byteLength} bytes of UTF-8 (${written} written)`);
  return o + 4 + byteLength;
}

/** uuid (20 bytes) from its 8-4-4-4-12 hex text, either case; anything else throws CopyEncodeError. */
export function putUuid(buf: Buffer, o: number, s: string): number {
  if (s.length !== 36 || s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') throw new CopyEncodeError(`not a uuid: ${JSON.stringify(s)}`);
  o = putLength(buf, o, 16);
  for (let i = 0; i < 36; i += 2) {
    if (i === 8 || i === 13 || i === 18 || i === 23) i++;
    const hi = nibble(s.charCodeAt(i));
    const lo = nibble(s.charCodeAt(i + 1));
    if ((hi | lo) < 0) throw new CopyEncodeError(`not a uuid: ${JSON.stringify(s)}`);
    buf[o++] = (hi << 4) | lo;
  }
  return o;
}

/**
 * timestamptz (12 bytes) from normalized UTC text, YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z with a year from
 * 0001 (what normalizeTimestamp and Date.toISOString give): int64 microseconds since 2000-01-01
 * UTC, the instant the server would parse from the text. Anything else throws CopyEncodeError.
 */
export function putTimestamptz(buf: Buffer, o: number, iso: string): number {
  const n = iso.length;
  const places = n - 21; // fractional digits, when there is a '.'
  const y = digits(iso, 0, 4);
  const mo = digits(iso, 5, 7);
  const d = digits(iso, 8, 10);
  const h = digits(iso, 11, 13);
  const mi = digits(iso, 14, 16);
  const se = digits(iso, 17, 19);
  const subsecond = n === 20 ? 0 : digits(iso, 20, n - 1) * 10 ** (6 - places);
  // digits() is -1 for anything but digits. The server refuses an impossible date given as text;
  // given as a number, it would store whatever instant the fields add up to.
  if (iso.charCodeAt(4) !== 0x2d || iso.charCodeAt(7) !== 0x2d || iso.charCodeAt(10) !== 0x54 || iso.charCodeAt(13) !== 0x3a ||
    iso.charCodeAt(16) !== 0x3a || iso.charCodeAt(n - 1) !== 0x5a || (n !== 20 && (places < 1 || places > 6 || iso.charCodeAt(19) !== 0x2e)) ||
    y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 || subsecond < 0) {
    throw new CopyEncodeError(`not a normalized UTC timestamp: ${JSON.stringify(iso)}`);
  }
  const seconds = (daysFromCivil(y, mo, d) - PG_EPOCH_DAYS) * 86_400 + h * 3_600 + mi * 60 + se;
  const micros = seconds * 1_000_000 + subsecond;
  o = putLength(buf, o, 8);
  if (Number.isSafeInteger(micros)) {
    // Exact for any safe integer: the high word is floored, the low word is what remains.
    const hi = Math.floor(micros / TWO_32);
    buf.writeInt32BE(hi, o);
    buf.writeUInt32BE(micros - hi * TWO_32, o + 4);
    return o + 8;
  }
  // Beyond ±2^53 µs (about 285 years from 2000) the product above was rounded.
  return buf.writeBigInt64BE(BigInt(seconds) * 1_000_000n + BigInt(subsecond), o);
}

/** The decimal number in s[from, to), or -1 if any character there is not a digit. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || Number.isNaN(c)) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  c |= 0x20; // a-f, A-F
  return c >= 97 && c <= 102 ? c - 87 : -1;
}
