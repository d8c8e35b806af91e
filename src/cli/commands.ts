import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import cron from 'node-cron';
import { SCHEDULES } from '../../jobs/schedule.js';
import { run as runRetentionJob } from '../../jobs/retention.js';
import { run as runSealJob } from '../../jobs/seal.js';
import { createLockedBucket } from '../archive/bucket.js';
import { checkBucket, checkClockSkew, type BucketCheck } from '../archive/protection.js';
import { sealAndCheckpoint } from '../checkpoint/run.js';
import { checkSigningKey } from '../checkpoint/doctor.js';
import { migrate, migrationStatus } from '../db/migrate.js';
import { appendEventTexts, type IngestError } from '../events/ingest.js';
import type { SealDeps } from '../seal/deps.js';
import { verifyArchive } from '../verify/archive.js';
import { formatProblem, type VerifyReport } from '../verify/problems.js';
import { clock, createContext, type Context } from './context.js';
import { EXIT, printJson, println } from './output.js';
import { createProgress, progressWanted } from './progress.js';
import { reportPathProblem, writeVerifyReport } from './report.js';
import { faultsFromEnv } from './faults.js';
import { retentionDeps } from './retention.js';
import { tuneHeapForSealing, tuneHeapForVerifying } from './heap.js';

type Json = { json?: boolean };

export async function cmdMigrate(): Promise<number> {
  const ctx = createContext('db');
  try {
    const { applied, current } = await migrate(ctx.pool);
    println(applied.length ? `applied ${applied.join(', ')}; schema at version ${current}` : `schema up to date at version ${current}`);
    return EXIT.OK;
  } finally {
    await ctx.close();
  }
}

// Lines per appendEventTexts call. Each call is one COPY statement and one commit, and on the
// benchmark machine 1,000-line calls stored a third fewer events per second than 5,000-line ones.
// Bounded by size too, so that a file of large events is never held a few hundred MB at a time.
const INGEST_CHUNK = 5_000;
const INGEST_CHUNK_CHARS = 8 * 1024 * 1024;

export async function cmdIngest(file: string | undefined, opts: Json): Promise<number> {
  const ctx = createContext('db');
  try {
    const input = !file || file === '-' ? process.stdin : createReadStream(file);
    const lines = createInterface({ input, crlfDelay: Infinity });
    const deps = { pool: ctx.pool, clock, schedule: ctx.config.schedule, maxEventBytes: ctx.config.maxEventBytes };
    const totals = { accepted: 0, rejected: 0, duplicates: 0 };
    const errors: { line: number; reason: string; event_id?: string }[] = [];
    let chunk: string[] = [];
    let numbers: number[] = [];
    let chars = 0;
    let lineNo = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      const res = await appendEventTexts(deps, chunk);
      totals.accepted += res.accepted;
      totals.rejected += res.rejected;
      totals.duplicates += res.duplicates;
      for (const e of res.errors as IngestError[]) {
        const err = { line: numbers[e.index]!, reason: e.reason, ...(e.event_id ? { event_id: e.event_id } : {}) };
        errors.push(err);
        if (!opts.json) println(`line ${err.line}: rejected: ${err.reason}`);
      }
      chunk = [];
      numbers = [];
      chars = 0;
    };
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue; // blank lines (a trailing newline, spacing) are not events
      chunk.push(line);
      numbers.push(lineNo);
      chars += line.length;
      if (chunk.length >= INGEST_CHUNK || chars >= INGEST_CHUNK_CHARS) await flush();
    }
    await flush();
    if (opts.json) printJson({ ...totals, errors });
    else {
      println(
        `accepted ${totals.accepted} event(s)${totals.duplicates ? ` (${totals.duplicates} already recorded)` : ''}, rejected ${totals.rejected}`,
      );
    }
    return totals.rejected > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await ctx.close();
  }
}

function sealDeps(ctx: Context): SealDeps & Pick<Context['config'], 'signingKey' | 'tsaUrl'> {
  const faults = faultsFromEnv();
  return {
    signingKey: ctx.config.signingKey,
    tsaUrl: ctx.config.tsaUrl,
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
    ...(faults ? { faults } : {}),
  };
}

export async function cmdSeal(opts: Json & { namespace?: string }): Promise<number> {
  tuneHeapForSealing();
  const ctx = createContext('db+s3');
  try {
    const report = await sealAndCheckpoint(sealDeps(ctx), opts.namespace ? { namespace: opts.namespace } : {});
    if (opts.json) {
      printJson(report);
    } else {
      for (const b of report.batches) {
        println(
          `sealed ${b.stream.namespace}/${b.stream.retention_class} #${b.batch_no}: ${b.leaf_count} events, root ${b.root}, ` +
            `retain until ${b.retain_until}${b.resumed ? ' (resumed)' : ''}`,
        );
        for (const o of b.objects) println(`  ${o.kind.padEnd(8)} ${o.key} version ${o.version_id}`);
      }
      if (report.batches.length === 0 && report.failures.length === 0) println('nothing to seal below the horizon');
      for (const f of report.failures) {
        println(`FAILED ${f.stream.namespace}/${f.stream.retention_class}${f.batch_no ? ` batch ${f.batch_no}` : ''}: ${f.error}`);
      }
      if (report.checkpoint) {
        const ts = report.checkpoint.timestamp;
        println(`checkpoint ${report.checkpoint.key}: ${report.checkpoint.heads.length} stream head(s) signed by ${report.checkpoint.signed_by}${ts ? `, time-stamped ${ts.gen_time}` : ''}`);
      }
      if (report.checkpoint_error) println(`FAILED checkpoint: ${report.checkpoint_error}`);
    }
    return report.failures.length > 0 || report.checkpoint_error ? EXIT.FAILED : EXIT.OK;
  } finally {
    await ctx.close();
  }
}

export async function cmdWorker(): Promise<number> {
  tuneHeapForSealing();
  const ctx = createContext('db+s3');
  const expression = ctx.config.sealCron ?? SCHEDULES.seal;
  const retentionExpression = ctx.config.retentionCron ?? SCHEDULES.retention;
  for (const [name, expr] of [
    ['WORMSEAL_SEAL_CRON', expression],
    ['WORMSEAL_RETENTION_CRON', retentionExpression],
  ] as const) {
    if (!cron.validate(expr)) {
      await ctx.close();
      ctx.logger.error(`${name}: not a valid cron expression: ${expr}`);
      return EXIT.USAGE;
    }
  }
  const deps = sealDeps(ctx);
  let running: Promise<void> | undefined;
  const tick = () => {
    // No overlapping runs in one process; other processes are kept out per stream by advisory locks.
    if (running) {
      ctx.logger.warn('previous seal run still in progress: skipping this tick');
      return;
    }
    running = runSealJob(deps)
      .then((r) => {
        if (r.batches.length) ctx.logger.info(`seal run: ${r.batches.length} batch(es) sealed`);
      })
      .catch((e) => ctx.logger.error(`seal run failed: ${(e as Error).message}`))
      .finally(() => {
        running = undefined;
      });
  };
  const task = cron.schedule(expression, tick, { noOverlap: false });
  // Retention runs on its own schedule; node-cron's noOverlap skips a tick while a run is going.
  const rDeps = retentionDeps(ctx);
  let retaining: Promise<void> | undefined;
  const retentionTask = cron.schedule(
    retentionExpression,
    () => {
      retaining = runRetentionJob(rDeps)
        .then((r) =>
          ctx.logger.info(
            `retention run: ${r.expired.length} batch(es) expired, ${r.extended.length} extended, ${r.purged_rows} hot row(s) purged`,
          ),
        )
        .catch((e) => ctx.logger.error(`retention run failed: ${(e as Error).message}`));
      return retaining;
    },
    { noOverlap: true },
  );
  ctx.logger.info(`worker started: sealing on "${expression}" into ${deps.store.name}; retention on "${retentionExpression}"`);
  tick();
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      ctx.logger.info(`${sig}: stopping after the current run`);
      void task.stop();
      void retentionTask.stop();
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running;
  await retaining;
  await ctx.close();
  ctx.logger.info('worker stopped');
  return EXIT.OK;
}

export async function cmdVerify(opts: Json & { namespace?: string; report?: string }): Promise<number> {
  tuneHeapForVerifying();
  const ctx = createContext('db+s3');
  try {
    const reportProblem = opts.report ? await reportPathProblem(opts.report) : undefined;
    if (reportProblem) {
      process.stderr.write(`wormseal: ${reportProblem}\n`);
      return EXIT.USAGE;
    }
    const bar = createProgress('verify', { enabled: progressWanted(), unit: 'batches' });
    let report: VerifyReport;
    try {
      report = await verifyArchive(
        { pool: ctx.pool, store: ctx.store(), logger: ctx.logger, progress: (d, t) => bar.update(d, t) },
        opts.namespace ? { namespace: opts.namespace } : {},
      );
    } finally {
      bar.done();
    }
    if (opts.json) printJson(report);
    else {
      for (const p of report.problems) println(formatProblem(p));
      println(
        `${report.batches_valid}/${report.batches_checked} batches valid, ${report.events_checked} events checked in ` +
          `${report.streams_checked} stream(s); ${report.problems.length} problem(s)` +
          (report.batches_expired ? `; ${report.batches_expired} expired batch(es) tombstoned` : '') +
          (report.pending_batches ? `; ${report.pending_batches} batch(es) pending sealing` : ''),
      );
      println(report.ok ? 'VERIFIED' : 'NOT VERIFIED');
    }
    if (opts.report) {
      await writeVerifyReport(opts.report, report, { config: ctx.config, pool: ctx.pool, namespace: opts.namespace, now: clock.now() });
      if (!opts.json) println(`report written to ${opts.report}`);
    }
    return report.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await ctx.close();
  }
}

export async function cmdDoctor(opts: Json): Promise<number> {
  const ctx = createContext('db+s3');
  const checks: BucketCheck[] = [];
  try {
    try {
      await ctx.pool.query('SELECT 1');
      checks.push({ name: 'database', ok: true, detail: 'reachable' });
      const st = await migrationStatus(ctx.pool);
      checks.push({
        name: 'migrations',
        ok: st.pending.length === 0,
        detail: st.pending.length ? `pending: ${st.pending.join(', ')}` : `schema at version ${st.applied.at(-1) ?? 0}`,
        ...(st.pending.length ? { fix: 'run wormseal migrate' } : {}),
      });
    } catch (e) {
      checks.push({ name: 'database', ok: false, detail: (e as Error).message, fix: 'check DATABASE_URL and that the server is up' });
    }
    try {
      checks.push(...(await checkBucket(ctx.store())));
      checks.push(await checkClockSkew(ctx.store(), () => clock.now()));
      checks.push(await checkSigningKey(ctx.store(), ctx.config.signingKey, clock.now()));
    } catch (e) {
      checks.push({
        name: 'bucket',
        ok: false,
        detail: `${ctx.store().name}: ${(e as Error).name}: ${(e as Error).message}`,
        fix: 'check WORMSEAL_BUCKET, WORMSEAL_S3_ENDPOINT, AWS_REGION and credentials; create the bucket with wormseal bucket create',
      });
    }
    const ok = checks.every((c) => c.ok);
    if (opts.json) printJson({ ok, checks });
    else {
      for (const c of checks) println(`${c.ok ? (c.fix ? 'warn' : 'ok  ') : 'FAIL'} ${c.name.padEnd(18)} ${c.detail}${c.fix ? `\n     fix: ${c.fix}` : ''}`);
      println(ok ? 'all checks passed' : 'sealing will refuse to run until the failures above are fixed');
    }
    return ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await ctx.close();
  }
}

export async function cmdBucketCreate(opts: Json & { defaultRetentionDays: string }): Promise<number> {
  const days = Number(opts.defaultRetentionDays);
  if (!Number.isInteger(days) || days < 1) {
    process.stderr.write('--default-retention-days must be a whole number of days >= 1\n');
    return EXIT.USAGE;
  }
  const ctx = createContext('db+s3');
  try {
    const { created } = await createLockedBucket(ctx.store().client, ctx.config.bucket, days);
    const checks = await checkBucket(ctx.store());
    const ok = checks.every((c) => c.ok);
    if (opts.json) printJson({ bucket: ctx.config.bucket, created, ok, checks });
    else {
      println(created ? `created ${ctx.store().name} with Object Lock, versioning, default COMPLIANCE ${days} day(s)` : `${ctx.store().name} already exists; left unchanged`);
      for (const c of checks.filter((x) => !x.ok)) println(`FAIL ${c.name}: ${c.detail}${c.fix ? `\n     fix: ${c.fix}` : ''}`);
    }
    return ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await ctx.close();
  }
}
