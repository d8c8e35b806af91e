import { applyRetention, type ApplyReport, type RetentionDeps } from '../retention/apply.js';
import { clock, createContext, type Context } from './context.js';
import { faultsFromEnv } from './faults.js';
import type { Command } from 'commander';
import { EXIT, printJson, println, type CommandHelpers } from './output.js';

export function retentionDeps(ctx: Context): RetentionDeps {
  const faults = faultsFromEnv();
  return {
    pool: ctx.pool,
    store: ctx.store(),
    clock,
    logger: ctx.logger,
    schedule: ctx.config.schedule,
    hotWindow: ctx.config.hotWindow,
    ...(faults ? { faults } : {}),
  };
}

/** `wormseal retention show`: the schedule in force (built-in or WORMSEAL_RETENTION_FILE). */
export async function cmdRetentionShow(opts: { json?: boolean }): Promise<number> {
  const ctx = createContext('db');
  try {
    const s = ctx.config.schedule;
    const classes = [...s.classes.values()].map((c) => ({ name: c.name, duration: c.duration.text, citation: c.citation, description: c.description }));
    if (opts.json) {
      printJson({ source: s.source, default: s.defaultClass, classes, rules: s.rules, hot_window: ctx.config.hotWindow });
      return EXIT.OK;
    }
    println(`retention schedule: ${s.source}`);
    println('classes:');
    for (const c of classes) println(`  ${c.name.padEnd(18)} ${c.duration.padEnd(8)} ${c.citation}${c.description ? ` — ${c.description}` : ''}`);
    println('rules (most specific match wins):');
    for (const r of s.rules) println(`  ${r.match.padEnd(24)} → ${r.class}`);
    println(`default: ${s.defaultClass}`);
    println(`hot rows kept in Postgres for ${ctx.config.hotWindow} after sealing (WORMSEAL_HOT_WINDOW)`);
    return EXIT.OK;
  } finally {
    await ctx.close();
  }
}

function where(r: { stream: { namespace: string; retention_class: string }; batch_no: number }): string {
  return `${r.stream.namespace}/${r.stream.retention_class} batch ${r.batch_no}`;
}

function printHuman(r: ApplyReport): void {
  const would = r.dry_run ? 'would ' : '';
  for (const e of r.extended) println(`${would}extend ${where(e)}: retain until ${e.from} → ${e.to}`);
  for (const s of r.shortened) {
    println(`class ${s.class} is now ${s.duration}: ${s.batches} existing batch(es) keep their longer retain-until (COMPLIANCE never shortens; objects untouched)`);
  }
  for (const c of r.unknown_classes) println(`class ${c} has sealed batches but is not in the schedule in force: left as it is`);
  for (const e of r.expired) println(`${would}expire ${where(e)}: objects deleted, tombstone kept`);
  for (const h of r.held) println(`keep ${where(h)}: past retain-until ${h.retain_until}, under legal hold`);
  for (const x of r.refused) println(`REFUSED ${where(x)} ${x.object}: the server refused the deletion: ${x.error}`);
  for (const f of r.failures) println(`FAILED ${f.step}${f.stream ? ` ${where(f as never)}` : ''}: ${f.error}`);
  for (const f of r.legal_holds.failures) println(`FAILED legal hold ${where(f)}: ${f.error}`);
  const flags = r.legal_holds.flagged_on.length + r.legal_holds.flagged_off.length;
  if (flags) println(`legal hold flags completed on ${flags} batch(es)`);
  println(
    r.dry_run
      ? `dry run: ${r.extended.length} to extend, ${r.expired.length} to expire, ${r.held.length} held, ` +
          `${r.purged_rows} hot row(s) of ${r.purged_batches} batch(es) to purge; nothing changed`
      : `${r.extended.length} extended, ${r.expired.length} expired, ${r.held.length} held, ${r.refused.length} refused, ` +
          `${r.purged_rows} hot row(s) purged from ${r.purged_batches} batch(es)`,
  );
}

/** `wormseal retention apply`: exit 1 when the server refused a deletion or any step failed. */
export async function cmdRetentionApply(opts: { json?: boolean; dryRun?: boolean }): Promise<number> {
  const ctx = createContext('db+s3');
  try {
    const report = await applyRetention(retentionDeps(ctx), { dryRun: opts.dryRun === true });
    if (opts.json) printJson(report);
    else printHuman(report);
    const bad = report.refused.length + report.failures.length + report.legal_holds.failures.length;
    return bad > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await ctx.close();
  }
}

/** Register `retention show` and `retention apply` (called from main.ts). */
export function registerRetentionCommands(program: Command, h: CommandHelpers): void {
  const retention = program.command('retention').description('retention schedule: show it, apply it (extend, expire, purge)');
  retention
    .command('show')
    .description('print the retention schedule in force (built-in, or WORMSEAL_RETENTION_FILE)')
    .addOption(h.json())
    .action(h.action((o: { json?: boolean }) => cmdRetentionShow(o)));
  retention
    .command('apply')
    .description(
      'complete legal-hold changes, extend locks of lengthened classes, delete expired unheld batches (tombstone + batch.expired event), ' +
        'purge hot rows past WORMSEAL_HOT_WINDOW; exit 1 if the server refused a deletion or a step failed',
    )
    .option('--dry-run', 'report what would be extended and expired; change nothing')
    .addOption(h.json())
    .action(h.action((o: { json?: boolean; dryRun?: boolean }) => cmdRetentionApply(o)));
}
