/**
 * DESIGN 8: hot rows leave Postgres only through wormseal.purge_hot_rows — whole sealed batches past
 * the hot window that no active hold covers — and the worker runs retention on its own schedule.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamPrefix } from '../../src/archive/layout.js';
import { listBatches } from '../../src/db/batches.js';
import { ROOT, runCli, setupHarness, TEST_SCHEDULE, waitFor, type Harness } from './harness.js';
import { apply, ingest, makeEvent, seal, verifyNs, waitForExpiry } from './retention-support.js';

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
    const dry = await runCli(['retention', 'apply', '--dry-run', '--json'], { env: { ...h.env, WORMSEAL_HOT_WINDOW: 'PT0S' } });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, purged_rows: 6, purged_batches: 2 });
    expect(await hotRows('purge-free')).toBe(8);
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
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'worker'], {
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
