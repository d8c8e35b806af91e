/**
 * Operations around the sealer: concurrent `wormseal migrate`, the scheduled `wormseal worker` and
 * its SIGTERM shutdown, the append-only triggers (DESIGN 8) and the writer / examiner roles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/config/clock.js';
import { listMigrations } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { appendEvents } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { createTestDatabase } from '../support/backend.js';
import { ROOT, runCli, setupHarness, type Harness } from './harness.js';

let eventNo = 0;
function makeEvent(namespace: string, eventType = 'payment.created'): EventInput {
  const n = eventNo++;
  return {
    event_id: randomUUID(),
    namespace,
    event_type: eventType,
    occurred_at: new Date(Date.UTC(2026, 10, 3, 10, 0, 0) + n * 1000).toISOString(),
    actor: { id: `u_${n % 7}`, type: 'user', email: `u${n % 7}@example.com` },
    resource: { type: 'payment', id: `pay_${n}` },
    outcome: 'success',
  };
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Running {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the real CLI (as runCli does) but keep the child, for long-running commands. */
function startCli(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stderr: () => stderr, exited };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Sealed events per namespace, from the registry. */
async function sealedCount(pool: Pool, namespace: string): Promise<number> {
  const r = await pool.query<{ n: string | null }>(
    "SELECT sum(leaf_count)::text AS n FROM wormseal.batches WHERE namespace = $1 AND state = 'sealed'",
    [namespace],
  );
  return Number(r.rows[0]!.n ?? 0);
}

describe('wormseal migrate from two processes at once', () => {
  it('both exit 0 and the schema is applied exactly once', async () => {
    const db = await createTestDatabase('migrate_race');
    try {
      const env = { DATABASE_URL: db.url };
      const [a, b] = await Promise.all([runCli(['migrate'], { env }), runCli(['migrate'], { env })]);
      expect([a.code, b.code, a.signal, b.signal]).toEqual([0, 0, null, null]);
      expect(a.stderr + b.stderr).toBe('');
      const migrations = listMigrations();
      const last = migrations.at(-1)!.version;
      // One process applied the migrations, the other waited on the lock and found nothing to do.
      expect([a.stdout, b.stdout].sort()).toEqual([
        `applied ${migrations.map((m) => m.name).join(', ')}; schema at version ${last}\n`,
        `schema up to date at version ${last}\n`,
      ]);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const rows = await c.query<{ version: number; name: string }>('SELECT version, name FROM wormseal.schema_migrations ORDER BY version');
        expect(rows.rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
        const tables = await c.query<{ t: string }>(
          "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'wormseal' ORDER BY table_name",
        );
        expect(tables.rows.map((r) => r.t)).toEqual([
          'batch_index', 'batches', 'checkpoints', 'events', 'hold_batches', 'holds', 'purge_gate', 'schema_migrations', 'streams', 'tombstones',
        ]);
      } finally {
        await c.end();
      }
      // A third run later changes nothing either.
      const c3 = await runCli(['migrate'], { env });
      expect({ code: c3.code, stdout: c3.stdout }).toEqual({ code: 0, stdout: `schema up to date at version ${last}\n` });
    } finally {
      await db.drop();
    }
  });
});

describe('wormseal worker, triggers and roles', () => {
  let h: Harness;
  let worker: Running | undefined;
  const roles: string[] = [];
  const pools: Pool[] = [];
  beforeAll(async () => {
    h = await setupHarness('worker');
  });
  afterAll(async () => {
    // Only the process this file started, if a failed test left it running.
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    for (const p of pools) await p.end().catch(() => {});
    for (const r of roles) await h.pool.query(`DROP ROLE IF EXISTS ${r}`).catch(() => {});
    await h?.close();
  });

  const ingestDeps = (pool: Pool) => ({ pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 });

  it('worker seals events ingested while it runs on its cron schedule, and exits 0 on SIGTERM', async () => {
    const ns = 'worker';
    worker = startCli(['worker'], { ...h.env, WORMSEAL_SEAL_CRON: '*/2 * * * * *' });
    await withTimeout(
      waitFor('the worker to start', () => worker!.stderr().includes('worker started')),
      60_000,
      'worker start',
    ).catch((e) => {
      throw new Error(`${(e as Error).message}; worker stderr:\n${worker!.stderr()}`);
    });
    expect(worker.stderr()).toContain('worker started: sealing on "*/2 * * * * *" into s3://');

    // Two rounds of events, each sealed by a later tick without anyone calling seal.
    const first = [...Array.from({ length: 12 }, () => makeEvent(ns)), ...Array.from({ length: 8 }, () => makeEvent(ns, 'user.login'))];
    expect(await appendEvents(ingestDeps(h.pool), first)).toMatchObject({ accepted: 20, rejected: 0 });
    await waitFor('the worker to seal the first 20 events', async () => (await sealedCount(h.pool, ns)) === 20);

    const second = Array.from({ length: 15 }, () => makeEvent(ns));
    expect(await appendEvents(ingestDeps(h.pool), second)).toMatchObject({ accepted: 15, rejected: 0 });
    await waitFor('the worker to seal the next 15 events', async () => (await sealedCount(h.pool, ns)) === 35);

    worker.child.kill('SIGTERM');
    const exit = await withTimeout(worker.exited, 20_000, 'worker exit after SIGTERM');
    const log = worker.stderr();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(log).toContain('SIGTERM: stopping after the current run');
    expect(log).toContain('worker stopped');
    expect(log.indexOf('worker stopped')).toBeGreaterThan(log.indexOf('SIGTERM: stopping'));
    expect(log).not.toMatch(/seal run failed|^error/m);

    const batches = await h.pool.query<{ state: string; n: number }>(
      "SELECT state, count(*)::int AS n FROM wormseal.batches WHERE namespace = $1 GROUP BY state",
      [ns],
    );
    expect(batches.rows).toEqual([{ state: 'sealed', n: expect.any(Number) }]);
    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace: ns });
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, events_checked: 35 });
  });

  it('append-only triggers refuse UPDATE, DELETE and TRUNCATE on events, even for a superuser', async () => {
    const ns = 'append-only';
    expect(await appendEvents(ingestDeps(h.pool), [makeEvent(ns), makeEvent(ns)])).toMatchObject({ accepted: 2 });
    expect((await h.pool.query<{ s: string }>("SELECT current_setting('is_superuser') AS s")).rows[0]!.s).toBe('on');
    const snapshot = async () =>
      (await h.pool.query<{ event_id: string; outcome: string; canonical: Buffer }>('SELECT event_id, outcome, canonical FROM wormseal.events ORDER BY event_id')).rows;
    const before = await snapshot();

    for (const [sql, op] of [
      ["UPDATE wormseal.events SET outcome = 'failure'", 'UPDATE'],
      [`DELETE FROM wormseal.events WHERE namespace = '${ns}'`, 'DELETE'],
      ['TRUNCATE wormseal.events CASCADE', 'TRUNCATE'],
    ] as const) {
      const err = await h.pool.query(sql).then(
        () => undefined,
        (e: pg.DatabaseError) => e,
      );
      expect({ sql, code: err?.code, message: err?.message }).toEqual({
        sql,
        code: '42501',
        message: `wormseal.events is append-only: ${op} refused`,
      });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a wormseal_writer login can INSERT events but not read actor_id or DELETE; a wormseal_examiner login can read but not INSERT', async () => {
    const suffix = randomBytes(4).toString('hex');
    const writer = `ws_test_writer_${suffix}`;
    const examiner = `ws_test_examiner_${suffix}`;
    const password = randomBytes(12).toString('hex');
    for (const [role, group] of [
      [writer, 'wormseal_writer'],
      [examiner, 'wormseal_examiner'],
    ] as const) {
      await h.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE ${group}`);
      roles.push(role);
    }
    const poolAs = (role: string) => {
      const url = new URL(h.databaseUrl);
      url.username = role;
      url.password = password;
      const p = createPool(url.toString(), 2);
      pools.push(p);
      return p;
    };
    const asWriter = poolAs(writer);
    const asExaminer = poolAs(examiner);
    const ns = `roles-${suffix}`;

    // Writer: appends through the library, including the idempotent resubmission path.
    const events = [makeEvent(ns), makeEvent(ns, 'user.login'), makeEvent(ns)];
    const res = await appendEvents(ingestDeps(asWriter), events);
    expect(res.errors).toEqual([]);
    expect(res).toMatchObject({ accepted: 3, rejected: 0, duplicates: 0 });
    expect(await appendEvents(ingestDeps(asWriter), events)).toMatchObject({ accepted: 3, rejected: 0, duplicates: 3 });
    const stored = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM wormseal.events WHERE namespace = $1', [ns]);
    expect(stored.rows[0]!.n).toBe(3);

    const denied = async (pool: Pool, sql: string) =>
      pool.query(sql).then(
        () => 'allowed',
        (e: pg.DatabaseError) => `${e.code}: ${e.message}`,
      );
    expect(await denied(asWriter, 'SELECT actor_id FROM wormseal.events')).toBe('42501: permission denied for table events');
    expect(await denied(asWriter, 'SELECT canonical FROM wormseal.events')).toBe('42501: permission denied for table events');
    expect(await denied(asWriter, 'SELECT * FROM wormseal.events')).toBe('42501: permission denied for table events');
    expect(await denied(asWriter, `DELETE FROM wormseal.events WHERE namespace = '${ns}'`)).toBe('42501: permission denied for table events');
    expect(await denied(asWriter, 'SELECT * FROM wormseal.batches')).toBe('42501: permission denied for table batches');

    // Examiner: reads every column, writes nothing.
    const read = await asExaminer.query<{ n: number; actors: string[] }>(
      'SELECT count(*)::int AS n, array_agg(actor_id ORDER BY actor_id) AS actors FROM wormseal.events WHERE namespace = $1',
      [ns],
    );
    expect(read.rows[0]!.n).toBe(3);
    expect(read.rows[0]!.actors).toEqual(events.map((e) => e.actor.id).sort());
    const refused = await appendEvents(ingestDeps(asExaminer), [makeEvent(ns)]);
    expect(refused).toMatchObject({ accepted: 0, rejected: 1 });
    expect(refused.errors[0]!.reason).toMatch(/^database refused the event: permission denied for table (streams|events)$/);
    expect(
      await denied(
        asExaminer,
        `INSERT INTO wormseal.events (event_id, namespace, retention_class, event_type, occurred_at, recorded_at, actor_id, actor_type, outcome, canonical)
         VALUES ('${randomUUID()}', '${ns}', 'sox-7y', 'payment.created', now(), now(), 'x', 'user', 'success', '\\x7b7d')`,
      ),
    ).toBe('42501: permission denied for table events');
    expect(await denied(asExaminer, `DELETE FROM wormseal.events WHERE namespace = '${ns}'`)).toBe('42501: permission denied for table events');
    expect((await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM wormseal.events WHERE namespace = $1', [ns])).rows[0]!.n).toBe(3);
  });
});
