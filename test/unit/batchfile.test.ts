import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { appendLines, buildDataObject, DataObjectWriter, parseDataObject, scanDataObject, visitDataLines } from '../../src/archive/batchfile.js';

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

type Path = { zlibStream: boolean };
// Both ways of decompressing: the native addon's (where it is built; CI requires it, see
// native.test.ts) and node:zlib's stream.
const paths: [string, Path][] = [
  ['native gunzip', { zlibStream: false }],
  ['node:zlib stream', { zlibStream: true }],
];

/** Every line visitDataLines hands out, as strings, with the index it says each run starts at. */
async function visited(gz: Buffer, chunkSize: number | undefined, path: Path): Promise<{ lines: string[]; count: number }> {
  let out: string[] = [];
  const count = await visitDataLines(
    gz,
    (buf, start, ends, n, first) => {
      if (first === 0) out = []; // the native path's refusal makes node:zlib start over
      expect(first).toBe(out.length); // runs come in order, none skipped
      for (let i = 0, at = start; i < n; at = ends[i]! + 1, i++) out.push(buf.toString('utf8', at, ends[i]));
    },
    { ...(chunkSize ? { chunkSize } : {}), ...path },
  );
  return { lines: out, count };
}

/** scanDataObject's outcome for the same bytes: its lines, or its error message. */
function scanned(gz: Buffer): { lines: string[]; count: number } | string {
  try {
    const { raw, ends } = scanDataObject(gz);
    return { lines: Array.from(ends, (e, i) => raw.toString('utf8', i === 0 ? 0 : ends[i - 1]! + 1, e)), count: ends.length };
  } catch (e) {
    return (e as Error).message;
  }
}

async function visitedOrError(gz: Buffer, chunkSize: number | undefined, path: Path): Promise<{ lines: string[]; count: number } | string> {
  try {
    return await visited(gz, chunkSize, path);
  } catch (e) {
    expect((e as Error).name).toBe('DataObjectError');
    return (e as Error).message;
  }
}

describe.each(paths)('visitDataLines (a data object decompressed and split a chunk at a time), %s', (_, path) => {
  const gz = buildDataObject(lines);

  it('hands out every line, in order, whatever the chunk size (lines cut between chunks included)', async () => {
    // 64 bytes is zlib's smallest chunk: most lines are cut, some more than once; a line of
    // exactly a chunk's length, or a chunk ending on an LF, come up too.
    for (const size of [64, 100, 333, 4096, 256 * 1024]) {
      const got = await visited(gz, size, path);
      expect(got.count, `chunks of ${size}`).toBe(lines.length);
      expect(got.lines, `chunks of ${size}`).toEqual(lines.map((l) => l.toString()));
    }
  });

  it('a line longer than many chunks comes whole', async () => {
    const long = [Buffer.from('a'), Buffer.from('b'.repeat(10_000)), Buffer.from('c')];
    expect((await visited(buildDataObject(long), 64, path)).lines).toEqual(['a', 'b'.repeat(10_000), 'c']);
  });

  const broken: [string, Buffer][] = [
    ['empty object', gzipSync(Buffer.alloc(0))],
    ['no final LF', gzipSync('{"a":1}\n{"b":2}')],
    ['empty line in the middle', gzipSync('{"a":1}\n\n{"b":2}\n')],
    ['empty first line', gzipSync('\n{"b":2}\n')],
    ['empty line and no final LF', gzipSync('{"a":1}\n\n{"b":2}')],
    ['not gzip', Buffer.from('plain text\n')],
    ['truncated', gz.subarray(0, gz.length - 50)],
    ['trailing garbage', Buffer.concat([gz, Buffer.from('junk')])],
    ['two members', Buffer.concat([buildDataObject(lines.slice(0, 10)), buildDataObject(lines.slice(10, 20))])],
    ['zero padding after the end', Buffer.concat([gz, Buffer.alloc(100)])],
    ['a zero byte, then garbage', Buffer.concat([gz, Buffer.from('\0junk')])],
    ['a member, then a truncated one', Buffer.concat([gz, gz.subarray(0, 30)])],
    ['corrupt CRC', Buffer.concat([gz.subarray(0, gz.length - 8), Buffer.from([0, 0, 0, 0]), gz.subarray(gz.length - 4)])],
  ];

  it.each(broken)('%s: the outcome scanDataObject has (lines, or the same error)', async (_, bytes) => {
    const expected = scanned(bytes);
    for (const size of [64, 256 * 1024]) expect(await visitedOrError(bytes, size, path)).toEqual(expected);
  });

  it('the corpus above has errors in it', () => {
    expect(broken.map(([name, b]) => [name, typeof scanned(b) === 'string'])).toEqual([
      ['empty object', true],
      ['no final LF', true],
      ['empty line in the middle', true],
      ['empty first line', true],
      ['empty line and no final LF', true],
      ['not gzip', true],
      ['truncated', true],
      ['trailing garbage', true],
      ['two members', false],
      ['zero padding after the end', false],
      ['a zero byte, then garbage', false],
      ['a member, then a truncated one', true],
      ['corrupt CRC', true],
    ]);
  });

  it('visits no line from the first empty one on, and still counts them all', async () => {
    const seen: number[] = [];
    const bytes = gzipSync('1\n2\n\n4\n5\n');
    await expect(visitDataLines(bytes, (_b, _s, _e, n, first) => seen.push(...Array.from({ length: n }, (_, i) => first + i)), path)).rejects.toThrow(
      'empty line 3',
    );
    expect(seen).toEqual([0, 1]);
  });

  it("a visitor's error is thrown once the stream is read, and it is visited no more", async () => {
    let calls = 0;
    const err = new Error('visitor failed');
    await expect(
      visitDataLines(
        gz,
        () => {
          calls++;
          throw err;
        },
        { chunkSize: 64, ...path },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });
});
