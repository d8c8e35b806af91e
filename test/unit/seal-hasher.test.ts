import { afterAll, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../src/events/canonical.js';
import { EMPTY_ROOT, leafHash, merkleRoot } from '../../src/merkle/index.js';
import { LeafHasher, sharedBlock } from '../../src/seal/hasher.js';

/** `count` canonical lines of varied lengths (some multi-byte), and their RFC 6962 root computed leaf by leaf. */
function lines(count: number, tag: string) {
  const ls = Array.from({ length: count }, (_, i) => canonicalBytes({ event_id: `${tag}-${i}`, note: 'é✓'.repeat(i % 7), pad: 'x'.repeat((i * 37) % 500) }));
  return { ls, root: merkleRoot(ls.map((l) => leafHash(l))) };
}

/** The lines as blocks of LF-terminated lines, cut after the given line counts, in shared or plain buffers. */
function blocks(ls: Buffer[], cuts: number[], shared: boolean): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, ls.length]) {
    const bytes = Buffer.concat(ls.slice(from, to).flatMap((l) => [l, Buffer.from('\n')]));
    const b = shared ? sharedBlock(bytes.length) : Buffer.alloc(bytes.length);
    bytes.copy(b);
    out.push(b);
    from = to;
  }
  return out;
}

describe.each([
  ['on a worker thread', true],
  ['in the calling thread', false],
])('LeafHasher %s', (_name, thread) => {
  const hasher = new LeafHasher({ thread });
  afterAll(() => hasher.close());

  it('gives the RFC 6962 root and line count of the lines, however they are cut into blocks', async () => {
    for (const [count, cuts] of [
      [1, []],
      [2, [1]],
      [7, [3, 3, 6]],
      [1000, [1, 2, 500, 999]],
      [5000, [4096]],
    ] as [number, number[]][]) {
      const { ls, root } = lines(count, `c${count}`);
      for (const shared of [true, false]) {
        const tree = hasher.open();
        for (const b of blocks(ls, cuts, shared)) tree.add(b);
        await expect(tree.root()).resolves.toEqual({ root, count });
      }
    }
  });

  it('keeps the trees of concurrent batches apart', async () => {
    const a = lines(300, 'a');
    const b = lines(301, 'b');
    const ta = hasher.open();
    const tb = hasher.open();
    const ba = blocks(a.ls, [100, 200], true);
    const bb = blocks(b.ls, [150], true);
    ta.add(ba[0]!);
    tb.add(bb[0]!);
    ta.add(ba[1]!);
    tb.add(bb[1]!);
    ta.add(ba[2]!);
    const [ra, rb] = await Promise.all([ta.root(), tb.root()]);
    expect(ra).toEqual({ root: a.root, count: 300 });
    expect(rb).toEqual({ root: b.root, count: 301 });
    expect(ra.root.equals(rb.root)).toBe(false);
  });

  it('gives the empty root for no lines', async () => {
    await expect(hasher.open().root()).resolves.toEqual({ root: EMPTY_ROOT, count: 0 });
  });

  it('refuses a block whose last line has no LF, naming nothing of later blocks', async () => {
    const tree = hasher.open();
    tree.add(Buffer.from('{"a":1}\n{"b":2}'));
    tree.add(Buffer.from('{"c":3}\n'));
    await expect(tree.root()).rejects.toThrow(/does not end with LF/);
    // The hasher goes on serving other trees.
    const { ls, root } = lines(3, 'after');
    const next = hasher.open();
    for (const b of blocks(ls, [], true)) next.add(b);
    await expect(next.root()).resolves.toEqual({ root, count: 3 });
  });
});

it('a closed LeafHasher rejects roots asked for', async () => {
  const hasher = new LeafHasher({ thread: true });
  const tree = hasher.open();
  tree.add(Buffer.from('{}\n'));
  await hasher.close();
  await expect(tree.root()).rejects.toThrow(/closed/);
});
