/**
 * The sealer in a process of its own, so that its peak RSS is the sealer's alone: configured from
 * the environment exactly like `wormseal seal` (sealing run, then the signed checkpoint), it prints
 * one JSON line with the seal report, the wall time and process.resourceUsage().maxRSS.
 */
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { readFile } from 'node:fs/promises';
import { clock, createContext } from '../../src/cli/context.js';
import { tuneHeapForSealing } from '../../src/cli/heap.js';

tuneHeapForSealing(); // as `wormseal seal` does
const ctx = createContext('db+s3');
try {
  const before = await backendTicks();
  const t0 = performance.now();
  const report = await sealAndCheckpoint({
    pool: ctx.pool,
    store: ctx.store(),
    clock,
    logger: ctx.logger,
    config: {
      batchSize: ctx.config.batchSize,
      schedule: ctx.config.schedule,
      lagWarnSeconds: ctx.config.lagWarnSeconds,
      concurrency: ctx.config.sealConcurrency,
    },
    signingKey: ctx.config.signingKey,
  });
  if (!report.checkpoint) throw new Error(`no checkpoint written: ${report.checkpoint_error ?? 'no signing key'}`);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage();
  process.stdout.write(
    JSON.stringify({
      wall_ms: wallMs,
      max_rss_mib: process.resourceUsage().maxRSS / 1024,
      cpu_ms: (cpu.user + cpu.system) / 1000,
      server_cpu_ms: serverCpuMs(before, await backendTicks()),
      report,
    }) + '\n',
  );
} finally {
  await ctx.close();
}

/**
 * CPU ticks of every server backend of this database, from /proc: null when the server is not on
 * this machine. Bench-only accounting: the difference of two snapshots is the server time spent
 * while the sealer ran (the bench's own connections sit idle meanwhile).
 */
async function backendTicks(): Promise<Map<number, number> | null> {
  try {
    const r = await ctx.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
    const ticks = new Map<number, number>();
    for (const { pid } of r.rows) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime (fields 14 and 15 of stat)
    }
    return ticks;
  } catch {
    return null;
  }
}

/** Milliseconds of server CPU between two snapshots (USER_HZ is 100 on Linux). */
function serverCpuMs(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks * 10;
}
