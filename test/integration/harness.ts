/**
 * Integration harness: each test file gets its own database (migrated) and its own Object Lock
 * bucket on the real S3 server the global setup found (env, testcontainers or the no-Docker stack).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLockedBucket } from '../../src/archive/bucket.js';
import { createS3Client, S3ObjectStore } from '../../src/archive/s3.js';
import { systemClock, type Clock } from '../../src/config/clock.js';
import { readHorizon } from '../../src/db/events.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { builtinSchedule } from '../../src/retention/builtin.js';
import { buildSchedule, type RetentionSchedule, type ScheduleFile } from '../../src/retention/schedule.js';
import type { SealDeps } from '../../src/seal/deps.js';
import { createTestDatabase, s3Config } from '../support/backend.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Harness {
  pool: Pool;
  store: S3ObjectStore;
  bucket: string;
  databaseUrl: string;
  /** Environment for running the CLI against this database and bucket. */
  env: Record<string, string>;
  schedule: RetentionSchedule;
  logger: Logger;
  sealDeps(overrides?: Partial<SealDeps> & { batchSize?: number; clock?: Clock }): SealDeps;
  close(): Promise<void>;
}

/** A schedule with a few-second class for tests that need retention to expire. */
export const TEST_SCHEDULE: ScheduleFile = {
  classes: [
    { name: 'short', duration: 'PT3S', citation: 'test: expires in seconds' },
    { name: 'sox-7y', duration: 'P7Y', citation: 'SOX § 802' },
    { name: 'soc2-1y', duration: 'P1Y', citation: 'SOC 2' },
  ],
  rules: [
    { match: 'temp.*', class: 'short' },
    { match: 'payment.*', class: 'sox-7y' },
    { match: 'user.*', class: 'soc2-1y' },
  ],
  default: 'sox-7y',
};

export async function setupHarness(name: string, opts: { schedule?: ScheduleFile } = {}): Promise<Harness> {
  const db = await createTestDatabase(name);
  const pool = createPool(db.url, 20);
  await migrate(pool);
  const s3 = s3Config();
  const bucket = `ws-${name.replace(/[^a-z0-9-]/g, '-')}-${randomBytes(4).toString('hex')}`.slice(0, 63);
  const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  await createLockedBucket(client, bucket, 1);
  const store = new S3ObjectStore(client, bucket);
  const schedule = opts.schedule ? buildSchedule(opts.schedule, 'test') : builtinSchedule();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    WORMSEAL_BUCKET: bucket,
    WORMSEAL_S3_ENDPOINT: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  if (opts.schedule) {
    const dir = mkdtempSync(join(tmpdir(), 'wormseal-schedule-'));
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(opts.schedule));
    env.WORMSEAL_RETENTION_FILE = join(dir, 'schedule.json');
  }
  const logger = createLogger({ level: process.env.WORMSEAL_TEST_LOG ? 'debug' : 'error' });
  return {
    pool,
    store,
    bucket,
    databaseUrl: db.url,
    env,
    schedule,
    logger,
    sealDeps: (o = {}) => ({
      pool,
      store,
      clock: o.clock ?? systemClock,
      logger,
      config: { batchSize: o.batchSize ?? 100_000, schedule, lagWarnSeconds: 300 },
      ...(o.faults ? { faults: o.faults } : {}),
    }),
    async close() {
      await pool.end();
      client.destroy();
      await db.drop();
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (TypeScript sources through tsx) as a child process. */
export function runCli(args: string[], opts: { env: Record<string, string>; input?: string }): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function ndjson(events: unknown[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

/** Poll a condition (never a fixed sleep as the assertion); throws naming what did not happen. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The horizon is cluster-wide: a transaction of another test file (another database) can hold it
 * back for a while. Wait until every transaction that wrote events here (of `namespace`, if given)
 * has finished, before expecting those events to be sealed.
 */
export async function waitUntilSealable(pool: Pool, namespace?: string): Promise<void> {
  const r = await pool.query<{ t: string | null }>(
    'SELECT max(txid)::text AS t FROM wormseal.events WHERE $1::text IS NULL OR namespace = $1',
    [namespace ?? null],
  );
  const max = BigInt(r.rows[0]!.t ?? '0');
  await waitFor(`the xmin horizon to pass txid ${max}`, async () => (await readHorizon(pool)) > max, 120_000);
}
