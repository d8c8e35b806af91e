import type { HoldDeps } from '../holds/deps.js';
import { HoldError, listHoldSummaries, placeHold, releaseHold, showHold, type HoldSummary } from '../holds/holds.js';
import type { ReconcileReport } from '../holds/reconcile.js';
import { describeScope, parseScope, ScopeError, type ScopeInput } from '../holds/scope.js';
import { faultsFromEnv } from './faults.js';
import { clock, createContext, type Context } from './context.js';
import type { Command } from 'commander';
import { EXIT, printJson, println, type CommandHelpers } from './output.js';

function holdDeps(ctx: Context): HoldDeps {
  const faults = faultsFromEnv();
  return { pool: ctx.pool, store: ctx.store(), clock, logger: ctx.logger, schedule: ctx.config.schedule, ...(faults ? { faults } : {}) };
}

type Json = { json?: boolean };

/** Runs a hold command: HoldError (unknown or already-held matter) exits 1 with its message. */
async function run(fn: (ctx: Context) => Promise<number>): Promise<number> {
  const ctx = createContext('db+s3');
  try {
    return await fn(ctx);
  } catch (e) {
    if (e instanceof HoldError) {
      process.stderr.write(`wormseal: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  } finally {
    await ctx.close();
  }
}

function required(opts: Record<string, string | undefined>, names: string[]): string | undefined {
  const missing = names.filter((n) => !opts[n]?.trim());
  return missing.length ? `missing ${missing.map((n) => `--${n}`).join(', ')}` : undefined;
}

function reconcileLine(r: ReconcileReport): string {
  return `legal hold set ON for ${r.flagged_on.length} batch(es), OFF for ${r.flagged_off.length}` + (r.failures.length ? `, ${r.failures.length} FAILED` : '');
}

function line(h: HoldSummary): string {
  return `${h.matter} [${h.state}] ${describeScope(h.scope)} — placed ${h.placed_at} by ${h.placed_by}: ${h.reason}` +
    (h.released_at ? `; released ${h.released_at} by ${h.released_by}: ${h.release_reason}` : '');
}

export async function cmdHoldPlace(opts: Json & ScopeInput & { matter?: string; reason?: string; by?: string }): Promise<number> {
  const missing = required(opts as Record<string, string | undefined>, ['matter', 'reason', 'by']);
  let scope;
  try {
    if (missing) throw new ScopeError(missing);
    scope = parseScope(opts);
  } catch (e) {
    if (!(e instanceof ScopeError)) throw e;
    process.stderr.write(`wormseal hold place: ${e.message}\n`);
    return EXIT.USAGE;
  }
  return run(async (ctx) => {
    const r = await placeHold(holdDeps(ctx), { matter: opts.matter!, reason: opts.reason!, by: opts.by!, scope });
    if (opts.json) printJson(r);
    else {
      println(`hold placed: ${line(r.hold)}`);
      println(
        `covers ${r.batches} sealed batch(es): ${r.confirmed_batches} with a matching hot row, ${r.false_positive_batches} index false positive(s), ` +
          `${r.unconfirmed_batches} unconfirmed (hot rows purged); batches sealed from now on join while it is active`,
      );
      println(reconcileLine(r.reconcile));
    }
    return r.reconcile.failures.length ? EXIT.FAILED : EXIT.OK;
  });
}

export async function cmdHoldRelease(opts: Json & { matter?: string; reason?: string; by?: string }): Promise<number> {
  const missing = required(opts as Record<string, string | undefined>, ['matter', 'reason', 'by']);
  if (missing) {
    process.stderr.write(`wormseal hold release: ${missing}\n`);
    return EXIT.USAGE;
  }
  return run(async (ctx) => {
    const r = await releaseHold(holdDeps(ctx), { matter: opts.matter!, reason: opts.reason!, by: opts.by! });
    if (opts.json) printJson(r);
    else {
      println(`hold released: ${line(r.hold)}`);
      println(`${r.batches} batch(es) covered; ${r.still_held_batches} stay held by another matter`);
      println(reconcileLine(r.reconcile));
    }
    return r.reconcile.failures.length ? EXIT.FAILED : EXIT.OK;
  });
}

export async function cmdHoldList(opts: Json & { all?: boolean }): Promise<number> {
  return run(async (ctx) => {
    const holds = await listHoldSummaries(holdDeps(ctx), { all: opts.all === true });
    if (opts.json) printJson({ holds });
    else {
      for (const h of holds) println(`${line(h)} (${h.batches} batch(es))`);
      if (holds.length === 0) println(opts.all ? 'no holds were ever placed' : 'no active holds');
    }
    return EXIT.OK;
  });
}

export async function cmdHoldShow(matter: string, opts: Json): Promise<number> {
  return run(async (ctx) => {
    const d = await showHold(holdDeps(ctx), matter);
    if (opts.json) printJson(d);
    else {
      println(line(d.hold));
      for (const b of d.batches) {
        const how = b.confirmed === true ? 'match' : b.confirmed === false ? 'false positive' : 'unconfirmed';
        println(`  ${b.stream.namespace}/${b.stream.retention_class} batch ${b.batch_no} (${how})${b.expired ? ' expired' : ''}`);
        for (const o of b.objects) println(`    ${o.kind.padEnd(8)} ${o.key} version ${o.version_id} legal hold ${o.legal_hold ? 'ON' : 'OFF'}`);
      }
      println(
        `${d.batches.length} batch(es), ${d.false_positive_batches} false positive(s), ${d.unconfirmed_batches} unconfirmed` +
          (d.objects_not_held ? `; ${d.objects_not_held} object(s) not yet held: run wormseal retention apply` : ''),
      );
    }
    return EXIT.OK;
  });
}

/** Register `hold place|release|list|show` (called from main.ts). */
export function registerHoldCommands(program: Command, h: CommandHelpers): void {
  const hold = program.command('hold').description('legal holds on a matter: S3 legal hold on every object that can hold a matching event');
  hold
    .command('place')
    .description('place a hold on a matter; it covers sealed batches that can match the scope, and batches sealed while it is active')
    .option('--matter <id>', 'matter id (one active hold per matter)')
    .option('--reason <text>', 'why the hold is placed (recorded in the legal_hold.placed event)')
    .option('--by <who>', 'who places it')
    .option('--namespace <name>', 'scope: events of this namespace')
    .option('--from <time>', 'scope: occurred_at at or after (date or RFC 3339 instant)')
    .option('--to <time>', 'scope: occurred_at at or before (a bare date means the end of that day)')
    .option('--actor <id>', 'scope: actor.id')
    .option('--resource <type:id>', 'scope: resource.type and resource.id')
    .option('--subject <id>', 'scope: subject_id')
    .option('--event-type <pattern>', 'scope: event type pattern (payment.*, user.login)')
    .addOption(h.json())
    .action(h.action((o: Parameters<typeof cmdHoldPlace>[0]) => cmdHoldPlace(o)));
  hold
    .command('release')
    .description("release a matter's hold; objects other active holds cover stay held")
    .option('--matter <id>', 'matter id')
    .option('--reason <text>', 'why the hold is released')
    .option('--by <who>', 'who releases it')
    .addOption(h.json())
    .action(h.action((o: Parameters<typeof cmdHoldRelease>[0]) => cmdHoldRelease(o)));
  hold
    .command('list')
    .description('list active holds')
    .option('--all', 'include released holds')
    .addOption(h.json())
    .action(h.action((o: { json?: boolean; all?: boolean }) => cmdHoldList(o)));
  hold
    .command('show')
    .description("a matter's hold: its batches and each object's S3 legal-hold flag as the server reports it")
    .argument('<matter>', 'matter id')
    .addOption(h.json())
    .action(h.action((matter: string, o: { json?: boolean }) => cmdHoldShow(matter, o)));
}
