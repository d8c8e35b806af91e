/**
 * DESIGN 4 and 5 under concurrency, on real PostgreSQL and S3 Object Lock: writers whose
 * transactions commit late or roll back, several sealers at once (two in this process, one as a
 * separate OS process through the CLI), and the xid8 horizon holding back events that committed
 * after an older, still-open transaction.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataObject } from '../../src/archive/batchfile.js';
import { systemClock } from '../../src/config/clock.js';
import { listBatches, listStreams, type BatchRow, type StreamId } from '../../src/db/batches.js';
import { insertEvents } from '../../src/db/events.js';
import { appendEvents } from '../../src/events/ingest.js';
import { prepareEvent, type PreparedEvent } from '../../src/events/prepare.js';
import type { EventInput } from '../../src/events/schema.js';
import { createLogger } from '../../src/log/logger.js';
import type { SealDeps } from '../../src/seal/deps.js';
import { sealAll, type SealReport } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { rng } from '../demo/generate.js';
import { runCli, setupHarness, waitFor, waitUntilSealable, type CliResult, type Harness } from './harness.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

let eventNo = 0;
function makeEvent(namespace: string, eventType: string): EventInput {
  const n = eventNo++;
  return {
    event_id: randomUUID(),
    namespace,
    event_type: eventType,
    occurred_at: new Date(Date.UTC(2026, 10, 1, 9, 0, 0) + n * 1000).toISOString(),
    actor: { id: `u_${n % 17}`, type: 'user' },
    resource: { type: 'thing', id: `t_${n}` },
    outcome: 'success',
    data: { n },
  };
}


function streamKey(s: StreamId): string {
  return `${s.namespace}/${s.retention_class}`;
}

/** Event ids of a sealed batch, read from its recorded data object version in S3. */
async function sealedLines(h: Harness, b: BatchRow): Promise<Buffer[]> {
  expect(b.state).toBe('sealed');
  return parseDataObject(await h.store.get(b.data_key, b.data_version_id!));
}

const idOf = (line: Buffer) => (JSON.parse(line.toString('utf8')) as { event_id: string }).event_id;

// ---------------------------------------------------------------------------------------------

describe('concurrent writers and sealers (DESIGN 4, 5)', () => {
  let h: Harness;
  let writerPool: pg.Pool;
  const prepOpts = () => ({ clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 });

  beforeAll(async () => {
    h = await setupHarness('concurrency');
    writerPool = new pg.Pool({ connectionString: h.databaseUrl, max: 14, application_name: 'wormseal-test-writer' });
    writerPool.on('error', () => {});
  });
  afterAll(async () => {
    await writerPool?.end();
    await h?.close();
  });

  it('seals every committed event exactly once, never a rolled-back one, with gapless batch numbers, while two in-process sealers and a CLI sealer run at once', async () => {
    const WRITERS = 12;
    const TXS = 20;
    const PER_TX = 5;
    const BATCH = 7;
    // Three streams; a transaction may write into several of them.
    const KINDS = [
      { namespace: 'conc-a', type: 'payment.created' }, // conc-a/sox-7y
      { namespace: 'conc-a', type: 'user.login' }, // conc-a/soc2-1y
      { namespace: 'conc-b', type: 'trade.executed' }, // conc-b/finra-6y
    ];

    const committed: string[] = [];
    const rolledBack: string[] = [];
    let lateCommits = 0;
    let writing = true;
    let sealerRuns = 0;
    const reports: { who: string; report: SealReport }[] = [];
    const cliRuns: CliResult[] = [];

    // The first writer error stops the others (a late one would otherwise wait for sealing runs
    // that no longer happen) and fails the test with that error.
    let aborted: unknown;
    const writer = async (w: number) => {
      const rand = rng(1000 + w);
      const client = await writerPool.connect();
      try {
        for (let t = 0; t < TXS && aborted === undefined; t++) {
          const roll = rand();
          const fate = roll < 0.15 ? 'rollback' : roll < 0.3 ? 'late' : 'commit';
          const evs: PreparedEvent[] = [];
          for (let i = 0; i < PER_TX; i++) {
            const k = KINDS[Math.floor(rand() * KINDS.length)]!;
            evs.push(prepareEvent(makeEvent(k.namespace, k.type), prepOpts()));
          }
          await client.query('BEGIN');
          // Two statements with a pause between them, so transactions interleave their seq values.
          await insertEvents(client, evs.slice(0, 2));
          await new Promise((r) => setTimeout(r, Math.floor(rand() * 4)));
          const inserted = await insertEvents(client, evs.slice(2));
          expect(inserted.size).toBe(PER_TX - 2);
          const ids = evs.map((e) => e.record.event_id);
          if (fate === 'rollback') {
            await client.query('ROLLBACK');
            rolledBack.push(...ids);
            continue;
          }
          if (fate === 'late') {
            // Stay open, with rows written, across two more sealing runs of any sealer.
            const target = sealerRuns + 2;
            await waitFor(`two sealing runs while writer ${w} holds a transaction open`, () => aborted !== undefined || sealerRuns >= target, 60_000);
            if (aborted !== undefined) throw new Error(`writer ${w} stopped: another writer failed`);
            lateCommits++;
          }
          await client.query('COMMIT');
          committed.push(...ids);
        }
      } catch (e) {
        aborted ??= e;
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    };

    const deps = h.sealDeps({ batchSize: BATCH });
    const inProcessSealer = async (who: string) => {
      while (writing) {
        reports.push({ who, report: await sealAll(deps) });
        sealerRuns++;
      }
    };
    const cliSealer = async () => {
      while (writing) {
        const r = await runCli(['seal', '--json'], { env: { ...h.env, WORMSEAL_BATCH_SIZE: String(BATCH) } });
        cliRuns.push(r);
        if (r.code === 0) reports.push({ who: 'cli', report: JSON.parse(r.stdout) as SealReport });
        sealerRuns++;
      }
    };

    const writers = Promise.allSettled(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(() => {
      writing = false;
    });
    const sealers = Promise.allSettled([inProcessSealer('a'), inProcessSealer('b'), cliSealer()]);
    const [written, sealed] = await Promise.all([writers, sealers]);
    // The first writer error is the cause; the others only stopped because of it.
    if (aborted !== undefined) throw aborted;
    for (const r of [...written, ...sealed]) if (r.status === 'rejected') throw r.reason;

    // The run really had late commits and rollbacks (the choices are seeded, so these are fixed).
    expect(lateCommits).toBeGreaterThan(0);
    expect(rolledBack.length).toBeGreaterThan(0);
    expect(committed.length + rolledBack.length).toBe(WRITERS * TXS * PER_TX);
    expect(cliRuns.length).toBeGreaterThan(0);
    for (const r of cliRuns) {
      expect({ code: r.code, signal: r.signal, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    }

    // Writers are done: one last run seals the rest.
    await waitUntilSealable(h.pool);
    reports.push({ who: 'final', report: await sealAll(deps) });
    for (const { report } of reports) expect(report.failures).toEqual([]);

    // The hot store holds exactly the committed events.
    const hot = await h.pool.query<{ event_id: string }>('SELECT event_id FROM wormseal.events');
    expect(hot.rows.map((r) => r.event_id).sort()).toEqual([...committed].sort());

    // Registry: every batch sealed, numbered 1..n per stream, at most BATCH leaves.
    const streams = await listStreams(h.pool);
    expect(streams.map(streamKey).sort()).toEqual(['conc-a/soc2-1y', 'conc-a/sox-7y', 'conc-b/finra-6y']);
    const registry = new Map<string, BatchRow[]>();
    for (const s of streams) {
      const batches = await listBatches(h.pool, s);
      registry.set(streamKey(s), batches);
      expect(batches.map((b) => b.batch_no)).toEqual(batches.map((_, i) => i + 1));
      expect(batches.filter((b) => b.state !== 'sealed')).toEqual([]);
      for (const b of batches) expect(b.leaf_count).toBeLessThanOrEqual(BATCH);
    }

    // Each batch was reported by exactly one sealing run, and never as resumed (nothing crashed).
    const reported = reports.flatMap(({ report }) => report.batches.map((b) => `${streamKey(b.stream)}#${b.batch_no}`));
    const inRegistry = [...registry].flatMap(([s, bs]) => bs.map((b) => `${s}#${b.batch_no}`));
    expect([...reported].sort()).toEqual([...inRegistry].sort());
    expect(reports.flatMap(({ report }) => report.batches.filter((b) => b.resumed))).toEqual([]);

    // From the S3 objects themselves: the sealed multiset of event ids is exactly the committed set,
    // and per stream the lines are the hot rows in (txid, seq) order.
    const sealedIds: string[] = [];
    for (const [s, batches] of registry) {
      const [namespace, retention_class] = s.split('/') as [string, string];
      const lines: Buffer[] = [];
      for (const b of batches) {
        const l = await sealedLines(h, b);
        expect(l.length).toBe(b.leaf_count);
        lines.push(...l);
      }
      sealedIds.push(...lines.map(idOf));
      const rows = await h.pool.query<{ canonical: Buffer }>(
        'SELECT canonical FROM wormseal.events WHERE namespace = $1 AND retention_class = $2 ORDER BY txid, seq',
        [namespace, retention_class],
      );
      expect(lines.length).toBe(rows.rows.length);
      expect(lines.every((l, i) => l.equals(rows.rows[i]!.canonical))).toBe(true);
    }
    expect(sealedIds.length).toBe(committed.length);
    expect(new Set(sealedIds).size).toBe(sealedIds.length);
    expect([...sealedIds].sort()).toEqual([...committed].sort());
    const rolledBackSet = new Set(rolledBack);
    expect(sealedIds.filter((id) => rolledBackSet.has(id))).toEqual([]);

    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    expect(v.problems).toEqual([]);
    const batchCount = inRegistry.length;
    expect(v).toMatchObject({ ok: true, events_checked: committed.length, batches_checked: batchCount, batches_valid: batchCount, pending_batches: 0 });
  });

  it('numbers batches 1..n without gaps past batch 9 (numeric, not text, order of batch numbers)', async () => {
    const ns = 'many-batches';
    const stream = { namespace: ns, retention_class: 'sox-7y' };
    const events = Array.from({ length: 23 }, () => makeEvent(ns, 'payment.created'));
    const ingest = { pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 };
    expect((await appendEvents(ingest, events)).accepted).toBe(23);
    await waitUntilSealable(h.pool, ns);

    const report = await sealAll(h.sealDeps({ batchSize: 2 }), { namespace: ns });
    expect(report.failures).toEqual([]);
    expect(report.batches.map((b) => b.batch_no)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(report.batches.map((b) => b.leaf_count)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
    const batches = await listBatches(h.pool, stream);
    expect(batches.map((b) => b.batch_no)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const ids: string[] = [];
    for (const b of batches) ids.push(...(await sealedLines(h, b)).map(idOf));
    expect(ids).toEqual(events.map((e) => e.event_id));

    // A later run continues at 13, and verification sees an unbroken chain.
    expect((await appendEvents(ingest, [makeEvent(ns, 'payment.created')])).accepted).toBe(1);
    await waitUntilSealable(h.pool, ns);
    const next = await sealAll(h.sealDeps({ batchSize: 2 }), { namespace: ns });
    expect(next.failures).toEqual([]);
    expect(next.batches.map((b) => b.batch_no)).toEqual([13]);
    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace: ns });
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, events_checked: 24, batches_checked: 13, batches_valid: 13 });
  });

  it('writers creating the same new streams in opposite order neither block each other nor deadlock', async () => {
    // Two application transactions, each writing audit events through insertEvents in two
    // statements, into two streams that do not exist yet, in opposite order.
    const [x, y] = [
      { ns: 'newstream-x', type: 'payment.created' },
      { ns: 'newstream-y', type: 'payment.created' },
    ];
    const ev = (k: { ns: string; type: string }) => prepareEvent(makeEvent(k.ns, k.type), prepOpts());
    const c1 = await writerPool.connect();
    const c2 = await writerPool.connect();
    try {
      for (const c of [c1, c2]) {
        await c.query('BEGIN');
        // A writer that has to wait for another writer's transaction fails here instead of hanging.
        await c.query("SET LOCAL lock_timeout = '5s'");
      }
      await insertEvents(c1, [ev(x)]);
      await insertEvents(c2, [ev(y)]);
      const second = await Promise.allSettled([insertEvents(c1, [ev(y)]), insertEvents(c2, [ev(x)])]);
      expect(second.map((r) => (r.status === 'fulfilled' ? 'inserted' : (r.reason as Error).message))).toEqual(['inserted', 'inserted']);
      await c1.query('COMMIT');
      await c2.query('COMMIT');
    } finally {
      for (const c of [c1, c2]) {
        await c.query('ROLLBACK').catch(() => {});
        c.release();
      }
    }
    const n = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM wormseal.events WHERE namespace LIKE 'newstream-%'");
    expect(n.rows[0]!.n).toBe(4);
  });

  it('an open transaction holds back later-committed events of its stream; after it commits they are sealed in (txid, seq) order', async () => {
    const ns = 'horizon';
    const stream = { namespace: ns, retention_class: 'sox-7y' };
    const ingest = { pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 };
    const deps = h.sealDeps({ batchSize: 100 });

    // e0 committed before the long transaction starts writing.
    const e0 = makeEvent(ns, 'payment.created');
    expect((await appendEvents(ingest, [e0])).accepted).toBe(1);
    await waitUntilSealable(h.pool, ns);

    const open = await writerPool.connect();
    try {
      await open.query('BEGIN');
      const e1 = prepareEvent(makeEvent(ns, 'payment.created'), prepOpts());
      await insertEvents(open, [e1]);
      const x = BigInt((await open.query<{ t: string }>('SELECT pg_current_xact_id()::text AS t')).rows[0]!.t);

      // Later transactions commit while it stays open.
      const e2 = makeEvent(ns, 'payment.created');
      const e3 = makeEvent(ns, 'payment.created');
      const e4 = makeEvent(ns, 'payment.created');
      expect((await appendEvents(ingest, [e2, e3])).accepted).toBe(2);
      expect((await appendEvents(ingest, [e4])).accepted).toBe(1);
      const visible = await h.pool.query<{ event_id: string; txid: string }>(
        'SELECT event_id, txid::text FROM wormseal.events WHERE namespace = $1 ORDER BY txid, seq',
        [ns],
      );
      // Committed and visible to everyone else (e1 is not: its transaction is open).
      expect(visible.rows.map((r) => r.event_id)).toEqual([e0.event_id, e2.event_id, e3.event_id, e4.event_id]);
      for (const r of visible.rows.slice(1)) expect(BigInt(r.txid)).toBeGreaterThan(x);

      const first = await sealAll(deps, { namespace: ns });
      expect(first.failures).toEqual([]);
      expect(BigInt(first.horizon)).toBeLessThanOrEqual(x);
      expect(first.batches.map((b) => ({ no: b.batch_no, n: b.leaf_count }))).toEqual([{ no: 1, n: 1 }]);
      const [b1] = await listBatches(h.pool, stream);
      expect((await sealedLines(h, b1!)).map(idOf)).toEqual([e0.event_id]);

      // Still open: another run seals nothing more, even though e2..e4 committed long ago.
      const second = await sealAll(deps, { namespace: ns });
      expect(second.failures).toEqual([]);
      expect(second.batches).toEqual([]);
      expect((await listBatches(h.pool, stream)).map((b) => b.batch_no)).toEqual([1]);

      await open.query('COMMIT');
      await waitUntilSealable(h.pool, ns);
      const third = await sealAll(deps, { namespace: ns });
      expect(third.failures).toEqual([]);
      expect(third.batches.map((b) => ({ no: b.batch_no, n: b.leaf_count, resumed: b.resumed }))).toEqual([
        { no: 2, n: 4, resumed: false },
      ]);
      const batches = await listBatches(h.pool, stream);
      expect(batches.map((b) => b.batch_no)).toEqual([1, 2]);
      // e1 first: its transaction is the oldest, though it committed last.
      expect((await sealedLines(h, batches[1]!)).map(idOf)).toEqual([e1.record.event_id, e2.event_id, e3.event_id, e4.event_id]);
    } finally {
      await open.query('ROLLBACK').catch(() => {});
      open.release();
    }
    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace: ns });
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, events_checked: 5, batches_valid: 2 });
  });

  it('reports sealing lag naming the backend of a transaction open longer than lagWarnSeconds', async () => {
    const ns = 'lag';
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', write: (l) => warnings.push(l) });
    const deps: SealDeps = {
      pool: h.pool,
      store: h.store,
      clock: systemClock,
      logger,
      config: { batchSize: 100, schedule: h.schedule, lagWarnSeconds: 1 },
    };
    const open = await writerPool.connect();
    let pid: number;
    try {
      await open.query('BEGIN');
      await insertEvents(open, [prepareEvent(makeEvent(ns, 'payment.created'), prepOpts())]);
      pid = (await open.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await waitFor('the open transaction to be older than 2 s', async () => {
        const r = await h.pool.query<{ age: number }>(
          'SELECT extract(epoch FROM now() - xact_start)::float8 AS age FROM pg_stat_activity WHERE pid = $1',
          [pid],
        );
        return r.rows[0]!.age > 2;
      });

      const report = await sealAll(deps, { namespace: ns });
      expect(report.failures).toEqual([]);
      expect(report.batches).toEqual([]);
      const database = (await h.pool.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
      expect(report.lag).toEqual({ pid, age_seconds: expect.any(Number), state: 'idle in transaction', database });
      expect(report.lag!.age_seconds).toBeGreaterThanOrEqual(2);
      expect(warnings.filter((w) => w.includes(`sealing lag: transaction of backend pid ${pid} in database ${database} has been open`))).toHaveLength(1);

      // Under the default threshold (300 s) the same transaction is not reported.
      const quiet = await sealAll(h.sealDeps(), { namespace: ns });
      expect(quiet.lag).toBeUndefined();
    } finally {
      await open.query('COMMIT').catch(() => {});
      open.release();
    }
    // Committed: no longer the cause of any lag, and its event seals.
    await waitUntilSealable(h.pool, ns);
    const after = await sealAll(deps, { namespace: ns });
    expect(after.lag?.pid).not.toBe(pid);
    expect(after.batches.map((b) => b.leaf_count)).toEqual([1]);
  });
});
