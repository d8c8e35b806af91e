import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  ProofError,
  RootMismatchError,
  RootBuilder,
  buildTree,
  consistencyProof,
  inclusionProof,
  isValidConsistency,
  isValidInclusion,
  digestBytes,
  leafDigest,
  leafHash,
  merkleRoot,
  nodeDigest,
  nodeHash,
  toDigest,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';

interface InclusionCase {
  index: number | bigint;
  size: number | bigint;
  path: string[];
  leaf_hash?: string;
  root?: string;
}
interface ConsistencyCase {
  size1: number | bigint;
  size2: number | bigint;
  proof: string[];
  root1?: string;
  root2?: string;
}
interface Probe {
  file: string;
  desc: string;
  wantErr: boolean;
}
interface Rfc6962Vectors {
  leaves_hex: string[];
  leaf_hashes_hex: string[];
  roots: Record<string, string>;
  empty_root: string;
  node_hashes_by_level: Record<string, string[]>;
  inclusion: (InclusionCase & { leaf_hash: string; root: string })[];
  inclusion_all_computed: InclusionCase[];
  consistency: (ConsistencyCase & { root1: string; root2: string })[];
  consistency_all_computed: ConsistencyCase[];
  probes_inclusion: (InclusionCase & Probe & { leaf_hash: string; root: string })[];
  probes_consistency: (ConsistencyCase & Probe & { root1: string; root2: string })[];
}

// The probes hold indexes up to 2^64-1, which JSON.parse would round. With source-text access
// (Node >= 21) integers beyond 2^53 become exact bigints, as a verifier reading a bundle would do.
const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/rfc6962.json', import.meta.url), 'utf8'),
  (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined
      ? BigInt(context.source)
      : value,
) as Rfc6962Vectors;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');
const unhexAll = (list: string[]): Buffer[] => list.map(unhex);

const leaves = vectors.leaf_hashes_hex.map(unhex);
const rootOf = (size: number | bigint): Buffer => unhex(vectors.roots[String(size)] as string);
const leafAt = (index: number | bigint): Buffer => leaves[Number(index)] as Buffer;

function errorOf(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
const isVerificationError = (err: unknown): boolean => err instanceof ProofError || err instanceof RootMismatchError;

describe('RFC 6962 known answers', () => {
  it('fixture keeps exact 64-bit integers', () => {
    expect(vectors.probes_inclusion.some((p) => p.index === 18446744073709551615n)).toBe(true);
  });

  it('leaf hashes are SHA-256(0x00 ‖ data) of the eight standard leaves', () => {
    expect(vectors.leaves_hex).toHaveLength(8);
    expect(vectors.leaves_hex.map((d) => hex(leafHash(unhex(d))))).toEqual(vectors.leaf_hashes_hex);
  });

  it('empty tree root is SHA-256 of the empty string', () => {
    expect(hex(EMPTY_ROOT)).toBe(vectors.empty_root);
    expect(hex(merkleRoot([]))).toBe(vectors.empty_root);
    expect(buildTree([]).size).toBe(0);
  });

  it.each(Object.keys(vectors.roots))('root of the first %s leaves', (size) => {
    expect(hex(merkleRoot(leaves.slice(0, Number(size))))).toBe(vectors.roots[size]);
  });

  it('roots cover sizes 1..8', () => {
    expect(Object.keys(vectors.roots).map(Number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it.each(Object.entries(vectors.node_hashes_by_level))('interior nodes at level %s', (level, nodes) => {
    const width = 2 ** Number(level);
    nodes.forEach((node, j) => {
      // The node over leaves [j·2^level, (j+1)·2^level) is the root of that slice...
      expect(hex(merkleRoot(leaves.slice(j * width, (j + 1) * width)))).toBe(node);
      // ...and the node hash of its two children one level down.
      const below =
        Number(level) === 1 ? vectors.leaf_hashes_hex : (vectors.node_hashes_by_level[String(Number(level) - 1)] ?? []);
      expect(hex(nodeHash(unhex(below[2 * j] as string), unhex(below[2 * j + 1] as string)))).toBe(node);
    });
  });

  describe('inclusion proofs', () => {
    const published = vectors.inclusion.map((c) => ({ ...c, name: `published ${c.index}/${c.size}` }));
    const computed = vectors.inclusion_all_computed.map((c) => ({
      ...c,
      leaf_hash: hex(leafAt(c.index)),
      root: hex(rootOf(c.size)),
      name: `computed ${c.index}/${c.size}`,
    }));

    it('computed set covers every leaf of sizes 1..8', () => {
      expect(computed).toHaveLength(36);
      expect(published).toHaveLength(5);
    });

    it.each([...published, ...computed])('$name is generated exactly', (c) => {
      expect(inclusionProof(leaves.slice(0, Number(c.size)), Number(c.index)).map(hex)).toEqual(c.path);
      expect(hex(leafAt(c.index))).toBe(c.leaf_hash);
    });

    it.each([...published, ...computed])('$name verifies', (c) => {
      const input = { leafHash: unhex(c.leaf_hash), index: c.index, size: c.size, path: unhexAll(c.path), root: unhex(c.root) };
      expect(() => verifyInclusion(input)).not.toThrow();
      expect(isValidInclusion({ ...input, index: BigInt(c.index), size: BigInt(c.size) })).toBe(true);
    });
  });

  describe('consistency proofs', () => {
    const published = vectors.consistency.map((c) => ({ ...c, name: `published ${c.size1}->${c.size2}` }));
    const computed = vectors.consistency_all_computed.map((c) => ({
      ...c,
      root1: hex(rootOf(c.size1)),
      root2: hex(rootOf(c.size2)),
      name: `computed ${c.size1}->${c.size2}`,
    }));

    it('computed set covers every pair 1 <= size1 <= size2 <= 8', () => {
      expect(computed).toHaveLength(36);
      expect(published).toHaveLength(5);
    });

    it.each([...published, ...computed])('$name is generated exactly', (c) => {
      expect(consistencyProof(leaves.slice(0, Number(c.size2)), Number(c.size1)).map(hex)).toEqual(c.proof);
    });

    it.each([...published, ...computed])('$name verifies', (c) => {
      const input = { size1: c.size1, size2: c.size2, proof: unhexAll(c.proof), root1: unhex(c.root1), root2: unhex(c.root2) };
      expect(() => verifyConsistency(input)).not.toThrow();
      expect(isValidConsistency(input)).toBe(true);
    });
  });

  describe('inclusion probes (transparency-dev/merkle testdata)', () => {
    it('has both verdicts', () => {
      expect(vectors.probes_inclusion).toHaveLength(98);
      expect(vectors.probes_inclusion.filter((p) => !p.wantErr)).toHaveLength(6);
    });

    it.each(vectors.probes_inclusion.map((p) => ({ ...p, name: `${p.file}: ${p.desc}` })))('$name', (p) => {
      const input = { leafHash: unhex(p.leaf_hash), index: p.index, size: p.size, path: unhexAll(p.path), root: unhex(p.root) };
      if (p.wantErr) {
        expect(errorOf(() => verifyInclusion(input))).toSatisfy(isVerificationError);
        expect(isValidInclusion(input)).toBe(false);
      } else {
        expect(() => verifyInclusion(input)).not.toThrow();
        expect(isValidInclusion(input)).toBe(true);
      }
    });
  });

  describe('consistency probes (transparency-dev/merkle testdata)', () => {
    it('has both verdicts', () => {
      expect(vectors.probes_consistency).toHaveLength(98);
      expect(vectors.probes_consistency.filter((p) => !p.wantErr)).toHaveLength(6);
    });

    it.each(vectors.probes_consistency.map((p) => ({ ...p, name: `${p.file}: ${p.desc}` })))('$name', (p) => {
      const input = { size1: p.size1, size2: p.size2, proof: unhexAll(p.proof), root1: unhex(p.root1), root2: unhex(p.root2) };
      if (p.wantErr) {
        expect(errorOf(() => verifyConsistency(input))).toSatisfy(isVerificationError);
        expect(isValidConsistency(input)).toBe(false);
      } else {
        expect(() => verifyConsistency(input)).not.toThrow();
        expect(isValidConsistency(input)).toBe(true);
      }
    });
  });
});

describe('verification errors', () => {
  const good = { leafHash: leafAt(5), index: 5, size: 8, path: unhexAll(vectors.inclusion[2]?.path ?? []), root: rootOf(8) };

  it('the base case is valid', () => {
    expect(vectors.inclusion[2]?.index).toBe(5);
    expect(() => verifyInclusion(good)).not.toThrow();
  });

  it('RootMismatchError carries both roots as hex', () => {
    const wrongRoot = rootOf(7);
    try {
      verifyInclusion({ ...good, root: wrongRoot });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RootMismatchError);
      expect((err as RootMismatchError).expected).toBe(vectors.roots['7']);
      expect((err as RootMismatchError).computed).toBe(vectors.roots['8']);
    }
  });

  it('names which root a consistency proof fails to reproduce', () => {
    const c = vectors.consistency[2];
    if (c === undefined) throw new Error('fixture changed');
    const input = { size1: c.size1, size2: c.size2, proof: unhexAll(c.proof), root1: unhex(c.root1), root2: unhex(c.root2) };
    expect(() => verifyConsistency({ ...input, root1: rootOf(5) })).toThrow(/root1 \(size 6\)/);
    expect(() => verifyConsistency({ ...input, root2: rootOf(7) })).toThrow(/root2 \(size 8\)/);
  });

  it.each([
    ['index = size', { index: 8 }, /leaf index 8 is not below tree size 8/],
    ['2^64 - 1 as bigint', { index: 2n ** 64n - 1n }, /leaf index 18446744073709551615 is not below tree size 8/],
    ['2^64 is not uint64', { size: 2n ** 64n }, /size must be an integer in \[0, 2\^64\)/],
    ['negative index', { index: -1 }, /index must be an integer/],
    ['unsafe number (rounded 2^64-1)', { index: 18446744073709551615 }, /index must be an integer/],
    ['fractional size', { size: 8.5 }, /size must be an integer/],
    ['short leaf hash', { leafHash: Buffer.alloc(31) }, /leaf hash is 31 bytes, not 32/],
    ['empty path element', { path: [Buffer.alloc(0), ...good.path.slice(1)] }, /path\[0\] is 0 bytes/],
    ['path one hash too long', { path: [...good.path, rootOf(1)] }, /more than leaf 5 of a tree of size 8 needs/],
    ['path one hash too short', { path: good.path.slice(0, 2) }, /fewer than leaf 5 of a tree of size 8 needs/],
  ])('ProofError: %s', (_name, change, message) => {
    expect(() => verifyInclusion({ ...good, ...change })).toThrow(ProofError);
    expect(() => verifyInclusion({ ...good, ...change })).toThrow(message);
  });

  it('accepts bigint index and size', () => {
    expect(() => verifyInclusion({ ...good, index: 5n, size: 8n })).not.toThrow();
  });

  it('consistency sizes beyond 2^53 are refused as numbers and checked as bigints', () => {
    const base = { proof: [rootOf(1)], root1: rootOf(1), root2: rootOf(2) };
    expect(() => verifyConsistency({ ...base, size1: 1, size2: 2 ** 60 })).toThrow(/size2 must be an integer/);
    expect(() => verifyConsistency({ ...base, size1: 1n, size2: 2n ** 60n })).toThrow(ProofError);
    expect(() => verifyConsistency({ ...base, size1: 2n ** 64n - 1n, size2: 1n })).toThrow(/size1 18446744073709551615 is larger than size2 1/);
  });
});

describe('tree building', () => {
  it('RootBuilder (our root) agrees with merkletreejs (the RFC 6962 construction of DESIGN 2) at every size', () => {
    const random = prng(0x7007);
    const list = Array.from({ length: 600 }, (_, i) => leafHash(Buffer.from(`leaf ${i} ${random()}`)));
    const builder = new RootBuilder();
    expect(hex(builder.root())).toBe(vectors.empty_root);
    for (let n = 1; n <= list.length; n++) {
      builder.add(list[n - 1]!);
      const expected = hex(buildTree(list.slice(0, n)).root());
      expect(hex(builder.root()), `size ${n}`).toBe(expected);
      expect(hex(merkleRoot(list.slice(0, n))), `size ${n}`).toBe(expected);
    }
    expect(builder.size).toBe(600);
  });

  it('refuses leaf hashes that are not 32 bytes', () => {
    expect(() => merkleRoot([leafAt(0), Buffer.alloc(33)])).toThrow(/leafHashes\[1\] is not a 32-byte hash/);
  });

  it('refuses proofs for leaves or sizes outside the tree', () => {
    expect(() => inclusionProof(leaves, 8)).toThrow(RangeError);
    expect(() => inclusionProof(leaves, -1)).toThrow(RangeError);
    expect(() => inclusionProof([], 0)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 0)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 9)).toThrow(RangeError);
  });

  it('returns copies, so callers cannot corrupt shared state', () => {
    merkleRoot([]).fill(0);
    expect(hex(EMPTY_ROOT)).toBe(vectors.empty_root);
    const tree = buildTree(leaves.slice(0, 1));
    tree.root().fill(0);
    expect(hex(tree.root())).toBe(vectors.roots['1']);
    expect(hex(leafAt(0))).toBe(vectors.leaf_hashes_hex[0]);
  });

  it('options that break RFC 6962: duplicateOdd and sortPairs', () => {
    const [a, b, c] = leaves as [Buffer, Buffer, Buffer];
    const pair = (data: Buffer): Buffer => nodeHash(data.subarray(0, 32), data.subarray(32));
    // RFC 6962: MTH(a,b,c) = H(H(a,b), c).
    expect(hex(merkleRoot([a, b, c]))).toBe(vectors.roots['3']);
    expect(merkleRoot([a, b, c]).equals(nodeHash(nodeHash(a, b), c))).toBe(true);

    // duplicateOdd pairs c with itself: H(H(a,b), H(c,c)) — a different root...
    const duplicated = new MerkleTree([a, b, c], pair, { duplicateOdd: true }).getRoot();
    expect(duplicated.equals(nodeHash(nodeHash(a, b), nodeHash(c, c)))).toBe(true);
    expect(hex(duplicated)).not.toBe(vectors.roots['3']);
    // ...shared by a different leaf list (the CVE-2012-2459 ambiguity); RFC 6962 keeps them apart.
    expect(new MerkleTree([a, b, c, c], pair, { duplicateOdd: true }).getRoot().equals(duplicated)).toBe(true);
    expect(merkleRoot([a, b, c, c]).equals(merkleRoot([a, b, c]))).toBe(false);

    // sortPairs makes the order of two leaves invisible in the root.
    const sortedAB = new MerkleTree([a, b], pair, { sortPairs: true }).getRoot();
    const sortedBA = new MerkleTree([b, a], pair, { sortPairs: true }).getRoot();
    expect(sortedAB.equals(sortedBA)).toBe(true);
    expect(merkleRoot([a, b]).equals(merkleRoot([b, a]))).toBe(false);
  });
});

// Reference RFC 6962 §2.1 definitions written from the text, independent of merkletreejs, over
// leaves [lo, hi). Memoised per leaf list so every leaf of a 300-leaf tree stays cheap.
function reference(list: readonly Buffer[]) {
  const memo = new Map<string, Buffer>();
  const split = (n: number): number => {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  };
  const mth = (lo: number, hi: number): Buffer => {
    const key = `${lo}:${hi}`;
    let hash = memo.get(key);
    if (hash === undefined) {
      const k = split(hi - lo);
      hash = hi - lo === 1 ? (list[lo] as Buffer) : nodeHash(mth(lo, lo + k), mth(lo + k, hi));
      memo.set(key, hash);
    }
    return hash;
  };
  const path = (m: number, lo: number, hi: number): Buffer[] => {
    if (hi - lo === 1) return [];
    const k = split(hi - lo);
    return m < k ? [...path(m, lo, lo + k), mth(lo + k, hi)] : [...path(m - k, lo + k, hi), mth(lo, lo + k)];
  };
  return { root: () => mth(0, list.length), path: (m: number) => path(m, 0, list.length) };
}

/** Which side each sibling of PATH(m, D[n]) is on; a path verifies for (m, n) only with this shape. */
function pathShape(m: number, n: number): string {
  if (n === 1) return '';
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}

function prng(seed: number): () => number {
  // mulberry32: a fixed seed makes every run check the same trees.
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('property: random trees of 1..300 leaves', () => {
  const random = prng(0x5eed);
  const int = (n: number): number => Math.floor(random() * n);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 300];
  while (sizes.length < 24) sizes.push(1 + int(300));

  const flipBit = (hash: Buffer, bit: number): Buffer => {
    const copy = Buffer.from(hash);
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
    return copy;
  };

  it.each(sizes)('size %i: every proof verifies, and every tampering fails', (size) => {
    const list = Array.from({ length: size }, () => leafHash(Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256)))));
    const ref = reference(list);
    const tree = buildTree(list);
    const root = tree.root();
    expect(hex(root)).toBe(hex(ref.root()));

    for (let index = 0; index < size; index++) {
      const path = tree.inclusionProof(index);
      expect(path.map(hex)).toEqual(ref.path(index).map(hex));
      const input = { leafHash: list[index] as Buffer, index, size, path, root };
      verifyInclusion(input);

      path.forEach((_, j) => {
        const tampered = path.map((h, k) => (k === j ? flipBit(h, int(256)) : h));
        expect(() => verifyInclusion({ ...input, path: tampered })).toThrow(RootMismatchError);
      });
      expect(() => verifyInclusion({ ...input, leafHash: flipBit(input.leafHash, int(256)) })).toThrow(RootMismatchError);
      for (const other of [index - 1, index + 1, index ^ (1 << int(9))]) {
        if (other === index || other < 0) continue;
        expect(isValidInclusion({ ...input, index: other })).toBe(false);
      }
      // The path does not bind the size: it passes for another size exactly when that size gives
      // leaf `index` the same path shape. The root is what pins the size (see verifyInclusion).
      for (const other of [size - 1, size + 1, size + 1 + int(300), 2 * size]) {
        if (other === size || other <= index) continue;
        expect(isValidInclusion({ ...input, size: other })).toBe(pathShape(index, other) === pathShape(index, size));
      }
    }

    for (const size1 of [1, size, 1 + int(size), 1 + int(size)]) {
      const proof = consistencyProof(list, size1);
      const input = { size1, size2: size, proof, root1: merkleRoot(list.slice(0, size1)), root2: root };
      expect(hex(input.root1)).toBe(hex(reference(list.slice(0, size1)).root()));
      verifyConsistency(input);
      proof.forEach((_, j) => {
        const tampered = proof.map((h, k) => (k === j ? flipBit(h, int(256)) : h));
        expect(isValidConsistency({ ...input, proof: tampered })).toBe(false);
      });
      if (size1 < size) expect(isValidConsistency({ ...input, size1: size1 + 1 })).toBe(false);
    }
  });

  it('the size is pinned by the root, not the path', () => {
    const list = leaves.slice(0, 5);
    const input = { leafHash: leafAt(0), index: 0, size: 5, path: inclusionProof(list, 0), root: rootOf(5) };
    expect(pathShape(0, 6)).toBe(pathShape(0, 5));
    expect(isValidInclusion({ ...input, size: 6 })).toBe(true);
    expect(isValidInclusion({ ...input, size: 6, root: rootOf(6) })).toBe(false);
  });

  it('flipping any one bit of any path hash fails (exhaustive, leaf 5 of 8)', () => {
    const path = inclusionProof(leaves, 5);
    const input = { leafHash: leafAt(5), index: 5, size: 8, path, root: rootOf(8) };
    let rejected = 0;
    path.forEach((_, j) => {
      for (let bit = 0; bit < 256; bit++) {
        const tampered = path.map((h, k) => (k === j ? flipBit(h, bit) : h));
        if (!isValidInclusion({ ...input, path: tampered })) rejected++;
      }
    });
    expect(rejected).toBe(3 * 256);
  });
});

describe('digests (latin1 strings) on the hot paths', () => {
  const sha = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();

  it('leafDigest and nodeDigest are the RFC 6962 hashes of leafHash and nodeHash, byte for byte', () => {
    for (const size of [0, 1, 31, 32, 33, 64, 65, 507, 70_000]) {
      const data = randomBytes(size);
      const leaf = leafDigest(data);
      expect(leaf).toHaveLength(32);
      expect(digestBytes(leaf).equals(sha(Buffer.from([0]), data))).toBe(true);
      expect(digestBytes(leaf).equals(leafHash(data))).toBe(true);
    }
    for (let i = 0; i < 200; i++) {
      const [l, r] = [randomBytes(32), randomBytes(32)];
      const node = nodeDigest(toDigest(l), toDigest(r));
      expect(digestBytes(node).equals(sha(Buffer.from([1]), l, r))).toBe(true);
      expect(digestBytes(node).equals(nodeHash(l, r))).toBe(true);
    }
  });

  it('toDigest reads a view at its own offset, and bytes 0x80-0xff survive the round trip', () => {
    const backing = Buffer.from(Array.from({ length: 96 }, (_, i) => (i * 37 + 200) % 256));
    const view = backing.subarray(40, 72);
    expect(digestBytes(toDigest(view)).equals(view)).toBe(true);
    expect(digestBytes(toDigest(new Uint8Array(view))).equals(view)).toBe(true);
  });

  it('nodeDigest refuses inputs that are not 32-byte digests', () => {
    expect(() => nodeDigest('short', toDigest(randomBytes(32)))).toThrow(RangeError);
  });

  it('RootBuilder gives the same root whether leaves come as Buffers or as digests', () => {
    for (const n of [1, 2, 3, 7, 8, 1000, 1025]) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`event ${i}`)));
      const a = new RootBuilder();
      const b = new RootBuilder();
      for (const l of leaves) {
        a.add(l);
        b.addDigest(toDigest(l));
      }
      expect(b.root().equals(a.root())).toBe(true);
      expect(a.root().equals(buildTree(leaves).root())).toBe(true);
    }
  });
});
