/**
 * The sealer in a process of its own, so that its peak RSS is the sealer's alone: configured from
 * the environment exactly like `wormseal seal` (sealing run, then the signed checkpoint), it prints
 * one JSON line with the seal report, the wall time and its peak RSS (peakRssMib).
 */
import { readFile } from 'node:fs/promises';
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { clock, createContext } from '../../src/cli/context.js';
import { tuneHeapForSealing } from '../../src/cli/heap.js';
import { backendTicks, serverCpuMs } from './backends.js';

tuneHeapForSealing(); // as `wormseal seal` does
const ctx = createContext('db+s3');
try {
  const before = await backendTicks(ctx.pool);
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
      max_rss_mib: await peakRssMib(),
      cpu_ms: (cpu.user + cpu.system) / 1000,
      server_cpu_ms: serverCpuMs(before, await backendTicks(ctx.pool)),
      report,
    }) + '\n',
  );
} finally {
  await ctx.close();
}

/**
 * This process's peak resident set, from VmHWM in /proc/self/status: it starts again at exec.
 * getrusage's maxRSS (process.resourceUsage) does not: Linux keeps it across execve, so a child
 * forked from a parent holding 800 MB reports at least 800 MB whatever it uses (checked: 805
 * against a VmHWM of 42 MB). The benchmark's parent grows over the scenarios, and before this the
 * 100K seal of the scaling scenario reported 285-498 MiB in full runs and 215 alone.
 */
async function peakRssMib(): Promise<number> {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux: getrusage is the best there is
  }
  return process.resourceUsage().maxRSS / 1024;
}
