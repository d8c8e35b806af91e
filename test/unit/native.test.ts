import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { leafHash, leafHashRunJs } from '../../src/merkle/hash.js';
import { buildLevelTree, levelUpJs } from '../../src/merkle/levels.js';
import { nativeAddon, nativeAddonStatus, type NativeAddon } from '../../src/merkle/native.js';

// The addon (src/native/leafhash.c) must give node:crypto's bytes, and both must give RFC 6962's.
// `npm run build` builds it where a C compiler is found; CI has one, so there it must be loaded.

const vectors = JSON.parse(readFileSync(new URL('../fixtures/rfc6962.json', import.meta.url), 'utf8')) as {
  leaves_hex: string[];
  leaf_hashes_hex: string[];
  roots: Record<string, string>;
};

/** Lines laid out as leafHashRun takes them: one buffer, each line followed by one separator byte. */
function layout(lines: Buffer[]): { buf: Buffer; ends: Float64Array } {
  const buf = Buffer.concat(lines.flatMap((l) => [l, Buffer.from([0x0a])]));
  const ends = new Float64Array(lines.length);
  let at = 0;
  lines.forEach((l, i) => {
    ends[i] = at + l.length;
    at += l.length + 1;
  });
  return { buf, ends };
}

type Run = (buf: Uint8Array, start: number, ends: Float64Array, from: number, to: number, out: Uint8Array, outOffset: number) => void;
type Level = (cur: Buffer, next: Buffer) => void;

function rootWith(level: Level, leaves: Buffer): Buffer {
  let cur = leaves;
  while (cur.length > 32) {
    const next = Buffer.alloc(Math.ceil(cur.length / 64) * 32);
    level(cur, next);
    cur = next;
  }
  return cur;
}

const native = nativeAddon as NativeAddon | undefined;
const paths: [string, Run | undefined, Level | undefined][] = [
  ['node:crypto', leafHashRunJs, levelUpJs],
  ['native addon', native?.leaves.bind(native), native?.level.bind(native)],
];

describe('native hashing addon', () => {
  it(`is built and loaded${process.env.CI === 'true' ? ' (required in CI)' : ''}`, () => {
    if (process.env.CI === 'true' || nativeAddon) expect(nativeAddonStatus()).toMatchObject({ loaded: true });
    else expect(nativeAddonStatus().detail).toMatch(/not built|did not load|turned off/);
  });

  describe.each(paths)('%s', (_name, run, level) => {
    const skip = run === undefined; // only outside CI, where the test above says why
    it.skipIf(skip)('gives the RFC 6962 leaf hashes and roots of the known-answer vectors', () => {
      const lines = vectors.leaves_hex.map((h) => Buffer.from(h, 'hex'));
      const { buf, ends } = layout(lines);
      const out = Buffer.alloc(lines.length * 32);
      run!(buf, 0, ends, 0, lines.length, out, 0);
      expect(Array.from({ length: lines.length }, (_, i) => out.subarray(i * 32, i * 32 + 32).toString('hex'))).toEqual(vectors.leaf_hashes_hex);
      for (const [size, root] of Object.entries(vectors.roots)) {
        expect(rootWith(level!, out.subarray(0, Number(size) * 32)).toString('hex'), `root of ${size}`).toBe(root);
      }
    });

    it.skipIf(skip)('hashes any run of lines (empty ones too) into any place of out, as leafHash does one by one', () => {
      const lines = Array.from({ length: 600 }, (_, i) => (i % 50 === 7 ? Buffer.alloc(0) : randomBytes(randomInt(1, 1500))));
      const { buf, ends } = layout(lines);
      const from = 13;
      const to = 577;
      const out = Buffer.alloc((to - from + 3) * 32, 0xee);
      run!(buf, from === 0 ? 0 : ends[from - 1]! + 1, ends, from, to, out, 64);
      expect(out.subarray(0, 64).equals(Buffer.alloc(64, 0xee))).toBe(true); // before outOffset: untouched
      expect(out.subarray(64 + (to - from) * 32).equals(Buffer.alloc(32, 0xee))).toBe(true); // after: untouched
      expect(out.subarray(64, 64 + (to - from) * 32).equals(Buffer.concat(lines.slice(from, to).map((l) => leafHash(l))))).toBe(true);
    });

    it.skipIf(skip)('builds every level as buildLevelTree does, odd sizes included', () => {
      for (let n = 1; n <= 67; n++) {
        const leaves = randomBytes(n * 32);
        expect(rootWith(level!, leaves).equals(buildLevelTree(leaves).root()), `${n} leaves`).toBe(true);
      }
    });
  });

  describe.skipIf(!native)('refuses bad arguments before writing anything', () => {
    const { buf, ends } = layout([Buffer.from('abc'), Buffer.from('defg')]);
    const cases: [string, () => void][] = [
      ['line end past the buffer', () => native!.leaves(buf.subarray(0, 5), 0, ends, 0, 2, Buffer.alloc(64), 0)],
      ['line end before its start', () => native!.leaves(buf, 5, ends, 0, 2, Buffer.alloc(64), 0)],
      ['out too small', () => native!.leaves(buf, 0, ends, 0, 2, Buffer.alloc(63), 0)],
      ['out offset leaves too little room', () => native!.leaves(buf, 0, ends, 0, 2, Buffer.alloc(64), 1)],
      ['from after to', () => native!.leaves(buf, 0, ends, 2, 1, Buffer.alloc(64), 0)],
      ['to past ends', () => native!.leaves(buf, 0, ends, 0, 3, Buffer.alloc(96), 0)],
      ['fractional index', () => native!.leaves(buf, 0.5, ends, 0, 2, Buffer.alloc(64), 0)],
      ['negative start', () => native!.leaves(buf, -1, ends, 0, 2, Buffer.alloc(64), 0)],
      ['ends not a Float64Array', () => native!.leaves(buf, 0, new Uint32Array([3, 8]) as unknown as Float64Array, 0, 2, Buffer.alloc(64), 0)],
      ['buf not bytes', () => native!.leaves('abc' as unknown as Uint8Array, 0, ends, 0, 2, Buffer.alloc(64), 0)],
      ['missing argument', () => (native!.leaves as unknown as (...a: unknown[]) => void)(buf, 0, ends, 0, 2, Buffer.alloc(64))],
      ['level: next of the wrong size', () => native!.level(Buffer.alloc(96), Buffer.alloc(32))],
      ['level: cur not whole hashes', () => native!.level(Buffer.alloc(33), Buffer.alloc(32))],
      ['level: no hashes', () => native!.level(Buffer.alloc(0), Buffer.alloc(0))],
    ];
    it.each(cases)('%s', (_, call) => {
      expect(call).toThrow(RangeError);
    });

    it('a refused call leaves out as it was', () => {
      const out = Buffer.alloc(64, 0xab);
      const bad = new Float64Array([3, 100]); // the second line runs past the buffer
      expect(() => native!.leaves(buf, 0, bad, 0, 2, out, 0)).toThrow(RangeError);
      expect(out.equals(Buffer.alloc(64, 0xab))).toBe(true);
    });
  });

  describe.skipIf(!native)('gunzip', () => {
    const text = Buffer.from(Array.from({ length: 5000 }, (_, i) => `{"i":${i},"r":"${randomBytes(i % 200).toString('hex')}"}\n`).join(''));
    const gz = gzipSync(text, { level: 1 });

    /** gunzip's status and everything it handed out, chunk by chunk joined. */
    function run(bytes: Buffer, outSize: number): { status: number; out: Buffer } {
      const out = Buffer.alloc(outSize);
      const got: Buffer[] = [];
      const status = native!.gunzip(bytes, out, (n) => {
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThanOrEqual(outSize);
        got.push(Buffer.from(out.subarray(0, n)));
      });
      return { status, out: Buffer.concat(got) };
    }

    /** node:zlib's outcome: the bytes, or that it refused them. */
    function zlib(bytes: Buffer): Buffer | 'refused' {
      try {
        return gunzipSync(bytes);
      } catch {
        return 'refused';
      }
    }

    const inputs: [string, Buffer][] = [
      ['one member', gz],
      ['three members', Buffer.concat([gz, gzipSync('x\n'), gz])],
      ['empty member', gzipSync(Buffer.alloc(0))],
      ['zero padding after the end', Buffer.concat([gz, Buffer.alloc(77)])],
      ['a zero byte, then anything', Buffer.concat([gz, Buffer.from('\0\x1f\x8bjunk')])],
      ['garbage after the end', Buffer.concat([gz, Buffer.from('junk')])],
      ['truncated', gz.subarray(0, gz.length - 10)],
      ['truncated trailer', gz.subarray(0, gz.length - 2)],
      ['only a header', gz.subarray(0, 10)],
      ['nothing', Buffer.alloc(0)],
      ['not gzip', Buffer.from('plain text')],
      ['zlib, not gzip', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])],
      ['corrupt CRC', Buffer.concat([gz.subarray(0, gz.length - 8), Buffer.from([1, 2, 3, 4]), gz.subarray(gz.length - 4)])],
      ['corrupt length', Buffer.concat([gz.subarray(0, gz.length - 4), Buffer.from([1, 2, 3, 4])])],
      ['a flipped byte inside', Buffer.concat([gz.subarray(0, 500), Buffer.from([gz[500]! ^ 0xff]), gz.subarray(501)])],
    ];

    it.each(inputs)('%s: what node:zlib gives, or a refusal where it refuses', (_, bytes) => {
      const expected = zlib(bytes);
      for (const size of [1, 64, 4096, 1 << 20]) {
        const { status, out } = run(bytes, size);
        if (expected === 'refused') expect(status, `out of ${size}`).not.toBe(0);
        else {
          expect(status, `out of ${size}`).toBe(0);
          expect(out.equals(expected), `out of ${size}`).toBe(true);
        }
      }
    });

    it('the inputs above include both outcomes', () => {
      expect(inputs.map(([name, b]) => [name, zlib(b) === 'refused'])).toEqual([
        ['one member', false],
        ['three members', false],
        ['empty member', false],
        ['zero padding after the end', false],
        ['a zero byte, then anything', false],
        ['garbage after the end', true],
        ['truncated', true],
        ['truncated trailer', true],
        ['only a header', true],
        ['nothing', true],
        ['not gzip', true],
        ['zlib, not gzip', true],
        ['corrupt CRC', true],
        ['corrupt length', true],
        ['a flipped byte inside', true],
      ]);
    });

    it('an exception thrown by onOut stops it and is thrown on', () => {
      let calls = 0;
      const err = new Error('stop');
      expect(() =>
        native!.gunzip(gz, Buffer.alloc(64), () => {
          calls++;
          throw err;
        }),
      ).toThrow(err);
      expect(calls).toBe(1);
    });

    it('refuses bad arguments', () => {
      expect(() => native!.gunzip(gz, Buffer.alloc(0), () => {})).toThrow(RangeError);
      expect(() => native!.gunzip('gz' as unknown as Uint8Array, Buffer.alloc(8), () => {})).toThrow(RangeError);
      expect(() => native!.gunzip(gz, Buffer.alloc(8), 'f' as unknown as () => void)).toThrow(RangeError);
    });
  });
});
