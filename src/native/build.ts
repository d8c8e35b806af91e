// Builds the optional native addon (leafhash.c, gunzip.c) next to this file's compiled copy:
// `npm run build` runs it after tsc. It needs a C compiler (`cc`, or $CC) and the headers that
// ship with Node (node_api.h, Node's OpenSSL and zlib headers, under <node prefix>/include/node). Without
// them it says why and leaves hashing to node:crypto: same results, more CPU (docs/FORMAT.md and
// README, "Performance"). WORMSEAL_NATIVE_BUILD=0 skips it; =required makes a failure an error.

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = join(here, '..', '..', '..', 'src', 'native'); // dist/src/native -> src/native
const sources = ['leafhash.c', 'gunzip.c'].map((f) => join(sourceDir, f));
const target = join(here, 'leafhash.node');
const mode = process.env.WORMSEAL_NATIVE_BUILD ?? 'auto';

/** Node's own headers first: they match the OpenSSL inside the binary that will load the addon. */
function includeDir(): string | undefined {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/local/include/node', '/usr/include/node'];
  return candidates.find((d) => ['node_api.h', 'zlib.h', join('openssl', 'sha.h')].every((h) => existsSync(join(d, h))));
}

function build(): string | undefined {
  const missing = sources.find((f) => !existsSync(f));
  if (missing) return `${missing} is missing`;
  const include = includeDir();
  if (!include) return `no Node headers with OpenSSL and zlib found next to ${process.execPath} or in /usr/include/node`;
  const cc = process.env.CC ?? 'cc';
  const args = ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', '-I', include, ...sources, '-o', target];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) return `${cc}: ${r.error.message}`;
  if (r.status !== 0) return `${cc} ${args.join(' ')} failed:\n${r.stderr}`;
  return undefined;
}

if (mode !== '0') {
  rmSync(target, { force: true }); // never leave an addon built from other sources behind
  const problem = build();
  if (problem === undefined) {
    console.log(`native addon built: ${target}`);
  } else if (mode === 'required') {
    console.error(`native addon not built: ${problem}`);
    process.exit(1);
  } else {
    console.warn(`native addon not built (hashing and gunzip stay in node:crypto and node:zlib: same results, more CPU): ${problem}`);
  }
}
