// The optional native addon (src/native/): many RFC 6962 leaf or node hashes in one call, with
// the OpenSSL inside Node, and a data object gunzipped synchronously into one reused buffer, with
// the zlib inside Node. Verifying spends most of its CPU on hashing and decompressing, and with
// node:crypto and node:zlib much of that is the cost of a call per hash and of a fresh buffer and
// a thread-pool round trip per chunk. The addon changes no result: tests check it against
// node:crypto, node:zlib and the RFC 6962 vectors.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  /** See leafhash.c: SHA-256(0x00 ‖ line) of lines from..to-1 of buf, into out at outOffset. */
  leaves(buf: Uint8Array, start: number, ends: Float64Array, from: number, to: number, out: Uint8Array, outOffset: number): void;
  /** See leafhash.c: one level of pair hashes, SHA-256(0x01 ‖ left ‖ right), an odd last node copied. */
  level(cur: Uint8Array, next: Uint8Array): void;
  /** See gunzip.c: 0 when gz decompressed as node:zlib would, `onOut(n)` having seen out[0, n) each time. */
  gunzip(gz: Uint8Array, out: Uint8Array, onOut: (n: number) => void): number;
}

/** Whether the addon is in use, and if not, why. */
export interface NativeAddonStatus {
  loaded: boolean;
  detail: string;
}

let status: NativeAddonStatus = { loaded: false, detail: 'not looked for' };

function load(): NativeAddon | undefined {
  if (process.env.WORMSEAL_NATIVE === '0') {
    status = { loaded: false, detail: 'turned off (WORMSEAL_NATIVE=0)' };
    return undefined;
  }
  // Compiled code finds it beside itself (dist/src/native); the TypeScript sources (tests), in dist.
  const places = ['../native/leafhash.node', '../../dist/src/native/leafhash.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const path = places.find((p) => existsSync(p));
  if (!path) {
    status = { loaded: false, detail: 'not built (npm run build builds it where a C compiler is found)' };
    return undefined;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    status = { loaded: true, detail: path };
    return addon;
  } catch (e) {
    status = { loaded: false, detail: `${path} did not load: ${(e as Error).message}` };
    return undefined;
  }
}

/** The addon, or undefined when it is not built, does not load, or WORMSEAL_NATIVE=0. */
export const nativeAddon: NativeAddon | undefined = load();

export function nativeAddonStatus(): NativeAddonStatus {
  return status;
}
