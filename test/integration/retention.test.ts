/**
 * DESIGN 7 and 8 on the real stack: expiry leaves tombstones and `verify` stays green, holds keep
 * batches past retain-until (and the server refuses their deletion), the server refuses every
 * early deletion even when wormseal's own clock says otherwise, lengthened classes extend existing
 * locks while shortened ones leave them alone, and hot rows leave Postgres only through the purge
 * path (test/integration/purge.test.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamPrefix } from '../../src/archive/layout.js';
import { LockRefusedError } from '../../src/archive/store.js';
import { fixedClock } from '../../src/config/clock.js';
import { listBatches, type StreamId } from '../../src/db/batches.js';
import { applyRetention } from '../../src/retention/apply.js';
import { buildSchedule, type ScheduleFile } from '../../src/retention/schedule.js';
import { runCli, setupHarness, TEST_SCHEDULE, type Harness } from './harness.js';
import { apply, ingest, makeEvent, mine, retentionDeps, seal, verifyNs, waitForExpiry } from './retention-support.js';

describe('retention apply: expiry, tombstones and holds', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('retention', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('deletes an expired, unheld batch and keeps a tombstone; verify stays green and checks the next link against it', async () => {
    const ns = 'ret-free';
    const stream: StreamId = { namespace: ns, retention_class: 'short' };
    await ingest(h, Array.from({ length: 5 }, () => makeEvent(ns, 'temp.note')));
    await seal(h, ns);
    const [b1] = await listBatches(h.pool, stream);
    await waitForExpiry(h, b1!);
    // Batch 2 is sealed after batch 1 expired, so it is still locked when apply runs.
    await ingest(h, Array.from({ length: 3 }, () => makeEvent(ns, 'temp.note')));
    await seal(h, ns);

    // A clock just past batch 1's retain-until: batch 2 (a few seconds younger) is not due yet,
    // however long this test takes. The server judges by its own clock, already past batch 1's.
    const clock = fixedClock(new Date(b1!.retain_until.getTime() + 1));
    const dry = await applyRetention(retentionDeps(h, { clock }), { dryRun: true });
    expect(dry.expired.filter(mine(ns))).toEqual([{ stream, batch_no: 1 }]);
    expect((await h.store.listVersions(streamPrefix(stream))).length).toBe(4);

    const run = await applyRetention(retentionDeps(h, { clock }));
    expect(run.failures).toEqual([]);
    expect(run.expired.filter(mine(ns))).toEqual([{ stream, batch_no: 1 }]);
    expect(run.refused).toEqual([]);

    // Batch 1's objects are gone from the bucket (not hidden by delete markers); batch 2's remain.
    const keys = (await h.store.listVersions(streamPrefix(stream))).map((v) => [v.key, v.isDeleteMarker]);
    expect(keys).toEqual([
      [b1!.data_key.replace('000000000001', '000000000002'), false],
      [b1!.manifest_key.replace('000000000001', '000000000002'), false],
    ]);
    const tomb = await h.pool.query('SELECT manifest_sha256, leaf_count, citation, duration, expired_at FROM wormseal.tombstones WHERE namespace = $1', [ns]);
    expect(tomb.rows).toEqual([
      { manifest_sha256: b1!.manifest_sha256, leaf_count: 5, citation: 'test: expires in seconds', duration: 'PT3S', expired_at: expect.any(Date) },
    ]);
    // The deletion is itself an audit event, sealed like any other.
    const ev = await h.pool.query<{ data: { batch_no: number; manifest_sha256: string } }>(
      `SELECT convert_from(canonical, 'UTF8')::jsonb -> 'data' AS data FROM wormseal.events
       WHERE namespace = 'wormseal' AND event_type = 'batch.expired' AND resource_id = $1`,
      [`${ns}/short/1`],
    );
    expect(ev.rows).toEqual([{ data: expect.objectContaining({ batch_no: 1, manifest_sha256: b1!.manifest_sha256!.toString('hex') }) }]);

    const v = await verifyNs(h, ns);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, batches_checked: 2, batches_valid: 2, batches_expired: 1, events_checked: 3 });
    const cli = await runCli(['verify', '--namespace', ns], { env: h.env });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('VERIFIED');

    // Running again (the CLI, on the real clock) never expires batch 1 twice.
    const again = await apply(h);
    expect(again.code).toBe(0);
    expect(Object.keys(again.report).slice(0, 4)).toEqual(['extended', 'expired', 'purged_rows', 'refused']);
    expect(again.report.expired.filter(mine(ns)).map((e) => e.batch_no)).not.toContain(1);
  });

  it('keeps a held batch past retain-until, the server refuses its deletion, and it goes on the next apply after release', async () => {
    const ns = 'ret-held';
    const stream: StreamId = { namespace: ns, retention_class: 'short' };
    await ingest(h, Array.from({ length: 4 }, () => makeEvent(ns, 'temp.note')));
    await seal(h, ns);
    const placed = await runCli(['hold', 'place', '--matter', 'M-ret', '--reason', 'litigation', '--by', 'legal@example.com', '--namespace', ns, '--json'], {
      env: h.env,
    });
    expect({ code: placed.code, stderr: placed.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse(placed.stdout)).toMatchObject({ batches: 1, confirmed_batches: 1 });
    const [b] = await listBatches(h.pool, stream);
    await waitForExpiry(h, b!);

    const run = await apply(h);
    expect(run.code).toBe(0);
    expect(run.report.expired.filter(mine(ns))).toEqual([]);
    expect(run.report.held.filter(mine(ns))).toEqual([{ stream, batch_no: 1, retain_until: b!.retain_until.toISOString() }]);
    // Past retain-until, yet the legal hold alone makes the server refuse.
    for (const [key, version] of [
      [b!.data_key, b!.data_version_id!],
      [b!.manifest_key, b!.manifest_version_id!],
    ] as const) {
      expect((await h.store.getLock(key, version)).legalHold).toBe(true);
      await expect(h.store.delete(key, version)).rejects.toBeInstanceOf(LockRefusedError);
    }
    expect((await verifyNs(h, ns)).problems).toEqual([]);

    const released = await runCli(['hold', 'release', '--matter', 'M-ret', '--reason', 'settled', '--by', 'legal@example.com', '--json'], { env: h.env });
    expect(released.code).toBe(0);
    expect(JSON.parse(released.stdout)).toMatchObject({ batches: 1, still_held_batches: 0 });
    const after = await apply(h);
    expect(after.code).toBe(0);
    expect(after.report.expired.filter(mine(ns))).toEqual([{ stream, batch_no: 1 }]);
    expect(await h.store.listVersions(streamPrefix(stream))).toEqual([]);
    expect((await verifyNs(h, ns))).toMatchObject({ ok: true, batches_expired: 1 });
  });
});

// Its own database: the batch it spoils makes every later apply report a failure.
describe('a batch that vanished behind wormseal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('retention-vanished', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports a batch that vanished without a tombstone as missing', async () => {
    const ns = 'ret-vanished';
    const stream: StreamId = { namespace: ns, retention_class: 'short' };
    await ingest(h, Array.from({ length: 4 }, () => makeEvent(ns, 'temp.note')));
    await seal(h, ns);
    const [b] = await listBatches(h.pool, stream);
    await waitForExpiry(h, b!);
    // Deleted behind wormseal's back once the lock allowed it: no tombstone.
    await h.store.delete(b!.data_key, b!.data_version_id!);
    await h.store.delete(b!.manifest_key, b!.manifest_version_id!);
    const missing = [
      [1, b!.manifest_key, 'missing'],
      [1, b!.data_key, 'missing'],
    ];
    const v = await verifyNs(h, ns);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => [p.batch_no, p.object, p.reason])).toEqual(missing);
    // retention apply does not legitimize it with a tombstone.
    const run = await applyRetention(retentionDeps(h));
    expect(run.expired.filter(mine(ns))).toEqual([]);
    expect(run.failures.filter(mine(ns))).toEqual([
      { stream, batch_no: 1, step: 'expire', error: expect.stringMatching(/vanished before expiry deleted it; no tombstone written/) },
    ]);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM wormseal.tombstones WHERE namespace = $1', [ns])).rows[0].n).toBe(0);
    expect((await verifyNs(h, ns)).problems.map((p) => [p.batch_no, p.object, p.reason])).toEqual(missing);
  });
});

describe('the S3 server refuses every early deletion', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('retention-early', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('apply with a clock ten years ahead: every deletion refused and reported, nothing recorded', async () => {
    const ns = 'early';
    await ingest(h, [...Array.from({ length: 6 }, () => makeEvent(ns, 'payment.created')), ...Array.from({ length: 4 }, () => makeEvent(ns, 'user.login'))]);
    await seal(h, ns, 3);
    const before = await h.pool.query('SELECT namespace, retention_class, batch_no, retain_until, state FROM wormseal.batches ORDER BY 1, 2, 3');
    expect(before.rows).toHaveLength(4);
    const versions = await h.store.listVersions('v1/');

    const future = fixedClock(new Date(Date.now() + 10 * 366 * 86_400_000));
    const report = await applyRetention(retentionDeps(h, { clock: future }));
    // Every batch (2 sox-7y, 2 soc2-1y) was tried, and the server refused each at its first object.
    expect(report.expired).toEqual([]);
    expect(report.refused.map((r) => [r.stream.retention_class, r.batch_no])).toEqual([
      ['soc2-1y', 1],
      ['soc2-1y', 2],
      ['sox-7y', 1],
      ['sox-7y', 2],
    ]);
    for (const r of report.refused) expect(r.error).toMatch(/refused by the server/);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM wormseal.tombstones')).rows[0].n).toBe(0);
    expect((await h.pool.query("SELECT count(*)::int AS n FROM wormseal.events WHERE event_type = 'batch.expired'")).rows[0].n).toBe(0);
    expect((await h.pool.query('SELECT namespace, retention_class, batch_no, retain_until, state FROM wormseal.batches ORDER BY 1, 2, 3')).rows).toEqual(before.rows);
    expect(await h.store.listVersions('v1/')).toEqual(versions);
    expect((await verifyNs(h, ns)).problems).toEqual([]);
  });

  it('the CLI exits 1 and reports the refusal when the registry says a batch expired but the server disagrees', async () => {
    const ns = 'early-cli';
    await ingest(h, Array.from({ length: 3 }, () => makeEvent(ns, 'payment.created')));
    await seal(h, ns);
    // A registry whose retain-until went wrong (restored from an old backup, edited by hand): the
    // object lock on the server is what counts.
    // (sealed_at moves back too, or apply would first extend the lock back to sealed_at + P7Y.)
    await h.pool.query(
      "UPDATE wormseal.batches SET sealed_at = now() - interval '8 years', retain_until = now() - interval '1 day' WHERE namespace = $1",
      [ns],
    );
    const run = await apply(h);
    expect({ code: run.code, stderr: run.stderr, report: run.report }).toMatchObject({ code: 1 });
    expect(run.report.expired).toEqual([]);
    expect(run.report.refused).toEqual([
      { stream: { namespace: ns, retention_class: 'sox-7y' }, batch_no: 1, object: expect.stringMatching(/000000000001\/data\.ndjson\.gz$/), error: expect.stringMatching(/^AccessDenied: /) },
    ]);
    expect((await h.pool.query('SELECT count(*)::int AS n FROM wormseal.tombstones')).rows[0].n).toBe(0);
    const human = await runCli(['retention', 'apply'], { env: h.env });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`REFUSED ${ns}/sox-7y batch 1 .*data\\.ndjson\\.gz: the server refused the deletion`));
  });
});

describe('changing a class duration', () => {
  const schedule: ScheduleFile = {
    classes: [{ name: 'mid', duration: 'PT1H', citation: 'test: one hour' }],
    rules: [{ match: 'mid.*', class: 'mid' }],
    default: 'mid',
  };
  const withDuration = (duration: string): ScheduleFile => ({ ...schedule, classes: [{ ...schedule.classes[0]!, duration }] });
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('retention-class', { schedule });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lengthening extends the locks of existing objects; shortening leaves them and says so', async () => {
    const ns = 'classes';
    await ingest(h, Array.from({ length: 4 }, () => makeEvent(ns, 'mid.note')));
    await seal(h, ns, 2);
    const before = await listBatches(h.pool, { namespace: ns, retention_class: 'mid' });
    expect(before).toHaveLength(2);

    const longer = await applyRetention(retentionDeps(h, { schedule: buildSchedule(withDuration('PT2H'), 'test') }));
    expect(longer.failures).toEqual([]);
    expect(longer.extended.map((e) => [e.batch_no, e.from, e.to])).toEqual(
      before.map((b) => [b.batch_no, b.retain_until.toISOString(), new Date(Math.ceil((b.sealed_at.getTime() + 7_200_000) / 1000) * 1000).toISOString()]),
    );
    const after = await listBatches(h.pool, { namespace: ns, retention_class: 'mid' });
    for (const [i, b] of after.entries()) {
      expect(b.retain_until.toISOString()).toBe(longer.extended[i]!.to);
      for (const [key, version] of [
        [b.data_key, b.data_version_id!],
        [b.manifest_key, b.manifest_version_id!],
      ] as const) {
        expect((await h.store.getLock(key, version)).retainUntil!.toISOString()).toBe(b.retain_until.toISOString());
      }
    }
    expect((await verifyNs(h, ns)).problems).toEqual([]);

    // Shorter than even the original: the CLI says so and touches nothing.
    const dir = mkdtempSync(join(tmpdir(), 'wormseal-short-'));
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(withDuration('PT30M')));
    const env = { WORMSEAL_RETENTION_FILE: join(dir, 'schedule.json') };
    const shorter = await apply(h, env);
    expect(shorter.code).toBe(0);
    expect(shorter.report.extended).toEqual([]);
    expect(shorter.report.shortened).toEqual([{ class: 'mid', duration: 'PT30M', batches: 2 }]);
    const human = await runCli(['retention', 'apply'], { env: { ...h.env, ...env } });
    expect(human.stdout).toContain('class mid is now PT30M: 2 existing batch(es) keep their longer retain-until (COMPLIANCE never shortens; objects untouched)');
    for (const b of after) {
      expect((await h.store.getLock(b.data_key, b.data_version_id!)).retainUntil!.toISOString()).toBe(b.retain_until.toISOString());
    }
    expect((await listBatches(h.pool, { namespace: ns, retention_class: 'mid' })).map((b) => b.retain_until)).toEqual(after.map((b) => b.retain_until));

    // And `retention show` prints the schedule in force.
    const show = await runCli(['retention', 'show', '--json'], { env: { ...h.env, ...env } });
    expect(JSON.parse(show.stdout)).toMatchObject({ source: env.WORMSEAL_RETENTION_FILE, default: 'mid', classes: [{ name: 'mid', duration: 'PT30M' }] });
  });
});
