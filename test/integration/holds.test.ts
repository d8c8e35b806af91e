/**
 * Legal holds on the real stack (DESIGN 7): each object's S3 legal-hold flag is the OR of the
 * active holds covering its batch; a hold finds every batch that can hold a match, even after the
 * hot rows are purged, and batches sealed while it is active; placing survives SIGKILL half-way.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/config/clock.js';
import { listBatches, type BatchRow, type StreamId } from '../../src/db/batches.js';
import { appendEvents } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import { placeHold, type HoldDetail, type PlaceReport, type ReleaseReport } from '../../src/holds/holds.js';
import { applyRetention } from '../../src/retention/apply.js';
import { sealAll } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { runCli, setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

let eventNo = 0;
function makeEvent(namespace: string, over: Partial<EventInput> = {}): EventInput {
  const n = eventNo++;
  return {
    event_id: randomUUID(),
    namespace,
    event_type: 'payment.created',
    occurred_at: new Date(Date.UTC(2026, 10, 6, 9, 0, 0) + n * 1000).toISOString(),
    actor: { id: `u_${n % 3}`, type: 'user' },
    resource: { type: 'payment', id: `pay_${n}` },
    outcome: 'success',
    ...over,
  };
}

describe('legal holds', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('holds', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  const ingest = async (events: EventInput[]) => {
    const res = await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
    expect(res).toMatchObject({ accepted: events.length, rejected: 0 });
  };
  const seal = async (namespace: string, batchSize: number) => {
    await waitUntilSealable(h.pool, namespace);
    const r = await sealAll(h.sealDeps({ batchSize }), { namespace });
    expect(r.failures).toEqual([]);
    return r;
  };
  const cli = async <T>(args: string[], extra: Record<string, string> = {}) => {
    const r = await runCli([...args, '--json'], { env: { ...h.env, ...extra } });
    return { ...r, out: (r.stdout ? JSON.parse(r.stdout) : undefined) as T };
  };
  const flags = async (b: BatchRow) => [
    (await h.store.getLock(b.data_key, b.data_version_id!)).legalHold,
    (await h.store.getLock(b.manifest_key, b.manifest_version_id!)).legalHold,
  ];
  const verify = (namespace?: string) => verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, namespace ? { namespace } : {});

  it('two matters over one batch: releasing one keeps the objects held, releasing both frees them', async () => {
    const ns = 'two-matters';
    const stream: StreamId = { namespace: ns, retention_class: 'sox-7y' };
    await ingest(Array.from({ length: 6 }, () => makeEvent(ns)));
    await seal(ns, 100);
    const [b] = await listBatches(h.pool, stream);
    expect(await flags(b!)).toEqual([false, false]);

    const a = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-A', '--reason', 'subpoena', '--by', 'ana', '--namespace', ns]);
    expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(a.out).toMatchObject({ batches: 1, confirmed_batches: 1, false_positive_batches: 0, hold: { matter: 'M-A', state: 'active' } });
    const bb = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-B', '--reason', 'audit', '--by', 'ben', '--namespace', ns, '--actor', 'u_1', '--event-type', 'payment.*']);
    expect(bb.out).toMatchObject({ batches: 1, confirmed_batches: 1 });
    expect(await flags(b!)).toEqual([true, true]);
    expect((await verify(ns)).problems).toEqual([]);

    // One active hold per matter; unknown matters and missing options are refused.
    const twice = await runCli(['hold', 'place', '--matter', 'M-A', '--reason', 'x', '--by', 'ana', '--namespace', ns], { env: h.env });
    expect({ code: twice.code, stderr: twice.stderr }).toEqual({ code: 1, stderr: 'wormseal: matter M-A already has an active hold; release it first\n' });
    const unknown = await runCli(['hold', 'release', '--matter', 'M-nope', '--reason', 'x', '--by', 'ana'], { env: h.env });
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: 'wormseal: matter M-nope has no active hold\n' });
    const usage = await runCli(['hold', 'place', '--matter', 'M-C', '--namespace', ns], { env: h.env });
    expect({ code: usage.code, stderr: usage.stderr }).toEqual({ code: 2, stderr: 'wormseal hold place: missing --reason, --by\n' });
    const noScope = await runCli(['hold', 'place', '--matter', 'M-C', '--reason', 'r', '--by', 'b'], { env: h.env });
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toMatch(/a hold needs a scope/);

    const relA = await cli<ReleaseReport>(['hold', 'release', '--matter', 'M-A', '--reason', 'closed', '--by', 'ana']);
    expect(relA.code).toBe(0);
    expect(relA.out).toMatchObject({ batches: 1, still_held_batches: 1, hold: { state: 'released', released_by: 'ana' } });
    expect(await flags(b!)).toEqual([true, true]);
    expect((await verify(ns)).problems).toEqual([]);

    const relB = await cli<ReleaseReport>(['hold', 'release', '--matter', 'M-B', '--reason', 'closed', '--by', 'ben']);
    expect(relB.out).toMatchObject({ batches: 1, still_held_batches: 0 });
    expect(await flags(b!)).toEqual([false, false]);
    expect((await verify(ns)).problems).toEqual([]);

    const list = await cli<{ holds: { matter: string; state: string }[] }>(['hold', 'list', '--all']);
    expect(list.out.holds.map((x) => [x.matter, x.state])).toEqual([
      ['M-A', 'released'],
      ['M-B', 'released'],
    ]);
    expect((await cli<{ holds: unknown[] }>(['hold', 'list'])).out.holds).toEqual([]);

    // Placing and releasing are audit events themselves, sealed like any other.
    const audit = await h.pool.query<{ event_type: string; actor_id: string; resource_id: string; reason: string }>(
      `SELECT event_type, actor_id, resource_id, convert_from(canonical, 'UTF8')::jsonb ->> 'reason' AS reason
       FROM wormseal.events WHERE namespace = 'wormseal' ORDER BY seq`,
    );
    expect(audit.rows).toEqual([
      { event_type: 'legal_hold.placed', actor_id: 'ana', resource_id: 'M-A', reason: 'subpoena' },
      { event_type: 'legal_hold.placed', actor_id: 'ben', resource_id: 'M-B', reason: 'audit' },
      { event_type: 'legal_hold.released', actor_id: 'ana', resource_id: 'M-A', reason: 'closed' },
      { event_type: 'legal_hold.released', actor_id: 'ben', resource_id: 'M-B', reason: 'closed' },
    ]);
    const sealed = await seal('wormseal', 100);
    expect(sealed.batches.reduce((n, x) => n + x.leaf_count, 0)).toBe(4);
    expect((await verify('wormseal')).problems).toEqual([]);
  });

  it('a hold by actor placed after the hot rows were purged still finds every batch with that actor', async () => {
    const ns = 'purged';
    const events = Array.from({ length: 60 }, (_, i) => makeEvent(ns, i % 13 === 4 ? { actor: { id: 'u_target', type: 'user' } } : {}));
    await ingest(events);
    await seal(ns, 5);
    const stream: StreamId = { namespace: ns, retention_class: 'sox-7y' };
    // Which batches really hold u_target, from the hot rows, before they go.
    const truth = await h.pool.query<{ batch_no: number }>(
      `SELECT DISTINCT b.batch_no::int FROM wormseal.batches b JOIN wormseal.events e ON e.namespace = b.namespace
         AND e.retention_class = b.retention_class AND (e.txid, e.seq) BETWEEN (b.first_txid, b.first_seq) AND (b.last_txid, b.last_seq)
       WHERE b.namespace = $1 AND e.actor_id = 'u_target' ORDER BY 1`,
      [ns],
    );
    expect(truth.rows.length).toBeGreaterThanOrEqual(4);

    const purge = await applyRetention({ pool: h.pool, store: h.store, clock: systemClock, logger: h.logger, schedule: h.schedule, hotWindow: 'PT0S' });
    expect(purge.purged_rows).toBeGreaterThanOrEqual(60);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM wormseal.events WHERE namespace = $1', [ns])).rows[0].n).toBe(0);

    const placed = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-actor', '--reason', 'r', '--by', 'legal', '--actor', 'u_target']);
    expect(placed.code).toBe(0);
    // Nothing can be confirmed from hot rows any more: every covered batch is unconfirmed.
    expect(placed.out.unconfirmed_batches).toBe(placed.out.batches);
    const shown = await cli<HoldDetail>(['hold', 'show', 'M-actor']);
    const covered = shown.out.batches.filter((x) => x.stream.namespace === ns).map((x) => x.batch_no);
    expect(covered).toEqual(expect.arrayContaining(truth.rows.map((r) => r.batch_no)));
    for (const x of shown.out.batches) expect(x.objects.map((o) => o.legal_hold)).toEqual([true, true]);
    const batches = await listBatches(h.pool, stream);
    for (const n of truth.rows.map((r) => r.batch_no)) expect(await flags(batches[n - 1]!)).toEqual([true, true]);
    const v = await verify(ns);
    expect(v.problems).toEqual([]);
    expect(v.batches_valid).toBe(12);

    expect((await runCli(['hold', 'release', '--matter', 'M-actor', '--reason', 'r', '--by', 'legal'], { env: h.env })).code).toBe(0);
  });

  it('a hold placed before sealing reaches the batches sealed afterwards, and counts index false positives', async () => {
    const ns = 'presealed';
    const placed = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-pre', '--reason', 'r', '--by', 'legal', '--subject', 'pat_7']);
    expect(placed.out).toMatchObject({ batches: 0 });
    await ingest(Array.from({ length: 20 }, (_, i) => makeEvent(ns, i === 2 || i === 14 ? { subject_id: 'pat_7' } : {})));
    const r = await seal(ns, 5);
    expect(r.batches.map((b) => [b.batch_no, b.legal_hold])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, false],
    ]);
    const batches = await listBatches(h.pool, { namespace: ns, retention_class: 'sox-7y' });
    expect(await Promise.all(batches.map(flags))).toEqual([
      [true, true],
      [false, false],
      [true, true],
      [false, false],
    ]);
    const shown = await cli<HoldDetail>(['hold', 'show', 'M-pre']);
    expect(shown.out.batches.map((b) => [b.stream.namespace, b.batch_no, b.confirmed])).toEqual([
      [ns, 1, true],
      [ns, 3, true],
    ]);
    expect((await verify(ns)).problems).toEqual([]);

    // A scope whose criteria are met by different events of a batch (subject pat_7 in one event,
    // a u_2 actor in another, never together) is held and counted as a false positive.
    const sameBatchActor = (await h.pool.query<{ actor_id: string }>(
      `SELECT e.actor_id FROM wormseal.events e WHERE e.namespace = $1 AND e.subject_id IS NULL ORDER BY seq LIMIT 1`,
      [ns],
    )).rows[0]!.actor_id;
    const fp = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-fp2', '--reason', 'r', '--by', 'legal', '--namespace', ns, '--subject', 'pat_7', '--actor', sameBatchActor]);
    const truth = await h.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM wormseal.events WHERE namespace = $1 AND subject_id = 'pat_7' AND actor_id = $2`,
      [ns, sameBatchActor],
    );
    expect(fp.out.confirmed_batches).toBe(truth.rows[0]!.n);
    expect(fp.out.false_positive_batches).toBe(fp.out.batches - fp.out.confirmed_batches);
    expect(fp.out.false_positive_batches).toBeGreaterThan(0);
    const fpShow = await cli<HoldDetail>(['hold', 'show', 'M-fp2']);
    expect(fpShow.out.false_positive_batches).toBe(fp.out.false_positive_batches);
    for (const m of ['M-pre', 'M-fp2']) {
      expect((await runCli(['hold', 'release', '--matter', m, '--reason', 'r', '--by', 'legal'], { env: h.env })).code).toBe(0);
    }
    expect((await verify(ns)).problems).toEqual([]);
  });

  it('a SIGKILL during hold placement or release, after some objects were flagged, is completed by the next run', async () => {
    const ns = 'killed';
    const stream: StreamId = { namespace: ns, retention_class: 'sox-7y' };
    await ingest(Array.from({ length: 30 }, () => makeEvent(ns)));
    await seal(ns, 5);
    const batches = await listBatches(h.pool, stream);
    expect(batches).toHaveLength(6);

    const killed = await runCli(['hold', 'place', '--matter', 'M-kill', '--reason', 'r', '--by', 'legal', '--namespace', ns, '--json'], {
      env: { ...h.env, WORMSEAL_TEST_KILL_AT: 'hold-after-first-flag' },
    });
    expect({ code: killed.code, signal: killed.signal, stdout: killed.stdout }).toEqual({ code: null, signal: 'SIGKILL', stdout: '' });

    // The hold is in force (committed before any flag was set); one batch flagged, five not yet.
    const state = await h.pool.query<{ batch_no: number; legal_hold_applied: boolean | null }>(
      'SELECT batch_no::int, legal_hold_applied FROM wormseal.batches WHERE namespace = $1 ORDER BY 1',
      [ns],
    );
    expect(state.rows.map((r) => r.legal_hold_applied)).toEqual([true, null, null, null, null, null]);
    expect(await Promise.all(batches.map(flags))).toEqual([[true, true], ...Array.from({ length: 5 }, () => [false, false])]);
    const mid = await verify(ns);
    expect(mid.problems.map((p) => [p.batch_no, p.reason])).toEqual(
      [2, 3, 4, 5, 6].flatMap((n) => [
        [n, 'legal_hold_mismatch'],
        [n, 'legal_hold_mismatch'],
      ]),
    );
    const midShow = await cli<HoldDetail>(['hold', 'show', 'M-kill']);
    expect(midShow.out).toMatchObject({ objects_not_held: 10, hold: { state: 'active' } });

    // The next hold command completes the placement (here: a hold on another matter)...
    const next = await cli<PlaceReport>(['hold', 'place', '--matter', 'M-next', '--reason', 'r', '--by', 'legal', '--namespace', 'nothing-sealed-here']);
    expect(next.code).toBe(0);
    expect(next.out.batches).toBe(0);
    expect(next.out.reconcile.flagged_on.map((x) => x.batch_no)).toEqual([2, 3, 4, 5, 6]);
    expect(await Promise.all(batches.map(flags))).toEqual(Array.from({ length: 6 }, () => [true, true]));
    expect((await verify(ns)).problems).toEqual([]);
    expect((await cli<HoldDetail>(['hold', 'show', 'M-kill'])).out.objects_not_held).toBe(0);

    // ...and so would `retention apply`: killed again while releasing, it completes the release.
    const killedRelease = await runCli(['hold', 'release', '--matter', 'M-kill', '--reason', 'r', '--by', 'legal'], {
      env: { ...h.env, WORMSEAL_TEST_KILL_AT: 'hold-after-first-flag' },
    });
    expect(killedRelease.signal).toBe('SIGKILL');
    expect((await Promise.all(batches.map(flags))).filter(([d]) => d).length).toBe(5);
    const run = await runCli(['retention', 'apply', '--json'], { env: h.env });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).legal_holds.flagged_off.map((x: { batch_no: number }) => x.batch_no)).toEqual([2, 3, 4, 5, 6]);
    expect(await Promise.all(batches.map(flags))).toEqual(Array.from({ length: 6 }, () => [false, false]));
    expect((await verify(ns)).problems).toEqual([]);
    expect((await runCli(['hold', 'release', '--matter', 'M-next', '--reason', 'r', '--by', 'legal'], { env: h.env })).code).toBe(0);
  });

  it('a batch pending while a hold is placed still ends up held (the sealer looks again at commit)', async () => {
    const ns = 'race';
    await ingest(Array.from({ length: 4 }, () => makeEvent(ns)));
    await waitUntilSealable(h.pool, ns);
    let placed: PlaceReport | undefined;
    const holdDeps = { pool: h.pool, store: h.store, clock: systemClock, logger: h.logger, schedule: h.schedule };
    // The objects are uploaded without a hold; the hold commits before the batch does.
    const r = await sealAll(
      h.sealDeps({
        faults: async (point) => {
          if (point === 'before-commit' && !placed) {
            placed = await placeHold(holdDeps, { matter: 'M-race', reason: 'r', by: 'legal', scope: { namespace: ns } });
          }
        },
      }),
      { namespace: ns },
    );
    expect(r.failures).toEqual([]);
    expect(placed).toMatchObject({ batches: 0 }); // the batch was still pending: not seen by the hold
    expect(r.batches.map((b) => [b.batch_no, b.legal_hold])).toEqual([[1, true]]);
    const [b] = await listBatches(h.pool, { namespace: ns, retention_class: 'sox-7y' });
    expect(await flags(b!)).toEqual([true, true]);
    const shown = await cli<HoldDetail>(['hold', 'show', 'M-race']);
    expect(shown.out.batches.map((x) => [x.batch_no, x.confirmed])).toEqual([[1, true]]);
    expect((await verify(ns)).problems).toEqual([]);
  });
});
