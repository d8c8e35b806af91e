import { createHash } from 'node:crypto';
import { constants, gunzipSync, gzipSync } from 'node:zlib';

/**
 * The data object of a batch: the events' canonical bytes, each followed by one LF, gzip-compressed
 * (docs/FORMAT.md, "Data object"). Canonical JSON never contains a raw LF, so lines split cleanly.
 */

// Every parameter pinned: the same window must give the same bytes when a crashed batch is
// rebuilt (DESIGN 5). Node's gzip header carries no name and mtime 0.
const GZIP_OPTIONS = {
  level: 6,
  memLevel: 8,
  windowBits: 15,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

export function buildDataObject(lines: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const nl = Buffer.from('\n');
  for (const l of lines) parts.push(l, nl);
  return gzipSync(Buffer.concat(parts), GZIP_OPTIONS);
}

export class DataObjectError extends Error {
  override name = 'DataObjectError';
}

/** Decompress and split a data object into its lines (without the LF). Throws DataObjectError. */
export function parseDataObject(gz: Buffer): Buffer[] {
  let raw: Buffer;
  try {
    raw = gunzipSync(gz);
  } catch (e) {
    throw new DataObjectError(`not a valid gzip stream: ${(e as Error).message}`);
  }
  if (raw.length === 0) throw new DataObjectError('empty data object');
  if (raw[raw.length - 1] !== 0x0a) throw new DataObjectError('last line is not terminated by LF');
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a) {
      if (i === start) throw new DataObjectError(`empty line ${lines.length + 1}`);
      lines.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  return lines;
}

export function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}
