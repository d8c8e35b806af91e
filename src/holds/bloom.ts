/**
 * A Bloom filter over strings, sized for about 1% false positives from the number of distinct keys.
 * Lives in Postgres (wormseal.batch_index) so a hold can find every batch that may contain a key
 * after the hot rows are gone: a filter never says "absent" for a key that was added.
 *
 * Encoding (bytea): byte 0 = format 1, byte 1 = k (hash count), bytes 2..5 = m (bits, uint32 BE),
 * then ceil(m / 8) bytes of bits, bit i at byte (i >> 3), mask 1 << (i & 7).
 * Hashing: FNV-1a over the string's UTF-16 code units with two offset bases, each finished with the
 * murmur3 fmix32 avalanche; bit j of key = (h1 + j·h2) mod m (Kirsch–Mitzenmacher double hashing).
 * Not cryptographic: it only has to spread keys, and is cheap enough for the sealer's hot path.
 */
const FORMAT = 1;
const HEADER = 6;
/** bits per key for ~1% false positives: −ln(0.01) / ln(2)² */
const BITS_PER_KEY = 9.585;
const HASHES = 7;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function positions(key: string, m: number, k: number, visit: (bit: number) => boolean): boolean {
  const h1 = fnv1a(key, 0x811c9dc5);
  const h2 = fnv1a(key, 0x9747b28c) | 1;
  for (let j = 0; j < k; j++) {
    // Unsigned 32-bit double hashing, then reduced mod m.
    const bit = ((h1 + Math.imul(j, h2)) >>> 0) % m;
    if (!visit(bit)) return false;
  }
  return true;
}

export class BloomFormatError extends Error {
  override name = 'BloomFormatError';
}

/** Build a filter holding exactly `keys` (deduplicated by the caller or not: duplicates cost nothing). */
export function buildBloom(keys: Iterable<string>, distinct: number): Buffer {
  const m = Math.max(64, Math.ceil((distinct * BITS_PER_KEY) / 8) * 8);
  const buf = Buffer.alloc(HEADER + m / 8);
  buf[0] = FORMAT;
  buf[1] = HASHES;
  buf.writeUInt32BE(m, 2);
  for (const key of keys) {
    positions(key, m, HASHES, (bit) => {
      buf[HEADER + (bit >>> 3)]! |= 1 << (bit & 7);
      return true;
    });
  }
  return buf;
}

/** May the filter contain `key`? false is certain; true may be a false positive. */
export function bloomMayContain(filter: Buffer, key: string): boolean {
  if (filter.length < HEADER || filter[0] !== FORMAT) throw new BloomFormatError(`unknown Bloom filter format ${filter[0]}`);
  const k = filter[1]!;
  const m = filter.readUInt32BE(2);
  if (m === 0 || filter.length !== HEADER + Math.ceil(m / 8)) throw new BloomFormatError(`Bloom filter of ${filter.length} bytes cannot hold ${m} bits`);
  return positions(key, m, k, (bit) => (filter[HEADER + (bit >>> 3)]! & (1 << (bit & 7))) !== 0);
}
