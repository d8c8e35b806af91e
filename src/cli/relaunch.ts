import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/**
 * Transparent huge pages for the memory malloc hands out: glibc's `glibc.malloc.hugetlb=1`
 * tunable (glibc 2.35+) makes malloc advise the kernel to back its large areas with 2 MB pages.
 *
 * Verifying decompressed every data object into fresh buffers (~56 MB per 100,000 events), and
 * reads each object into another (`verify` now hashes objects as they are decompressed, into one
 * reused buffer, when the native addon is built; verify-bundle still holds whole batches). Fresh memory is mapped a 4 KB page at a time on its first
 * touch, and on the paravirtualised VM of the benchmark each such fault costs ~10 µs: 8 batches
 * of 100,000 events took 90,000–140,000 faults, 3,000–42,000 with the tunable, and the checks'
 * CPU went from 4.0–5.7 to 3.2–4.8 µs per event. `npm run bench -- verify`, alternating runs
 * without and with (ev/s): verify 181k/199k and 186k/216k, verify-bundle 286k/333k and 239k/350k.
 * Sealing, measured the same way, did not change (126.7k/129.6k).
 *
 * glibc reads its tunables once, at process start: a running process cannot switch them on. So
 * the `wormseal` command (bin.ts), for `verify` and `verify-bundle`, starts itself again with the
 * tunable added to GLIBC_TUNABLES when it helps: on Linux with glibc, transparent huge pages in
 * `always` or `madvise` mode, and the tunable not yet set. It does so before loading anything
 * else: the first process costs ~0.1 s. WORMSEAL_HUGEPAGES=0 turns this off. A service calling
 * the library can start Node with the same variable.
 */
export const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1';

/** Set in the started copy, so that it never starts another. */
const RELAUNCHED = 'WORMSEAL_RELAUNCHED';

export interface HostFacts {
  platform: NodeJS.Platform;
  /** glibc's version at run time; undefined on musl and other C libraries. */
  glibc: string | undefined;
  /** Contents of /sys/kernel/mm/transparent_hugepage/enabled; undefined if unreadable. */
  thp: string | undefined;
}

export function hostFacts(): HostFacts {
  let thp: string | undefined;
  try {
    thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    thp = undefined;
  }
  let glibc: string | undefined;
  if (process.platform === 'linux') {
    (process.report as { excludeNetwork?: boolean }).excludeNetwork = true; // no DNS lookups for a report we read one field of
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    glibc = header?.glibcVersionRuntime;
  }
  return { platform: process.platform, glibc, thp };
}

/**
 * The environment to start a process with for huge-page malloc, or undefined when there is
 * nothing to gain (not Linux/glibc, THP off), it is already set, or WORMSEAL_HUGEPAGES=0.
 */
export function hugePagesEnv(env: NodeJS.ProcessEnv, host: HostFacts): NodeJS.ProcessEnv | undefined {
  if (env[RELAUNCHED] || env.WORMSEAL_HUGEPAGES === '0') return undefined;
  if (host.platform !== 'linux' || !host.glibc || !host.thp || !/\[(always|madvise)\]/.test(host.thp)) return undefined;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return undefined;
  return { ...env, [RELAUNCHED]: '1', GLIBC_TUNABLES: tunables ? `${tunables}:${HUGETLB_TUNABLE}` : HUGETLB_TUNABLE };
}

/** Commands that gain from huge-page malloc: those that decompress and hash whole batches. */
const COMMANDS = new Set(['verify', 'verify-bundle']);

/** Does this command line (process.argv without node and the script) run one of COMMANDS? */
export function wantsHugePages(args: readonly string[]): boolean {
  const command = args.find((a) => !a.startsWith('-'));
  return command !== undefined && COMMANDS.has(command);
}

/**
 * Run this same command again in a child process started with huge-page malloc, and return its
 * exit code; undefined when hugePagesEnv() says there is nothing to gain, and the caller does the
 * work itself. The child shares stdin, stdout and stderr (a terminal stays a terminal). SIGINT,
 * SIGTERM and SIGHUP sent to this process are passed on; a child killed by a signal kills this
 * process with the same signal.
 */
export async function relaunchWithHugePages(host: HostFacts = hostFacts()): Promise<number | undefined> {
  const env = hugePagesEnv(process.env, host);
  if (!env) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (s: NodeJS.Signals) => child.kill(s);
  for (const s of signals) process.on(s, forward);
  try {
    const ended = await new Promise<[number | null, NodeJS.Signals | null] | undefined>((resolve) => {
      child.once('error', () => resolve(undefined)); // not started: do the work here, as without huge pages
      child.once('exit', (c, s) => resolve([c, s]));
    });
    if (!ended) return undefined;
    const [code, signal] = ended;
    if (signal) {
      for (const s of signals) process.off(s, forward);
      process.kill(process.pid, signal); // end as the child did
      return 128 + (constants.signals[signal] ?? 0); // if the signal is caught or ignored here
    }
    return code ?? 1;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}
