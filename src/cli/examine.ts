import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { decodeKeyDocument, type PublishedKey } from '../checkpoint/keys.js';
import { NoteError } from '../checkpoint/note.js';
import { exportBundle } from '../export/export.js';
import type { Selection } from '../export/format.js';
import { parseScope, ScopeError } from '../holds/scope.js';
import { createProver, ProveError } from '../proof/prove.js';
import { encodeProof, verifyProofBytes } from '../proof/proof.js';
import { BundleError, verifyBundle, type BundleReport } from '../verify/bundle.js';
import { formatProblem } from '../verify/problems.js';
import { clock, createContext } from './context.js';
import { EXIT, printJson, println } from './output.js';
import { createProgress, progressWanted } from './progress.js';
import { reportPathProblem, writeBundleReport } from './report.js';

/**
 * The examiner's commands (DESIGN 9): prove, verify-proof, export, verify-bundle. verify-proof and
 * verify-bundle read no configuration at all: an examiner runs them with nothing but the files.
 */
export function registerExamine(program: Command, action: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>): void {
  const json = () => new Option('--json', 'print one JSON document on stdout (logs stay on stderr)');
  const keyOpt = () =>
    new Option('--key <file>', 'trust only this public key document (repeatable), obtained from the operator out of band, instead of the keys carried in the file').argParser(
      (v: string, prev: string[] = []) => [...prev, v],
    );

  program
    .command('prove')
    .description('print the inclusion proof of one event (JSON, anchored to the newest signed checkpoint)')
    .argument('<event-id>', 'event_id of a sealed event')
    .action(action((id: string) => cmdProve(id)));

  program
    .command('verify-proof')
    .description('check a proof from `wormseal prove` offline; exit 0 verified, 1 not')
    .argument('<file>', 'proof file')
    .addOption(keyOpt())
    .addOption(json())
    .action(action((file: string, o: { json?: boolean; key?: string[] }) => cmdVerifyProof(file, o)));

  program
    .command('export')
    .description('write a self-contained, offline-verifiable bundle of the selected events (recorded as an audit event)')
    .requiredOption('--out <dir>', 'new or empty directory')
    .option('--namespace <name>', 'only this namespace')
    .option('--from <time>', 'events that occurred at or after this date or RFC 3339 instant')
    .option('--to <time>', 'events that occurred at or before this instant (a bare date means the end of that day)')
    .option('--actor <id>', 'events by this actor id')
    .option('--resource <type:id>', 'events on this resource')
    .option('--subject <id>', 'events about this data subject')
    .option('--by <who>', 'who is exporting, recorded in the audit event (default: user@host)')
    .addOption(json())
    .action(action((o: ExportOpts) => cmdExport(o)));

  program
    .command('verify-bundle')
    .description('verify an export bundle offline (no database, no S3); exit 0 verified, 1 problems')
    .argument('<dir>', 'bundle directory')
    .addOption(keyOpt())
    .option('--report <file.html>', 'also write the verification as one self-contained HTML page')
    .addOption(json())
    .action(action((dir: string, o: { json?: boolean; key?: string[]; report?: string }) => cmdVerifyBundle(dir, o)));
}

async function cmdProve(eventId: string): Promise<number> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(eventId)) {
    process.stderr.write(`wormseal prove: event id must be a lowercase UUID, got ${JSON.stringify(eventId)}\n`);
    return EXIT.USAGE;
  }
  const ctx = createContext('db+s3');
  try {
    const proof = await createProver({ pool: ctx.pool, store: ctx.store() }).prove(eventId);
    process.stdout.write(encodeProof(proof));
    return EXIT.OK;
  } catch (e) {
    if (!(e instanceof ProveError)) throw e;
    process.stderr.write(`wormseal prove: ${e.message}\n`);
    return EXIT.FAILED;
  } finally {
    await ctx.close();
  }
}

function trustedKeys(files: string[] | undefined): PublishedKey[] | undefined {
  return files?.map((f) => decodeKeyDocument(readFileSync(f, 'utf8')));
}

async function cmdVerifyProof(file: string, o: { json?: boolean; key?: string[] }): Promise<number> {
  let bytes: Buffer;
  let keys: PublishedKey[] | undefined;
  try {
    bytes = readFileSync(file);
    keys = trustedKeys(o.key);
  } catch (e) {
    process.stderr.write(`wormseal verify-proof: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
  const v = verifyProofBytes(bytes, keys);
  if (o.json) printJson(v);
  else if (v.ok) {
    println(
      `event ${v.event_id} is leaf of ${v.stream!.namespace}/${v.stream!.retention_class} batch ${v.batch_no}, chained to head batch ` +
        `${v.head_batch_no} in the checkpoint of ${v.checkpoint_time} signed by ${v.signed_by}`,
    );
    println('VERIFIED');
  } else {
    for (const p of v.problems) println(`PROOF_INVALID ${file}: ${p}`);
    println('NOT VERIFIED');
  }
  return v.ok ? EXIT.OK : EXIT.FAILED;
}

interface ExportOpts {
  out: string;
  namespace?: string;
  from?: string;
  to?: string;
  actor?: string;
  resource?: string;
  subject?: string;
  by?: string;
  json?: boolean;
}

function usage(msg: string): number {
  process.stderr.write(`wormseal export: ${msg}\n`);
  return EXIT.USAGE;
}

async function cmdExport(o: ExportOpts): Promise<number> {
  if ([o.actor, o.resource, o.subject].filter((x) => x !== undefined).length > 1) return usage('give at most one of --actor, --resource, --subject');
  let sel: Selection;
  try {
    // The same options, and the same parser, as a hold's scope (event type aside).
    sel = parseScope(o, { allowEmpty: true });
  } catch (e) {
    if (e instanceof ScopeError) return usage(e.message);
    throw e;
  }
  const ctx = createContext('db+s3');
  try {
    const bar = createProgress('export', { enabled: progressWanted(), unit: 'batches' });
    const res = await exportBundle(
      {
        pool: ctx.pool,
        store: ctx.store(),
        clock,
        logger: ctx.logger,
        schedule: ctx.config.schedule,
        maxEventBytes: ctx.config.maxEventBytes,
        progress: (d, t) => bar.update(d, t),
      },
      sel,
      o.out,
      { id: o.by ?? `${userInfo().username}@${hostname()}`, type: 'user' },
    ).finally(() => bar.done());
    if (o.json) printJson(res);
    else {
      println(`exported ${res.events} event(s) from ${res.batches} batch(es) in ${res.streams} stream(s) to ${res.out}`);
      println(`anchored to checkpoint ${res.checkpoint}; recorded as audit event ${res.audit_event_id}`);
      println(`check it with: wormseal verify-bundle ${res.out}   (or by hand: ${res.out}/VERIFY.md)`);
    }
    return EXIT.OK;
  } finally {
    await ctx.close();
  }
}

async function cmdVerifyBundle(dir: string, o: { json?: boolean; key?: string[]; report?: string }): Promise<number> {
  const reportProblem = o.report ? await reportPathProblem(o.report) : undefined;
  if (reportProblem) {
    process.stderr.write(`wormseal: ${reportProblem}\n`);
    return EXIT.USAGE;
  }
  let report: BundleReport;
  try {
    report = await verifyBundle(dir, { ...(o.key ? { trustedKeys: trustedKeys(o.key)! } : {}) });
  } catch (e) {
    if (!(e instanceof BundleError) && !(e instanceof NoteError) && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    process.stderr.write(`wormseal verify-bundle: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
  if (o.json) printJson(report);
  else {
    for (const p of report.problems) println(formatProblem(p));
    println(
      `${report.batches_valid}/${report.batches_checked} batches valid, ${report.events_checked} events checked in ` +
        `${report.streams_checked} stream(s); ${report.problems.length} problem(s)`,
    );
    const cp = report.checkpoint;
    println(
      cp
        ? `anchored to checkpoint ${cp.key} (${cp.time}) signed by ${cp.signed_by}${cp.timestamped_at ? `, RFC 3161 time-stamp ${cp.timestamped_at}` : ''}`
        : 'no valid signed checkpoint',
    );
    println(report.ok ? 'VERIFIED' : 'NOT VERIFIED');
  }
  if (o.report) {
    await writeBundleReport(o.report, report, { dir, now: clock.now() });
    if (!o.json) println(`report written to ${o.report}`);
  }
  return report.ok ? EXIT.OK : EXIT.FAILED;
}
