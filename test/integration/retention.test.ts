/**
 * DESIGN 7 and 8 on the real stack: expiry leaves tombstones and `verify` stays green, holds keep
 * batches past retain-until (and the server refuses their deletion), the server refuses every
 * early deletion even when wormseal's own clock says otherwise, lengthened classes extend existing
 * locks while shortened ones leave them alone, and hot rows leave Postgres only through the purge
 * path.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamPrefix } from '../../src/archive/layout.js';
import { LockRefusedError } from '../../src/archive/store.js';
import { fixedClock, systemClock } from '../../src/config/clock.js';
import { listBatches, type BatchRow, type StreamId } from '../../src/db/batches.js';
import { appendEvents } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import { applyRetention, type ApplyReport, type RetentionDeps } from '../../src/retention/apply.js';
import { buildSchedule, type ScheduleFile } from '../../src/retention/schedule.js';
import { sealAll } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import type { VerifyReport } from '../../src/verify/problems.js';
import { runCli, setupHarness, TEST_SCHEDULE, waitFor, waitUntilSealable, type Harness } from './harness.js';

let eventNo = 0;
function makeEvent(namespace: string, eventType: string, over: Partial<EventInput> = {}): EventInput {
  const n = eventNo++;
  return {
    event_id: randomUUID(),
    namespace,
    event_type: eventType,
    occurred_at: new Date(Date.UTC(2026, 10, 5, 9, 0, 0) + n * 1000).toISOString(),
    actor: { id: `u_${n % 4}`, type: 'user' },
    resource: { type: 'note', id: `n_${n}` },
    outcome: 'success',
    ...over,
  };
}

async function ingest(h: Harness, events: EventInput[]): Promise<void> {
  const res = await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
  expect(res).toMatchObject({ accepted: events.length, rejected: 0 });
}

async function seal(h: Harness, namespace: string, batchSize = 100): Promise<void> {
  await waitUntilSealable(h.pool, namespace);
  const r = await sealAll(h.sealDeps({ batchSize }), { namespace });
  expect(r.failures).toEqual([]);
}

function retentionDeps(h: Harness, over: Partial<RetentionDeps> = {}): RetentionDeps {
  return { pool: h.pool, store: h.store, clock: systemClock, logger: h.logger, schedule: h.schedule, hotWindow: 'P30D', ...over };
}

/** Wait (really: classes of a few seconds) until the S3 server's clock is past a batch's retain-until. */
async function waitForExpiry(h: Harness, b: BatchRow): Promise<void> {
  await waitFor(`retain-until ${b.retain_until.toISOString()} to pass on the server`, async () => (await h.store.serverTime()) > b.retain_until, 30_000);
}

async function verifyNs(h: Harness, namespace: string): Promise<VerifyReport> {
  return verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace });
}

const apply = async (h: Harness, env: Record<string, string> = {}) => {
  const r = await runCli(['retention', 'apply', '--json'], { env: { ...h.env, ...env } });
  return { ...r, report: (r.stdout ? JSON.parse(r.stdout) : undefined) as ApplyReport };
};

const mine = (ns: string) => (r: { stream?: { namespace: string } }) => r.stream?.namespace === ns;

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

describe('hot-row purge', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('retention-purge', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  const hotRows = async (ns: string) =>
    (await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM wormseal.events WHERE namespace = $1', [ns])).rows[0]!.n;

  it('purges sealed rows past the hot window, never held or unsealed ones; verify stays green; plain DELETE is still refused', async () => {
    await ingest(h, Array.from({ length: 6 }, () => makeEvent('purge-free', 'payment.created')));
    await ingest(h, Array.from({ length: 4 }, () => makeEvent('purge-held', 'payment.created')));
    await seal(h, 'purge-free', 3);
    await seal(h, 'purge-held', 2);
    const placed = await runCli(['hold', 'place', '--matter', 'M-purge', '--reason', 'r', '--by', 'legal', '--namespace', 'purge-held', '--json'], { env: h.env });
    expect(placed.code).toBe(0);
    // Written after the last seal: not sealed, so never purged.
    await ingest(h, Array.from({ length: 2 }, () => makeEvent('purge-free', 'payment.created')));

    const defaults = await apply(h);
    expect(defaults.report.purged_rows).toBe(0); // nothing is 30 days old
    const run = await apply(h, { WORMSEAL_HOT_WINDOW: 'PT0S' });
    expect(run.code).toBe(0);
    expect(run.report).toMatchObject({ purged_rows: 6, purged_batches: 2 });
    expect(await hotRows('purge-free')).toBe(2);
    expect(await hotRows('purge-held')).toBe(4);
    const purged = await h.pool.query("SELECT batch_no::int, hot_purged_rows::int FROM wormseal.batches WHERE namespace = 'purge-free' ORDER BY 1");
    expect(purged.rows).toEqual([
      { batch_no: 1, hot_purged_rows: 3 },
      { batch_no: 2, hot_purged_rows: 3 },
    ]);
    const v = await verifyNs(h, 'purge-free');
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, batches_checked: 2, events_checked: 6 });

    // The gate is only open inside the purge function: a superuser's DELETE is still refused.
    const err = await h.pool.query("DELETE FROM wormseal.events WHERE namespace = 'purge-free'").then(
      () => undefined,
      (e: pg.DatabaseError) => e,
    );
    expect({ code: err?.code, message: err?.message }).toEqual({ code: '42501', message: 'wormseal.events is append-only: DELETE refused' });
    expect(await hotRows('purge-free')).toBe(2);
    // And only the schema owner and wormseal_worker may run the purge function.
    const grants = await h.pool.query<{ grantee: string }>(
      `SELECT grantee FROM information_schema.routine_privileges WHERE routine_schema = 'wormseal' AND routine_name = 'purge_hot_rows' ORDER BY 1`,
    );
    expect(grants.rows.map((r) => r.grantee)).toEqual(expect.arrayContaining(['wormseal_worker']));
    expect(grants.rows.map((r) => r.grantee)).not.toContain('PUBLIC');
    expect(grants.rows.map((r) => r.grantee)).not.toContain('wormseal_writer');

    // After release the held batches' rows go too.
    await runCli(['hold', 'release', '--matter', 'M-purge', '--reason', 'done', '--by', 'legal'], { env: h.env });
    const later = await apply(h, { WORMSEAL_HOT_WINDOW: 'PT0S' });
    expect(later.report).toMatchObject({ purged_rows: 4, purged_batches: 2 });
    expect((await verifyNs(h, 'purge-held')).problems).toEqual([]);
  });

  it('the worker runs retention apply on WORMSEAL_RETENTION_CRON', async () => {
    const ns = 'purge-worker';
    await ingest(h, Array.from({ length: 3 }, () => makeEvent(ns, 'temp.note')));
    await seal(h, ns);
    const [b] = await listBatches(h.pool, { namespace: ns, retention_class: 'short' });
    await waitForExpiry(h, b!);
    const { spawn } = await import('node:child_process');
    const { ROOT } = await import('./harness.js');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'worker'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...h.env, WORMSEAL_SEAL_CRON: '0 0 1 1 *', WORMSEAL_RETENTION_CRON: '*/2 * * * * *' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      await waitFor('the worker to expire the batch', async () => {
        const t = await h.pool.query('SELECT expired_at FROM wormseal.tombstones WHERE namespace = $1', [ns]);
        return t.rows[0]?.expired_at ? true : undefined;
      }, 60_000).catch((e) => {
        throw new Error(`${(e as Error).message}; worker stderr:\n${stderr}`);
      });
    } finally {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(stderr).toContain('retention on "*/2 * * * * *"');
    expect(stderr).toMatch(/retention run: \d+ batch\(es\) expired/);
    expect(await h.store.listVersions(streamPrefix({ namespace: ns, retention_class: 'short' }))).toEqual([]);
  });
});
