import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildLevelTree, buildTree, leafHash, verifyInclusion } from '../../src/merkle/index.js';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(createHash('sha256').update(String(i)).digest()));

describe('level tree (fast audit paths for prove and export)', () => {
  it('has the RFC 6962 root and RFC 9162-verifiable paths for every leaf of trees of 1..70 leaves', () => {
    for (let n = 1; n <= 70; n++) {
      const l = leaves(n);
      const t = buildLevelTree(Buffer.concat(l));
      const ref = buildTree(l);
      expect(t.root().equals(ref.root())).toBe(true);
      for (let i = 0; i < n; i++) {
        expect(t.path(i)).toEqual(ref.inclusionProof(i));
        verifyInclusion({ leafHash: l[i]!, index: i, size: n, path: t.path(i), root: t.root() });
        expect(t.indexOf(l[i]!)).toBe(i);
      }
    }
  });

  it('finds only aligned leaves', () => {
    const l = leaves(4);
    const t = buildLevelTree(Buffer.concat(l));
    const straddling = Buffer.concat([l[1]!.subarray(16), l[2]!.subarray(0, 16)]);
    expect(t.indexOf(straddling)).toBe(-1);
  });
});
