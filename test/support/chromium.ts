// Headless Chromium (Debian's `chromium` package) for tests that must see a page as a browser
// renders it, and a PNG reader to check the screenshots it saves.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inflateSync } from 'node:zlib';

/**
 * The chromium binary on PATH. Missing is an error, never a skip: CI (.ci/run) installs it, and a
 * test that silently does not run proves nothing.
 */
export function findChromium(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(
    'headless Chromium is needed to check the HTML report and is not on PATH: install it with ' +
      '`apt-get update && apt-get install -y --no-install-recommends --no-upgrade chromium` (.ci/run does this)',
  );
}

/** Run headless Chromium with a throwaway profile; resolves with its stdout (e.g. --dump-dom). */
export function runChromium(args: string[], timeoutMs = 90_000): Promise<string> {
  const binary = findChromium();
  const profile = mkdtempSync(join(tmpdir(), 'wormseal-chromium-'));
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const all = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, all, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`chromium ${args.join(' ')} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}

export interface PngInfo {
  width: number;
  height: number;
  /** Distinct values among the decompressed (filtered) scanline bytes: a blank image has very few. */
  distinctBytes: number;
}

/**
 * Read a PNG far enough to know it is one: the signature, an IHDR first, chunk lengths that add up,
 * and image data that inflates to exactly the size IHDR promises (8-bit RGB or RGBA, no interlace).
 */
export function readPng(buf: Buffer): PngInfo {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!buf.subarray(0, 8).equals(signature)) throw new Error('not a PNG: bad signature');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos < buf.length && !ended) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (data.length !== length) throw new Error(`PNG chunk ${type} is truncated`);
    if (pos === 8 && type !== 'IHDR') throw new Error('PNG does not start with IHDR');
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) throw new Error(`unexpected PNG format: depth ${depth}, colour ${colour}`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    pos += 12 + length;
  }
  if (!ended) throw new Error('PNG has no IEND');
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== height * (1 + width * channels)) throw new Error(`PNG image data is ${raw.length} bytes, IHDR promises ${height * (1 + width * channels)}`);
  return { width, height, distinctBytes: new Set(raw).size };
}
