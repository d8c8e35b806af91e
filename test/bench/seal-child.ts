/**
 * The sealer in a process of its own, so that its peak RSS is the sealer's alone: configured from
 * the environment exactly like `wormseal seal` (sealing run, then the signed checkpoint), it prints
 * one JSON line with the seal report, the wall time and process.resourceUsage().maxRSS.
 */
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
      max_rss_mib: process.resourceUsage().maxRSS / 1024,
      cpu_ms: (cpu.user + cpu.system) / 1000,
      server_cpu_ms: serverCpuMs(before, await backendTicks(ctx.pool)),
      report,
    }) + '\n',
  );
} finally {
  await ctx.close();
}
