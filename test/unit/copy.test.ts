import { describe, expect, it } from 'vitest';
import { BinaryCopyParser } from '../../src/db/copy.js';
import { pgTimestampMs, uuidText } from '../../src/db/events.js';

// A binary COPY stream as PostgreSQL writes it: signature, flags, header extension, tuples, trailer.
function stream(rows: (Buffer | null)[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4), Buffer.from([0, 0, 0, 2, 7, 7])];
  for (const r of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(r.length);
    parts.push(n);
    for (const f of r) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(f === null ? -1 : f.length);
      parts.push(len, ...(f === null ? [] : [f]));
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const rows = [
  [Buffer.from('a'), null, Buffer.from('{"x":1}')],
  [Buffer.alloc(0), Buffer.from('\u00e9', 'utf8'), Buffer.alloc(300, 1)],
];

describe('binary COPY parser', () => {
  it('gives the same rows however the stream is cut into chunks', () => {
    const bytes = stream(rows);
    for (const size of [1, 2, 3, 5, 19, 20, 64, bytes.length]) {
      const p = new BinaryCopyParser();
      const got: (Buffer | null)[][] = [];
      const texts: (string | null)[] = [];
      for (let i = 0; i < bytes.length; i += size) {
        p.push(bytes.subarray(i, i + size), (r) => {
          got.push(r.toArray());
          texts.push(r.text(1));
        });
      }
      expect(got, `chunks of ${size}`).toEqual(rows);
      expect(texts).toEqual([null, '\u00e9']);
      expect(p.ended).toBe(true);
    }
  });

  it('gives the same rows for long rows and many rows cut at random points (cut rows are joined, the rest parsed in place)', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const many = Array.from({ length: 400 }, (_, i) => [
      Buffer.from(String(i)),
      i % 9 === 0 ? null : Buffer.alloc(i % 50 === 0 ? 70_000 + i : 1 + rand(900), i % 251),
      Buffer.from('{"i":' + i + '}'),
    ]);
    const bytes = stream(many);
    for (const max of [3, 100, 5_000, 20_000, 200_000]) {
      const p = new BinaryCopyParser();
      const got: (Buffer | null)[][] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + rand(max);
        p.push(bytes.subarray(i, i + n), (r) => got.push(r.toArray()));
        i += n;
      }
      expect(got, `chunks up to ${max}`).toEqual(many);
      expect(p.ended).toBe(true);
    }
  });

  it('keeps field views valid after later chunks are parsed (the sealer holds them across pages)', () => {
    const bytes = stream(rows);
    const p = new BinaryCopyParser();
    const views: (Buffer | null)[] = [];
    for (let i = 0; i < bytes.length; i += 7) p.push(bytes.subarray(i, i + 7), (r) => views.push(r.bytes(2)));
    expect(views).toEqual([rows[0]![2], rows[1]![2]]);
  });

  it('refuses a stream that is not binary COPY', () => {
    expect(() => new BinaryCopyParser().push(Buffer.from('id\tname\n1\tx\n2\ty\n3\tz\n'), () => {})).toThrow(/bad signature/);
  });
});

describe('binary column values the sealer decodes', () => {
  const micros = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };

  it('timestamptz (microseconds since 2000-01-01 UTC) becomes floored epoch milliseconds', () => {
    expect(pgTimestampMs(micros(0n))).toBe(Date.parse('2000-01-01T00:00:00Z'));
    expect(pgTimestampMs(micros(999n))).toBe(Date.parse('2000-01-01T00:00:00Z'));
    expect(pgTimestampMs(micros(-1n))).toBe(Date.parse('1999-12-31T23:59:59.999Z'));
    const t = Date.parse('2026-11-23T13:45:06.789Z');
    const us = BigInt(t - Date.parse('2000-01-01T00:00:00Z')) * 1000n + 654n;
    expect(pgTimestampMs(micros(us))).toBe(t);
    const far = Date.parse('2250-06-30T23:59:59.999Z');
    expect(pgTimestampMs(micros(BigInt(far - Date.parse('2000-01-01T00:00:00Z')) * 1000n + 999n))).toBe(far);
  });

  it('uuid bytes are written in the canonical lowercase 8-4-4-4-12 form', () => {
    const id = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff';
    expect(uuidText(Buffer.from(id.replaceAll('-', ''), 'hex'))).toBe(id);
  });
});
