// Builds the optional native hashing addon (leafhash.c) next to this file's compiled copy:
// `npm run build` runs it after tsc. It needs a C compiler (`cc`, or $CC) and the headers that
// ship with Node (node_api.h and Node's OpenSSL headers, under <node prefix>/include/node). Without
// them it says why and leaves hashing to node:crypto: same results, more CPU (docs/FORMAT.md and
// README, "Performance"). WORMSEAL_NATIVE_BUILD=0 skips it; =required makes a failure an error.

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', '..', '..', 'src', 'native', 'leafhash.c'); // dist/src/native -> src/native
const target = join(here, 'leafhash.node');
const mode = process.env.WORMSEAL_NATIVE_BUILD ?? 'auto';

/** Node's own headers first: they match the OpenSSL inside the binary that will load the addon. */
function includeDir(): string | undefined {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/local/include/node', '/usr/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'openssl', 'sha.h')));
}

function build(): string | undefined {
  if (!existsSync(source)) return `${source} is missing`;
  const include = includeDir();
  if (!include) return `no Node headers with OpenSSL found next to ${process.execPath} or in /usr/include/node`;
  const cc = process.env.CC ?? 'cc';
  const args = ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', '-I', include, source, '-o', target];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) return `${cc}: ${r.error.message}`;
  if (r.status !== 0) return `${cc} ${args.join(' ')} failed:\n${r.stderr}`;
  return undefined;
}

if (mode !== '0') {
  rmSync(target, { force: true }); // never leave an addon built from other sources behind
  const problem = build();
  if (problem === undefined) {
    console.log(`native hashing addon built: ${target}`);
  } else if (mode === 'required') {
    console.error(`native hashing addon not built: ${problem}`);
    process.exit(1);
  } else {
    console.warn(`native hashing addon not built (hashing stays in node:crypto, same results, more CPU): ${problem}`);
  }
}
