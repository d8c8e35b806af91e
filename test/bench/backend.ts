/**
 * Where the benchmark runs: PostgreSQL + S3 with Object Lock from the environment when
 * DATABASE_URL, WORMSEAL_S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are all set,
 * else a throwaway no-Docker stack (localstack/stack.sh) started here and stopped at the end.
 * Every scenario gets its own database and bucket.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createLockedBucket } from '../../src/archive/bucket.js';
import { createS3Client, S3ObjectStore } from '../../src/archive/s3.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { parseEnvLines, runStack } from '../support/stack.js';

export interface S3Coords {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Backend {
  source: string;
  /** Superuser URL: may CREATE DATABASE. */
  databaseUrl: string;
  s3: S3Coords;
  stop(): Promise<void>;
}

export async function startBackend(log: (m: string) => void): Promise<Backend> {
  const e = process.env;
  if (e.DATABASE_URL && e.WORMSEAL_S3_ENDPOINT && e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY) {
    return {
      source: 'environment',
      databaseUrl: e.DATABASE_URL,
      s3: { endpoint: e.WORMSEAL_S3_ENDPOINT, region: e.AWS_REGION || 'us-east-1', accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
      stop: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'wormseal-bench-'));
  log(`starting bash localstack/stack.sh start ${dir}`);
  const res = await runStack(['start', dir], 600_000);
  const env = parseEnvLines(res.stdout);
  const stop = async () => {
    const r = await runStack(['stop', dir], 120_000);
    if (r.code !== 0) log(`WARNING: stack.sh stop ${dir} exited with ${r.code ?? r.signal}`);
  };
  if (res.code !== 0 || !env.DATABASE_URL || !env.WORMSEAL_S3_ENDPOINT) {
    await stop().catch(() => {});
    throw new Error(`localstack/stack.sh start ${dir} failed (code ${res.code}):\n${res.stderrTail}`);
  }
  return {
    source: `localstack/stack.sh (PostgreSQL 15 + Ceph RGW, ${dir})`,
    databaseUrl: env.DATABASE_URL,
    s3: { endpoint: env.WORMSEAL_S3_ENDPOINT, region: env.AWS_REGION!, accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    stop,
  };
}

/** One scenario's own migrated database and Object Lock bucket. */
export interface Workspace {
  databaseUrl: string;
  pool: Pool;
  bucket: string;
  store: S3ObjectStore;
  /** Environment for a wormseal process working here. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function createWorkspace(b: Backend, label: string, poolSize = 20): Promise<Workspace> {
  const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: b.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(b.databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolSize);
  await migrate(pool);
  const client = createS3Client({ region: b.s3.region, endpoint: b.s3.endpoint, accessKeyId: b.s3.accessKeyId, secretAccessKey: b.s3.secretAccessKey });
  const bucket = `ws-bench-${label.replace(/[^a-z0-9]/g, '')}-${randomBytes(3).toString('hex')}`;
  await createLockedBucket(client, bucket, 1);
  return {
    databaseUrl: url.toString(),
    pool,
    bucket,
    store: new S3ObjectStore(client, bucket),
    env: {
      DATABASE_URL: url.toString(),
      WORMSEAL_BUCKET: bucket,
      WORMSEAL_S3_ENDPOINT: b.s3.endpoint,
      AWS_REGION: b.s3.region,
      AWS_ACCESS_KEY_ID: b.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: b.s3.secretAccessKey,
      // A fresh key per workspace: the sealer signs a checkpoint after its run, as in production,
      // and the prove scenario needs one (a proof is anchored to a signed checkpoint).
      WORMSEAL_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      WORMSEAL_SIGNING_KEY_NAME: 'bench',
    },
    async close() {
      await pool.end();
      client.destroy();
      // Objects stay (they are locked); the database goes, to keep the disk for the next scenario.
      const a = new pg.Client({ connectionString: b.databaseUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}
