import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { appendLines, buildDataObject, DataObjectWriter, parseDataObject } from '../../src/archive/batchfile.js';

const lines = Array.from({ length: 3000 }, (_, i) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(i % 97), u: '\u00e9\u4e2d' })));

describe('data object', () => {
  it('streamed in blocks of any size gives the bytes of the one-shot build (a resumed batch depends on it)', async () => {
    const whole = buildDataObject(lines);
    for (const block of [1, 7, 500, 2999, 3000]) {
      const w = new DataObjectWriter();
      for (let i = 0; i < lines.length; i += block) await w.write(appendLines(lines.slice(i, i + block)));
      const streamed = await w.finish();
      expect(streamed.equals(whole), `blocks of ${block}`).toBe(true);
    }
  });

  it('streamed with compressed output larger than the compressor\'s buffers still matches the one-shot build', async () => {
    // Random hex compresses only ~2:1: ~2.7 MB of output crosses several of the writer's output buffers.
    const big = Array.from({ length: 20_000 }, (_, i) => Buffer.from(JSON.stringify({ i, r: randomBytes(120).toString('hex') })));
    const whole = buildDataObject(big);
    expect(whole.length).toBeGreaterThan(2 * 1024 * 1024);
    const w = new DataObjectWriter();
    for (let i = 0; i < big.length; i += 5_000) await w.write(appendLines(big.slice(i, i + 5_000)));
    expect((await w.finish()).equals(whole)).toBe(true);
  });

  it('is each line followed by LF, gzip-compressed, and parses back to the same lines', () => {
    const gz = buildDataObject(lines.slice(0, 3));
    expect(gunzipSync(gz).toString()).toBe(lines.slice(0, 3).map((l) => l.toString() + '\n').join(''));
    expect(parseDataObject(gz).map((l) => l.toString())).toEqual(lines.slice(0, 3).map((l) => l.toString()));
  });
});
