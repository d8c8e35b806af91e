// vitest globalSetup: find or start PostgreSQL + an S3 endpoint with Object Lock, hand the
// coordinates to test files through provide()/inject() (workers do not see process.env changes
// made here).
//
// Order, first that works wins:
//   (a) env: DATABASE_URL + WORMSEAL_S3_ENDPOINT + AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//   (b) testcontainers: postgres:15 + localstack/localstack:4.14.0, if a container runtime answers
//   (c) stack: `bash localstack/stack.sh start DIR` (PostgreSQL + Ceph RGW on loopback, no Docker)
// WORMSEAL_TEST_BACKEND=env|testcontainers|stack restricts the search to one of them.
// If nothing works the run fails with the reason of every attempt: integration tests are never
// skipped for want of a backend.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { parseEnvLines, runStack, STACK_SH, type RunResult } from './stack.js';

export type BackendKind = 'env' | 'testcontainers' | 'stack';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL (may CREATE/DROP DATABASE); see createTestDatabase() in ./backend.ts. */
    databaseUrl: string;
    s3Endpoint: string;
    s3Region: string;
    s3AccessKeyId: string;
    s3SecretAccessKey: string;
    backend: BackendKind;
  }
}

interface Backend {
  backend: BackendKind;
  databaseUrl: string;
  s3Endpoint: string;
  s3Region: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  teardown: () => Promise<void>;
}

const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0';
const POSTGRES_IMAGE = 'postgres:15';
const RUNTIME_PROBE_MS = 10_000;
const CONTAINERS_START_MS = 300_000; // first run pulls images
const STACK_START_MS = 600_000; // may apt-get install Ceph and PostgreSQL first
const PREFLIGHT_MS = 15_000;

const log = (msg: string) => process.stderr.write(`[global-setup] ${msg}\n`);
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Attempt failed in a way that should not stop the search for another backend. */
class NotAvailable extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// (a) environment
// ---------------------------------------------------------------------------------------------
function fromEnv(): Backend {
  const e = process.env;
  const missing = ['DATABASE_URL', 'WORMSEAL_S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter(
    (k) => !e[k],
  );
  if (missing.length) throw new NotAvailable(`not set: ${missing.join(', ')}`);
  return {
    backend: 'env',
    databaseUrl: e.DATABASE_URL!,
    s3Endpoint: e.WORMSEAL_S3_ENDPOINT!,
    s3Region: e.AWS_REGION || e.AWS_DEFAULT_REGION || 'us-east-1',
    s3AccessKeyId: e.AWS_ACCESS_KEY_ID!,
    s3SecretAccessKey: e.AWS_SECRET_ACCESS_KEY!,
    teardown: async () => {},
  };
}

// ---------------------------------------------------------------------------------------------
// (b) testcontainers
// ---------------------------------------------------------------------------------------------
async function fromTestcontainers(): Promise<Backend> {
  let tc: typeof import('testcontainers');
  let tcPg: typeof import('@testcontainers/postgresql');
  try {
    tc = await import('testcontainers');
    tcPg = await import('@testcontainers/postgresql');
  } catch (e) {
    throw new NotAvailable(`cannot import testcontainers: ${errText(e)}`);
  }
  try {
    await withTimeout(tc.getContainerRuntimeClient(), RUNTIME_PROBE_MS, 'container runtime probe');
  } catch (e) {
    throw new NotAvailable(`no container runtime: ${errText(e)}`);
  }

  log(`container runtime found; starting ${POSTGRES_IMAGE} and ${LOCALSTACK_IMAGE}`);
  const lsEnv: Record<string, string> = { SERVICES: 's3' };
  // Newer LocalStack images need an account token; pass one through when the caller has it.
  if (process.env.LOCALSTACK_AUTH_TOKEN) lsEnv.LOCALSTACK_AUTH_TOKEN = process.env.LOCALSTACK_AUTH_TOKEN;

  const [pgRes, lsRes] = await Promise.allSettled([
    withTimeout(
      new tcPg.PostgreSqlContainer(POSTGRES_IMAGE)
        .withDatabase('wormseal')
        .withUsername('postgres')
        .withPassword('postgres')
        // Throwaway database: durability off for speed; integration files open several pools.
        .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'])
        .start(),
      CONTAINERS_START_MS,
      `${POSTGRES_IMAGE} start`,
    ),
    withTimeout(
      new tc.GenericContainer(LOCALSTACK_IMAGE)
        .withEnvironment(lsEnv)
        .withExposedPorts(4566)
        .withWaitStrategy(tc.Wait.forAll([tc.Wait.forListeningPorts(), tc.Wait.forLogMessage('Ready.')]))
        .withStartupTimeout(CONTAINERS_START_MS)
        .start(),
      CONTAINERS_START_MS,
      `${LOCALSTACK_IMAGE} start`,
    ),
  ]);
  const stopBoth = async () => {
    await Promise.allSettled([
      pgRes.status === 'fulfilled' ? pgRes.value.stop() : undefined,
      lsRes.status === 'fulfilled' ? lsRes.value.stop() : undefined,
    ]);
  };
  if (pgRes.status === 'rejected' || lsRes.status === 'rejected') {
    await stopBoth();
    const reasons = [pgRes, lsRes].flatMap((r) => (r.status === 'rejected' ? [errText(r.reason)] : []));
    throw new Error(`containers failed to start: ${reasons.join('; ')}`);
  }
  const ls = lsRes.value;
  return {
    backend: 'testcontainers',
    databaseUrl: pgRes.value.getConnectionUri(),
    s3Endpoint: `http://${ls.getHost()}:${ls.getMappedPort(4566)}`,
    s3Region: 'us-east-1',
    s3AccessKeyId: 'test',
    s3SecretAccessKey: 'test',
    teardown: stopBoth,
  };
}

// ---------------------------------------------------------------------------------------------
// (c) localstack/stack.sh
// ---------------------------------------------------------------------------------------------
async function fromStack(): Promise<Backend> {
  // Our own dir (not stack.sh's default) so we know what to stop even if start fails half-way.
  const dir = await mkdtemp(join(tmpdir(), 'wormseal-stack-'));
  log(`starting bash ${STACK_SH} start ${dir}`);
  const t0 = Date.now();
  let res: RunResult;
  try {
    res = await runStack(['start', dir], STACK_START_MS);
  } catch (e) {
    throw new Error(`could not run bash ${STACK_SH}: ${errText(e)}`);
  }
  if (res.code !== 0) {
    throw new Error(
      `bash ${STACK_SH} start ${dir} ${res.signal ? `was killed (${res.signal}, timeout ${STACK_START_MS / 1000}s?)` : `exited with code ${res.code}`}; ` +
        `logs kept in ${dir}/logs. Last output:\n${res.stderrTail}`,
    );
  }
  const env = parseEnvLines(res.stdout);
  const need = ['DATABASE_URL', 'WORMSEAL_S3_ENDPOINT', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
  const missing = need.filter((k) => !env[k]);
  if (missing.length) {
    await runStack(['stop', dir], 60_000).catch(() => undefined);
    throw new Error(`stack.sh start printed no ${missing.join(', ')} (stdout: ${JSON.stringify(res.stdout)})`);
  }
  log(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (dir ${dir})`);
  return {
    backend: 'stack',
    databaseUrl: env.DATABASE_URL!,
    s3Endpoint: env.WORMSEAL_S3_ENDPOINT!,
    s3Region: env.AWS_REGION!,
    s3AccessKeyId: env.AWS_ACCESS_KEY_ID!,
    s3SecretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    teardown: async () => {
      const r = await runStack(['stop', dir], 120_000);
      if (r.code !== 0) log(`WARNING: stack.sh stop ${dir} exited with ${r.code ?? r.signal}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Preflight: fail with a clear message here rather than in every test file.
// ---------------------------------------------------------------------------------------------
async function preflight(b: Backend): Promise<void> {
  const client = new pg.Client({ connectionString: b.databaseUrl, connectionTimeoutMillis: PREFLIGHT_MS });
  try {
    await client.connect();
    const r = await client.query<{ rolsuper: boolean; rolcreatedb: boolean }>(
      'SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user',
    );
    const row = r.rows[0];
    if (!row?.rolsuper && !row?.rolcreatedb) {
      throw new Error('the DATABASE_URL role can not CREATE DATABASE (tests create one database per file)');
    }
  } catch (e) {
    throw new Error(`PostgreSQL at ${redact(b.databaseUrl)}: ${errText(e)}`);
  } finally {
    await client.end().catch(() => undefined);
  }

  const s3 = new S3Client({
    endpoint: b.s3Endpoint,
    region: b.s3Region,
    credentials: { accessKeyId: b.s3AccessKeyId, secretAccessKey: b.s3SecretAccessKey },
    forcePathStyle: true,
  });
  try {
    await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(PREFLIGHT_MS) });
  } catch (e) {
    throw new Error(`S3 at ${b.s3Endpoint}: ${errText(e)}`);
  } finally {
    s3.destroy();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

// ---------------------------------------------------------------------------------------------

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const only = process.env.WORMSEAL_TEST_BACKEND as BackendKind | undefined;
  const candidates: [BackendKind, () => Backend | Promise<Backend>][] = [
    ['env', fromEnv],
    ['testcontainers', fromTestcontainers],
    ['stack', fromStack],
  ];
  if (only && !candidates.some(([k]) => k === only)) {
    throw new Error(`WORMSEAL_TEST_BACKEND=${only}: expected env, testcontainers or stack`);
  }

  const tried: string[] = [];
  let backend: Backend | undefined;
  for (const [kind, start] of candidates) {
    if (only && kind !== only) {
      tried.push(`${kind}: skipped (WORMSEAL_TEST_BACKEND=${only})`);
      continue;
    }
    let b: Backend;
    try {
      b = await start();
    } catch (e) {
      tried.push(`${kind}: ${errText(e)}`);
      log(`${kind} backend not used: ${errText(e).split('\n')[0]}`);
      continue;
    }
    try {
      await preflight(b);
    } catch (e) {
      await b.teardown().catch(() => undefined);
      // Explicit env coordinates that do not work are a configuration error: say so instead of
      // silently starting something else.
      if (kind === 'env') {
        throw new Error(`test backend from environment is not usable: ${errText(e)}`);
      }
      tried.push(`${kind}: started but not usable: ${errText(e)}`);
      continue;
    }
    backend = b;
    break;
  }

  if (!backend) {
    throw new Error(
      'No PostgreSQL + S3 (Object Lock) backend for the tests. Tried, in order:\n' +
        tried.map((t, i) => `  ${i + 1}. ${t.replace(/\n/g, '\n     ')}`).join('\n') +
        '\nSet DATABASE_URL, WORMSEAL_S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' +
        'run a Docker-compatible runtime, or make `bash localstack/stack.sh start` work on this machine.',
    );
  }

  log(`backend: ${backend.backend} (postgres ${redact(backend.databaseUrl)}, s3 ${backend.s3Endpoint})`);
  project.provide('backend', backend.backend);
  project.provide('databaseUrl', backend.databaseUrl);
  project.provide('s3Endpoint', backend.s3Endpoint);
  project.provide('s3Region', backend.s3Region);
  project.provide('s3AccessKeyId', backend.s3AccessKeyId);
  project.provide('s3SecretAccessKey', backend.s3SecretAccessKey);

  const b = backend;
  return async () => {
    log(`stopping ${b.backend} backend`);
    await b.teardown();
  };
}
