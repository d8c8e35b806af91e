import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/config/clock.js';
import { appendEvents } from '../../src/events/ingest.js';
import { sealAll } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import type { Problem } from '../../src/verify/problems.js';
import { generateEvents } from '../demo/generate.js';
import { runCli, setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

/**
 * Each tampering happens in its own namespace, so the verdict must name exactly that stream,
 * batch, object and reason — and nothing else may be reported.
 */
describe('verify names every kind of tampering', () => {
  let h: Harness;
  const batchOf = async (namespace: string, batchNo = 1) =>
    (
      await h.pool.query(
        `SELECT retention_class, data_key, data_version_id, manifest_key, manifest_version_id, first_txid::text, last_txid::text,
                first_seq, last_seq, retain_until
         FROM wormseal.batches WHERE namespace = $1 AND batch_no = $2`,
        [namespace, batchNo],
      )
    ).rows[0];

  beforeAll(async () => {
    h = await setupHarness('tamper', { schedule: TEST_SCHEDULE });
    const ingest = { pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 };
    let seed = 1;
    for (const ns of ['intact', 'altered', 'removed', 'overwritten', 'hidden', 'gap', 'tail']) {
      const events = generateEvents({ count: 12, seed: seed++ }).map((e) => ({ ...e, namespace: ns, event_type: 'payment.created' }));
      expect((await appendEvents(ingest, events)).accepted).toBe(12);
    }
    // A short-retention stream, so that its manifest version can really be deleted once expired.
    const temp = generateEvents({ count: 8, seed: 99 }).map((e) => ({ ...e, namespace: 'expired', event_type: 'temp.note' }));
    expect((await appendEvents(ingest, temp)).accepted).toBe(8);
    await waitUntilSealable(h.pool);
    const report = await sealAll(h.sealDeps({ batchSize: 4 }));
    expect(report.failures).toEqual([]);
    const clean = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    expect(clean.problems).toEqual([]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports each tampering with the right reason, stream, batch and object', async () => {
    // 1. A sealed row altered by a superuser (who must first switch the append-only trigger off).
    const altered = await batchOf('altered', 2);
    await h.pool.query(`ALTER TABLE wormseal.events DISABLE TRIGGER events_no_update_delete`);
    await h.pool.query(
      `UPDATE wormseal.events SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '"outcome":"success"', '"outcome":"failure"'), 'UTF8')
       WHERE event_id = (SELECT event_id FROM wormseal.events WHERE namespace = 'altered' ORDER BY txid, seq OFFSET 5 LIMIT 1)`,
    );
    // 2. A sealed row removed.
    const removed = await batchOf('removed', 3);
    const gone = (
      await h.pool.query(`DELETE FROM wormseal.events WHERE event_id = (SELECT event_id FROM wormseal.events WHERE namespace = 'removed' ORDER BY txid, seq OFFSET 9 LIMIT 1) RETURNING event_id`)
    ).rows[0].event_id;
    await h.pool.query(`ALTER TABLE wormseal.events ENABLE TRIGGER events_no_update_delete`);
    // 3. Another object version put under a batch key.
    const over = await batchOf('overwritten', 1);
    await h.store.put(over.data_key, Buffer.from('forged'), {
      lock: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 3_600_000) },
      legalHold: false,
      contentType: 'application/gzip',
    });
    // 4. A delete marker over a batch object (a plain DeleteObject succeeds even under lock).
    const hidden = await batchOf('hidden', 2);
    await h.store.delete(hidden.manifest_key);
    // 5. A batch removed from the registry in the middle of the chain, and the last one at the tail.
    await h.pool.query(`DELETE FROM wormseal.batches WHERE namespace = 'gap' AND batch_no = 2`);
    await h.pool.query(`DELETE FROM wormseal.batches WHERE namespace = 'tail' AND batch_no = 3`);
    // 6. A manifest version really deleted, once its (short) retention ran out.
    const expired = await batchOf('expired', 1);
    const until = new Date(expired.retain_until).getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 1500));
    await h.store.delete(expired.manifest_key, expired.manifest_version_id);

    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    const got = v.problems.map((p: Problem) => [p.stream.namespace, p.batch_no, p.object, p.reason]);
    expect(got).toEqual([
      ['altered', 2, altered.data_key, 'content_changed'],
      ['expired', 1, expired.manifest_key, 'missing'],
      ['gap', 2, null, 'missing'],
      ['hidden', 2, hidden.manifest_key, 'delete_marker'],
      ['overwritten', 1, over.data_key, 'overwritten'],
      ['removed', 3, removed.data_key, 'missing'],
      ['tail', 3, null, 'truncated'],
    ]);
    expect(v.problems.find((p) => p.stream.namespace === 'removed')!.detail).toContain(gone);
    expect(v.problems.find((p) => p.stream.namespace === 'altered')!.detail).toMatch(/differs from the sealed line/);
    expect(v.ok).toBe(false);
    // The intact stream is counted valid; every damaged batch is not.
    expect(v.batches_checked - v.batches_valid).toBe(5);

    const cli = await runCli(['verify'], { env: h.env });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`CONTENT_CHANGED altered/sox-7y batch 2 ${altered.data_key}`);
    expect(cli.stdout).toContain(`OVERWRITTEN overwritten/sox-7y batch 1 ${over.data_key}`);
    expect(cli.stdout).toMatch(/NOT VERIFIED/);
    const json = JSON.parse((await runCli(['verify', '--json', '--namespace', 'intact'], { env: h.env })).stdout);
    expect(json).toMatchObject({ ok: true, problems: [], batches_checked: 3, events_checked: 12 });
  });
});
