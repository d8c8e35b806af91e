/**
 * The one place that builds object keys (docs/FORMAT.md, "Object keys"). The sealer, verifier and
 * exporter all import it, so the layout changes here or nowhere.
 */
export const LAYOUT_VERSION = 'v1';

export interface StreamRef {
  namespace: string;
  retention_class: string;
}

export function streamPrefix(s: StreamRef): string {
  return `${LAYOUT_VERSION}/streams/${s.namespace}/${s.retention_class}/`;
}

// Twelve digits keep keys sorted by batch number in a listing.
function batchDir(s: StreamRef, batchNo: number): string {
  return `${streamPrefix(s)}${String(batchNo).padStart(12, '0')}/`;
}

export function dataKey(s: StreamRef, batchNo: number): string {
  return `${batchDir(s, batchNo)}data.ndjson.gz`;
}

export function manifestKey(s: StreamRef, batchNo: number): string {
  return `${batchDir(s, batchNo)}manifest.json`;
}

/** The batch a key belongs to, or undefined for keys outside the batch layout. */
export function parseBatchKey(key: string): { stream: StreamRef; batch_no: number; kind: 'data' | 'manifest' } | undefined {
  const m = /^v1\/streams\/([^/]+)\/([^/]+)\/(\d{12})\/(data\.ndjson\.gz|manifest\.json)$/.exec(key);
  if (!m) return undefined;
  return {
    stream: { namespace: m[1]!, retention_class: m[2]! },
    batch_no: Number(m[3]),
    kind: m[4] === 'manifest.json' ? 'manifest' : 'data',
  };
}

/**
 * Signed checkpoints (docs/FORMAT.md, "Checkpoints"): named by their time, so a listing sorts
 * oldest first, and by a digest of the note, so two sealers writing at once never share a key.
 */
export function checkpointKey(time: Date, noteSha256: string): string {
  const t = time.toISOString().replace(/[-:]/g, '');
  return `${LAYOUT_VERSION}/checkpoints/${t}-${noteSha256.slice(0, 16)}.note`;
}

/** The RFC 3161 time-stamp response of a checkpoint, stored beside it. */
export function timestampKey(checkpointObjectKey: string): string {
  return `${checkpointObjectKey}.tsr`;
}

export const CHECKPOINT_PREFIX = `${LAYOUT_VERSION}/checkpoints/`;

/** Published public key documents, one per signing key (name and key id). */
export function publicKeyKey(name: string, keyIdHex: string): string {
  return `${KEYS_PREFIX}${name}/${keyIdHex}.note`;
}

export const KEYS_PREFIX = `${LAYOUT_VERSION}/keys/`;
