import { describe, expect, it } from 'vitest';
import { BinaryCopyParser, type BinaryRow } from '../../src/db/copy.js';

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
      const got: BinaryRow[] = [];
      for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size), (r) => got.push(r.map((f) => (f ? Buffer.from(f) : f))));
      expect(got, `chunks of ${size}`).toEqual(rows);
      expect(p.ended).toBe(true);
    }
  });

  it('refuses a stream that is not binary COPY', () => {
    expect(() => new BinaryCopyParser().push(Buffer.from('id\tname\n1\tx\n2\ty\n3\tz\n'), () => {})).toThrow(/bad signature/);
  });
});
