/**
 * The verifiers in a process of their own, started the way the `wormseal` command starts `verify`
 * and `verify-bundle` (bin.ts: with huge-page malloc where that helps, see src/cli/relaunch.ts),
 * so that the figures are the command's. One run per process:
 *   online           verifyArchive over the environment's database and bucket (`wormseal verify`)
 *   offline DIR      the batch checks of verify-bundle over DIR/<n>.manifest and DIR/<n>.data
 *   bundle DIR       verifyBundle(DIR) (`wormseal verify-bundle DIR`)
 * It prints one JSON line: wall and CPU time of this process (all threads) for the work alone,
 * what was checked, and for `online` the CPU of its database's server backends.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createContext } from '../../src/cli/context.js';
import { tuneHeapForVerifying } from '../../src/cli/heap.js';
import { createLogger } from '../../src/log/logger.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { verifyBundle } from '../../src/verify/bundle.js';
import { BatchChecker } from '../../src/verify/threads.js';
import { backendTicks, serverCpuMs } from './backends.js';

export interface VerifyChildResult {
  ms: number;
  cpuMs: number;
  ok: boolean;
  problems: number;
  firstProblem?: string;
  /** Events checked: lines of the batches (online, offline), listed events (bundle). */
  events: number;
  /** bundle: lines of the batches it checked. */
  lines?: number;
  batches?: number;
  backendsMs?: number | null;
  glibcTunables: string;
}

const [mode, dir] = process.argv.slice(2);

function timer(): () => { ms: number; cpuMs: number } {
  const t = performance.now();
  const c = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(c);
    return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
  };
}

async function online(): Promise<Omit<VerifyChildResult, 'glibcTunables'>> {
  tuneHeapForVerifying(); // as `wormseal verify` does (src/cli/commands.ts)
  const ctx = createContext('db+s3');
  try {
    const before = await backendTicks(ctx.pool);
    const done = timer();
    const report = await verifyArchive({ pool: ctx.pool, store: ctx.store(), logger: createLogger({ level: 'error' }) });
    const t = done();
    const backendsMs = serverCpuMs(before, await backendTicks(ctx.pool));
    return { ...t, ok: report.ok, problems: report.problems.length, ...first(report.problems), events: report.events_checked, backendsMs };
  } finally {
    await ctx.close();
  }
}

async function offline(from: string): Promise<Omit<VerifyChildResult, 'glibcTunables'>> {
  const names = (await readdir(from)).filter((f) => f.endsWith('.manifest')).sort();
  const done = timer();
  const checker = new BatchChecker();
  let events = 0;
  const findings: string[] = [];
  try {
    // Read and queued one after the other, as verify-bundle does.
    const checks = [];
    for (const m of names) {
      const base = m.slice(0, -'.manifest'.length);
      checks.push(checker.check(await readFile(join(from, m)), await readFile(join(from, `${base}.data`))));
    }
    for (const r of await Promise.all(checks)) {
      findings.push(...r.findings.map((f) => f.detail));
      events += r.lines?.count ?? 0;
    }
  } finally {
    await checker.close();
  }
  const t = done();
  return { ...t, ok: findings.length === 0, problems: findings.length, ...(findings[0] ? { firstProblem: findings[0] } : {}), events, batches: names.length };
}

async function bundle(from: string): Promise<Omit<VerifyChildResult, 'glibcTunables'>> {
  const done = timer();
  const report = await verifyBundle(from);
  const t = done();
  const lines = report.streams.reduce((n, s) => n + s.batches.reduce((m, b) => m + b.leaf_count, 0), 0);
  return { ...t, ok: report.ok, problems: report.problems.length, ...first(report.problems), events: report.events_checked, lines, batches: report.batches_checked };
}

function first(problems: { detail: string }[]): { firstProblem?: string } {
  return problems[0] ? { firstProblem: problems[0].detail } : {};
}

const result =
  mode === 'online' ? await online() : mode === 'offline' && dir ? await offline(dir) : mode === 'bundle' && dir ? await bundle(dir) : undefined;
if (!result) {
  process.stderr.write('usage: verify-child.js online | offline DIR | bundle DIR\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify({ ...result, glibcTunables: process.env.GLIBC_TUNABLES ?? '' } satisfies VerifyChildResult) + '\n');
