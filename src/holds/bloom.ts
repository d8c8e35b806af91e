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

const FNV_PRIME = 0x01000193;
const BASIS_1 = 0x811c9dc5;
const BASIS_2 = 0x9747b28c;

function fnv1a(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

function positions(key: string, m: number, k: number, visit: (bit: number) => boolean): boolean {
  return positionsOf(fnv1a(key, BASIS_1), fnv1a(key, BASIS_2) | 1, m, k, visit);
}

function positionsOf(h1: number, h2: number, m: number, k: number, visit: (bit: number) => boolean): boolean {
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
  const buf = emptyFilter(distinct);
  const m = buf.readUInt32BE(2);
  for (const key of keys) {
    positions(key, m, HASHES, (bit) => {
      buf[HEADER + (bit >>> 3)]! |= 1 << (bit & 7);
      return true;
    });
  }
  return buf;
}

function emptyFilter(distinct: number): Buffer {
  const m = Math.max(64, Math.ceil((distinct * BITS_PER_KEY) / 8) * 8);
  const buf = Buffer.alloc(HEADER + m / 8);
  buf[0] = FORMAT;
  buf[1] = HASHES;
  buf.writeUInt32BE(m, 2);
  return buf;
}

// The two FNV-1a states of the key being hashed by BloomKeys.addUtf8 (no closure or pair per call).
let run1 = 0;
let run2 = 0;

/** Continue both FNV-1a states over `buf[from, to)`; false (states then unusable) at a non-ASCII byte. */
function fnvAscii(buf: Buffer, from: number, to: number): boolean {
  let h1 = run1;
  let h2 = run2;
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return false;
    h1 = Math.imul(h1 ^ b, FNV_PRIME);
    h2 = Math.imul(h2 ^ b, FNV_PRIME);
  }
  run1 = h1;
  run2 = h2;
  return true;
}

/**
 * The distinct keys of one filter, kept as their two hashes (all a filter needs of a key) in an
 * open-addressing table: the sealer adds a few keys per event, straight from the bytes it read,
 * without making a string of each. build() gives the bytes buildBloom gives for the same keys (two
 * keys whose hashes both collide set the same bits; they count once when sizing).
 */
export class BloomKeys {
  private slots = new Uint32Array(2 * 1024);
  private used = new Uint8Array(1024);
  private count = 0;

  /** Number of distinct keys (by their hashes). */
  get size(): number {
    return this.count;
  }

  add(key: string): void {
    this.addHashes(fnv1a(key, BASIS_1), (fnv1a(key, BASIS_2) | 1) >>> 0);
  }

  /**
   * Add the key whose UTF-8 bytes are `buf[start, start+length)`, or, with `secondStart`, the key
   * made of those bytes, a NUL, and the `secondLength` bytes at `secondStart` (a resource key). The hashes run over the bytes
   * while they are ASCII, where a byte is the UTF-16 code unit the string hash reads; any other
   * byte sends the key through a decoded string.
   */
  addUtf8(buf: Buffer, start: number, length: number, secondStart = -1, secondLength = 0): void {
    run1 = BASIS_1;
    run2 = BASIS_2;
    let ascii = fnvAscii(buf, start, start + length);
    if (ascii && secondStart >= 0) {
      run1 = Math.imul(run1, FNV_PRIME); // ^ 0: the NUL between type and id
      run2 = Math.imul(run2, FNV_PRIME);
      ascii = fnvAscii(buf, secondStart, secondStart + secondLength);
    }
    if (ascii) {
      this.addHashes(fmix32(run1), (fmix32(run2) | 1) >>> 0);
      return;
    }
    const first = buf.toString('utf8', start, start + length);
    this.add(secondStart >= 0 ? `${first}\u0000${buf.toString('utf8', secondStart, secondStart + secondLength)}` : first);
  }

  /** h1, h2: the key's two hashes as unsigned 32-bit numbers (h2 odd). */
  private addHashes(h1: number, h2: number): void {
    const mask = this.used.length - 1;
    for (let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      if (!this.used[i]) {
        this.used[i] = 1;
        this.slots[2 * i] = h1;
        this.slots[2 * i + 1] = h2;
        if (++this.count * 2 > this.used.length) this.grow();
        return;
      }
      if (this.slots[2 * i] === h1 && this.slots[2 * i + 1] === h2) return;
    }
  }

  private grow(): void {
    const { slots, used } = this;
    this.slots = new Uint32Array(slots.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.count = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.addHashes(slots[2 * i]!, slots[2 * i + 1]!);
  }

  /** The filter of the keys added, or null when there are none. */
  build(): Buffer | null {
    if (this.count === 0) return null;
    const buf = emptyFilter(this.count);
    const m = buf.readUInt32BE(2);
    const set = (bit: number) => {
      buf[HEADER + (bit >>> 3)]! |= 1 << (bit & 7);
      return true;
    };
    for (let i = 0; i < this.used.length; i++) if (this.used[i]) positionsOf(this.slots[2 * i]!, this.slots[2 * i + 1]!, m, HASHES, set);
    return buf;
  }
}

/** May the filter contain `key`? false is certain; true may be a false positive. */
export function bloomMayContain(filter: Buffer, key: string): boolean {
  if (filter.length < HEADER || filter[0] !== FORMAT) throw new BloomFormatError(`unknown Bloom filter format ${filter[0]}`);
  const k = filter[1]!;
  const m = filter.readUInt32BE(2);
  if (m === 0 || filter.length !== HEADER + Math.ceil(m / 8)) throw new BloomFormatError(`Bloom filter of ${filter.length} bytes cannot hold ${m} bits`);
  return positions(key, m, k, (bit) => (filter[HEADER + (bit >>> 3)]! & (1 << (bit & 7))) !== 0);
}
