import { describe, expect, it } from 'vitest';
import { BinaryCopyRows, CopyEncodeError, putBytea, putByteaText, putRowStart, putText, putTimestamptz, putUuid, SlabPool } from '../../src/db/copy-in.js';

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** What putTimestamptz must write for `iso`: microseconds since 2000-01-01, from Date (ms) plus the digits beyond. */
function expectedMicros(iso: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/.exec(iso)!;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); // Date.UTC would read year 99 as 1999
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  return BigInt(d.getTime() - PG_EPOCH_MS) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0'));
}

function field(write: (buf: Buffer, o: number) => number): { length: number; body: Buffer } {
  const buf = Buffer.alloc(256);
  const end = write(buf, 0);
  const length = buf.readInt32BE(0);
  expect(end).toBe(4 + Math.max(length, 0));
  return { length, body: buf.subarray(4, end) };
}

describe('binary COPY fields', () => {
  it('timestamptz: microseconds since 2000-01-01 UTC, for every year and fraction length', () => {
    const cases = [
      '2000-01-01T00:00:00Z',
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59.5Z',
      '1999-12-31T23:59:59.999999Z',
      '2026-11-23T17:05:09.1Z',
      '2026-11-23T17:05:09.12Z',
      '2026-11-23T17:05:09.123Z',
      '2026-11-23T17:05:09.1234Z',
      '2026-11-23T17:05:09.12345Z',
      '2026-11-23T17:05:09.000001Z',
      '2024-02-29T12:00:00Z',
      '2000-02-29T00:00:00Z',
      '0001-01-01T00:00:00Z', // beyond 2^53 µs: the BigInt path
      '0099-03-01T00:00:00Z',
      '1582-10-10T00:00:00Z', // proleptic Gregorian, as PostgreSQL
      '1715-06-01T00:00:00.000001Z',
      '9999-12-31T23:59:59.999999Z',
    ];
    for (const iso of cases) {
      const { length, body } = field((b, o) => putTimestamptz(b, o, iso));
      expect(length, iso).toBe(8);
      expect(body.readBigInt64BE(0), iso).toBe(expectedMicros(iso));
    }
    // And against Date for random instants of the last and next centuries.
    for (let i = 0; i < 2000; i++) {
      const iso = new Date(Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 200 * 365.25 * 86_400_000)).toISOString();
      expect(field((b, o) => putTimestamptz(b, o, iso)).body.readBigInt64BE(0), iso).toBe(BigInt(Date.parse(iso) - PG_EPOCH_MS) * 1000n);
    }
  });

  it('timestamptz: refuses anything but normalized UTC text, and impossible dates', () => {
    for (const bad of [
      '2026-11-23T17:05:09+00:00',
      '2026-11-23 17:05:09Z',
      '2026-11-23T17:05:09z',
      '2026-11-23T17:05:09.1234567Z',
      '2026-11-23T17:05:09.Z',
      '2026-11-23T17:05Z',
      '2026-13-01T00:00:00Z',
      '2026-00-01T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '0000-01-01T00:00:00Z',
      '+02026-01-01T00:00:00Z',
      '2026-1a-01T00:00:00Z',
      '',
    ]) {
      expect(() => putTimestamptz(Buffer.alloc(64), 0, bad), bad).toThrow(CopyEncodeError);
    }
  });

  it('uuid: the 16 bytes of either case, anything else refused', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(field((b, o) => putUuid(b, o, id)).body.toString('hex')).toBe(id.replace(/-/g, ''));
    expect(field((b, o) => putUuid(b, o, id.toUpperCase())).body.toString('hex')).toBe(id.replace(/-/g, ''));
    for (const bad of ['0f8fad5bd9cb469fa16570867728950e', '0f8fad5b-d9cb-469f-a165-70867728950', '0f8fad5b-d9cb-469f-a165-70867728950g', 'gf8fad5b-d9cb-469f-a165-70867728950e', '0f8fad5b-d9cb-469f-a165_70867728950e']) {
      expect(() => putUuid(Buffer.alloc(64), 0, bad), bad).toThrow(CopyEncodeError);
    }
  });

  it('text: UTF-8 bytes with their length, NULL for a missing value', () => {
    for (const s of ['', 'u_jo_77', 'José', 'é✓x', 'mixed ascii then 日本語', '😀 emoji', 'tab\tand\\backslash\nnewline']) {
      const { length, body } = field((b, o) => putText(b, o, s));
      expect(body.toString('utf8'), s).toBe(s);
      expect(length, s).toBe(Buffer.byteLength(s));
    }
    expect(field((b, o) => putText(b, o, undefined)).length).toBe(-1);
    expect(field((b, o) => putText(b, o, null)).length).toBe(-1);
  });

  it('bytea and row starts, and a writer that grows', () => {
    const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
    expect(field((b, o) => putBytea(b, o, bytes)).body.equals(bytes)).toBe(true);
    const w = new BinaryCopyRows(8);
    for (let i = 0; i < 100; i++) {
      const buf = w.reserve(2 + 4 + bytes.length);
      w.at = putBytea(buf, putRowStart(buf, w.at, 1), bytes);
    }
    const out = w.take();
    expect(out.length).toBe(100 * 206);
    expect(out.readInt16BE(206 * 99)).toBe(1);
    expect(out.subarray(206 * 99 + 6).equals(bytes)).toBe(true);
    expect(w.take().length).toBe(0);
  });

  it('hands out views that later rows never overwrite, across slabs', () => {
    const w = new BinaryCopyRows(64);
    const taken: Buffer[] = [];
    const rows: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.alloc(1 + (i % 37), i & 0xff);
      const buf = w.reserve(2 + 4 + bytes.length);
      w.at = putBytea(buf, putRowStart(buf, w.at, 1), bytes);
      rows.push(bytes);
      // Take after a varying number of rows, so some rows wait across a slab change.
      if (i % 7 === 3) taken.push(w.take());
    }
    taken.push(w.take());
    const all = Buffer.concat(taken);
    let o = 0;
    for (const bytes of rows) {
      expect(all.readInt16BE(o)).toBe(1);
      expect(all.readInt32BE(o + 2)).toBe(bytes.length);
      expect(all.subarray(o + 6, o + 6 + bytes.length).equals(bytes)).toBe(true);
      o += 6 + bytes.length;
    }
    expect(o).toBe(all.length);
  });

  it('bytea from text: the UTF-8 bytes in place, and a wrong length refused', () => {
    for (const text of ['{"a":"b"}', 'é€😀 and ascii', '']) {
      const bytes = Buffer.from(text, 'utf8');
      expect(field((b, o) => putByteaText(b, o, text, bytes.length)).body.equals(bytes), text).toBe(true);
      // A length that is not the text's: both shorter and longer are refused, not truncated or padded.
      if (bytes.length > 0) expect(() => putByteaText(Buffer.alloc(256), 0, text, bytes.length - 1)).toThrow(CopyEncodeError);
      expect(() => putByteaText(Buffer.alloc(256), 0, text, bytes.length + 1)).toThrow(CopyEncodeError);
    }
    // No room for the bytes: refused, whatever the length says.
    expect(() => putByteaText(Buffer.alloc(10), 0, 'abcdefghij', 10)).toThrow(CopyEncodeError);
  });

  it('recycles slabs through a pool only when told, and never shares one between live writers', () => {
    const pool = new SlabPool(256, 2);
    const a = new BinaryCopyRows(pool.bytes, pool);
    const b = new BinaryCopyRows(pool.bytes, pool);
    expect(a.buf).not.toBe(b.buf);
    const row = Buffer.alloc(100, 7); // 106 bytes a row: two fit in a slab
    const write = (w: BinaryCopyRows) => {
      const buf = w.reserve(2 + 4 + row.length);
      w.at = putBytea(buf, putRowStart(buf, w.at, 1), row);
    };
    write(a);
    write(a);
    a.take();
    const slabA1 = a.buf;
    write(a); // a third row does not fit: a takes another slab
    const slabA2 = a.buf;
    expect(slabA2).not.toBe(slabA1);
    a.take();
    write(b);
    const viewB = b.take();
    a.recycle();
    // a's two slabs are kept; the next two writers get them, the third a new one, and b's rows
    // are untouched by all three.
    const c = new BinaryCopyRows(pool.bytes, pool);
    const d = new BinaryCopyRows(pool.bytes, pool);
    const e = new BinaryCopyRows(pool.bytes, pool);
    expect([c.buf, d.buf].filter((x) => x === slabA1 || x === slabA2)).toHaveLength(2);
    expect(c.buf).not.toBe(d.buf);
    expect([slabA1, slabA2, b.buf]).not.toContain(e.buf);
    for (const w of [c, d, e]) {
      write(w);
      w.take();
    }
    expect(viewB.readInt32BE(2)).toBe(row.length);
    expect(viewB.subarray(6).equals(row)).toBe(true);
    // At most `max` slabs are kept, and only of the pool's size.
    const [slabC, slabD, slabE] = [c.buf, d.buf, e.buf];
    c.recycle();
    d.recycle();
    e.recycle();
    pool.put(Buffer.alloc(512));
    const f = [0, 1, 2].map(() => new BinaryCopyRows(pool.bytes, pool).buf);
    expect(f.filter((x) => x === slabC || x === slabD)).toHaveLength(2);
    expect(f).not.toContain(slabE);
    expect(f.every((x) => x.length === 256)).toBe(true);
  });
});
