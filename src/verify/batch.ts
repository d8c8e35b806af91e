import { DataObjectError, parseDataObject, sha256 } from '../archive/batchfile.js';
import { decodeManifest, ManifestError, type Manifest } from '../archive/manifest.js';
import { leafDigest, RootBuilder } from '../merkle/index.js';
import type { Reason } from './problems.js';

export interface ContentFinding {
  object: 'data' | 'manifest';
  reason: Reason;
  detail: string;
}

/**
 * Check one batch from its bytes alone: the manifest parses and is canonical, the data object's
 * SHA-256 and size match the manifest, its lines rebuild the manifest's RFC 6962 root and count.
 * Shared by `verify` (bytes from S3) and the offline bundle verifier. Returns the parsed manifest
 * (when readable) and the lines, so callers can go on to chain and hot-row checks.
 */
export function checkBatchBytes(
  manifestBytes: Buffer,
  dataBytes: Buffer | undefined,
): { manifest?: Manifest; lines?: Buffer[]; findings: ContentFinding[] } {
  const findings: ContentFinding[] = [];
  let manifest: Manifest;
  try {
    manifest = decodeManifest(manifestBytes);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    findings.push({ object: 'manifest', reason: 'content_changed', detail: e.message });
    return { findings };
  }
  if (!dataBytes) return { manifest, findings };
  const digest = sha256(dataBytes).toString('hex');
  if (digest !== manifest.data.sha256 || dataBytes.length !== manifest.data.bytes) {
    findings.push({
      object: 'data',
      reason: 'content_changed',
      detail: `data object sha256 ${digest} (${dataBytes.length} bytes), manifest says ${manifest.data.sha256} (${manifest.data.bytes} bytes)`,
    });
  }
  let lines: Buffer[];
  try {
    lines = parseDataObject(dataBytes);
  } catch (e) {
    if (!(e instanceof DataObjectError)) throw e;
    findings.push({ object: 'data', reason: 'content_changed', detail: e.message });
    return { manifest, findings };
  }
  if (lines.length !== manifest.tree.size) {
    findings.push({
      object: 'data',
      reason: 'content_changed',
      detail: `data object has ${lines.length} lines, manifest tree size is ${manifest.tree.size}`,
    });
  }
  const tree = new RootBuilder();
  for (const l of lines) tree.addDigest(leafDigest(l));
  const root = tree.root().toString('hex');
  if (root !== manifest.tree.root) {
    findings.push({ object: 'data', reason: 'content_changed', detail: `lines give root ${root}, manifest says ${manifest.tree.root}` });
  }
  return { manifest, lines, findings };
}
