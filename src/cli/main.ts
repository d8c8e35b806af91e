#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/errors.js';
import { cmdBucketCreate, cmdDoctor, cmdIngest, cmdMigrate, cmdSeal, cmdVerify, cmdWorker } from './commands.js';
import { registerHoldCommands } from './holds.js';
import { registerRetentionCommands } from './retention.js';
import { registerExamine } from './examine.js';
import { EXIT } from './output.js';

const ENV_HELP = `
Environment:
  DATABASE_URL            postgres://user:pass@host:5432/db (required)
  WORMSEAL_BUCKET         S3 bucket with Object Lock (required for seal, worker, verify, doctor)
  WORMSEAL_S3_ENDPOINT    custom S3 endpoint (Ceph RGW, LocalStack, MinIO); path-style when set
  AWS_REGION              region of the bucket (required with WORMSEAL_BUCKET)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   credentials (else the AWS SDK's default chain)
  WORMSEAL_BATCH_SIZE     events per batch at most (default 100000)
  WORMSEAL_SEAL_CONCURRENCY  streams sealed at once (default 2)
  WORMSEAL_MAX_EVENT_BYTES  canonical size limit per event (default 65536)
  WORMSEAL_SEAL_CRON      worker schedule, node-cron syntax (default "* * * * *")
  WORMSEAL_RETENTION_FILE JSON retention schedule replacing the built-in one
  WORMSEAL_LAG_WARN_SECONDS  warn when an open transaction holds sealing back longer (default 300)
  WORMSEAL_HOT_WINDOW     how long sealed rows stay in Postgres before retention apply purges them (ISO 8601, default P30D)
  WORMSEAL_RETENTION_CRON worker's retention apply schedule, node-cron syntax (default "17 3 * * *")
  WORMSEAL_SIGNING_KEY_FILE  Ed25519 private key (PEM) that signs checkpoints after each seal run
  WORMSEAL_SIGNING_KEY    the same PEM given inline (one of the two; without either, no checkpoints)
  WORMSEAL_SIGNING_KEY_NAME  key name in checkpoints and the published key (default "wormseal")
  WORMSEAL_SIGNING_KEY_VALID_UNTIL  end of the key's validity window, fixed when it is first published
  WORMSEAL_TSA_URL        RFC 3161 time-stamping authority that also stamps each checkpoint (optional)
  WORMSEAL_HUGEPAGES=0    do not restart verify and verify-bundle with huge-page malloc (Linux, glibc;
                          GLIBC_TUNABLES=glibc.malloc.hugetlb=1, set by the wormseal command by default)
  WORMSEAL_NATIVE=0       hash and gunzip with node:crypto and node:zlib, not the native addon that
                          npm run build compiles where a C compiler is found (same results, more CPU)

Exit codes: 0 done / verified, 1 something failed or did not verify, 2 usage or configuration error.`;

// The package version, found by walking up from this file (src/cli under tsx, dist/src/cli built).
function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const json = () => new Option('--json', 'print one JSON document on stdout (logs stay on stderr)');

function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    process.exitCode = await fn(...args);
  };
}

const program = new Command()
  .name('wormseal')
  .description('Seal audit events from PostgreSQL into RFC 6962 Merkle batches on S3 Object Lock, and verify them.')
  .version(packageVersion())
  .addHelpText('after', ENV_HELP)
  .exitOverride()
  .showHelpAfterError('(run wormseal --help for usage)');

program.command('migrate').description('apply database migrations (safe to run from several processes at once)').action(action(cmdMigrate));

program
  .command('ingest')
  .description('ingest NDJSON events from FILE or stdin; exit 1 if any line was rejected')
  .argument('[file]', 'NDJSON file, or - for stdin', '-')
  .addOption(json())
  .action(action((file: string, o: { json?: boolean }) => cmdIngest(file, o)));

program
  .command('seal')
  .description('seal every event below the horizon now, in all streams')
  .option('--namespace <name>', 'only this namespace')
  .addOption(json())
  .action(action((o: { json?: boolean; namespace?: string }) => cmdSeal(o)));

program
  .command('worker')
  .description('seal on WORMSEAL_SEAL_CRON and run retention apply on WORMSEAL_RETENTION_CRON until SIGTERM')
  .action(action(cmdWorker));

program
  .command('verify')
  .description('verify every sealed batch against S3, its manifest chain and the hot rows')
  .option('--namespace <name>', 'only this namespace')
  .option('--report <file.html>', 'also write the verification as one self-contained HTML page (timelines, holds, retention)')
  .addOption(json())
  .addHelpText('after', '\nOn a terminal, a progress bar (batches, rate, ETA) is drawn on stderr; pipes and logs get none.')
  .action(action((o: { json?: boolean; namespace?: string; report?: string }) => cmdVerify(o)));

program
  .command('doctor')
  .description('check the database, the bucket protection (Object Lock, versioning, default COMPLIANCE) and clock skew')
  .addOption(json())
  .action(action((o: { json?: boolean }) => cmdDoctor(o)));

registerExamine(program, action);

const bucket = program.command('bucket').description('bucket administration');
bucket
  .command('create')
  .description('create WORMSEAL_BUCKET with Object Lock, versioning and a default COMPLIANCE retention')
  .option('--default-retention-days <days>', 'default COMPLIANCE retention for objects written without lock headers', '1')
  .addOption(json())
  .action(action((o: { json?: boolean; defaultRetentionDays: string }) => cmdBucketCreate(o)));

registerRetentionCommands(program, { json, action });
registerHoldCommands(program, { json, action });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.OK : EXIT.USAGE;
  } else if (e instanceof ConfigError) {
    process.stderr.write(`wormseal: ${e.message}\n`);
    process.exitCode = EXIT.USAGE;
  } else {
    const err = e as Error;
    process.stderr.write(`wormseal: ${err.message}${err.cause ? ` (cause: ${(err.cause as Error).message ?? err.cause})` : ''}\n`);
    process.exitCode = EXIT.FAILED;
  }
}
