/**
 * DESIGN 5, crash safety: the real CLI is SIGKILLed at every named point of the sealing protocol
 * (WORMSEAL_TEST_KILL_AT, see faultsFromEnv in src/cli/commands.ts); the next ordinary run must
 * finish the pending batch with exactly the bytes an undisturbed run would have sealed, and leave
 * no duplicate or orphan behind, in the registry or in the bucket. A different object already at a
 * pending batch's key is an alarm, never overwritten.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataKey, manifestKey, streamPrefix } from '../../src/archive/layout.js';
import { systemClock } from '../../src/config/clock.js';
import { listBatches, type StreamId } from '../../src/db/batches.js';
import type { Pool } from '../../src/db/pool.js';
import { appendEvents } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import { leafHash, merkleRoot } from '../../src/merkle/index.js';
import { sealAll, type FaultPoint, type SealReport } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { runCli, setupHarness, waitUntilSealable, type Harness } from './harness.js';

const BATCH = 10;

let eventNo = 0;
function makeEvent(namespace: string): EventInput {
  const n = eventNo++;
  return {
    event_id: randomUUID(),
    namespace,
    event_type: 'payment.created', // built-in schedule: sox-7y
    occurred_at: new Date(Date.UTC(2026, 10, 2, 8, 0, 0) + n * 1000).toISOString(),
    actor: { id: `u_${n % 5}`, type: 'user' },
    resource: { type: 'payment', id: `pay_${n}` },
    outcome: 'success',
    data: { amount_cents: 1000 + n },
  };
}

/**
 * The roots an undisturbed seal gives, computed independently: the stream's canonical bytes from
 * Postgres in (txid, seq) order, cut into batches of BATCH, RFC 6962 over each.
 */
async function expectedRoots(pool: Pool, s: StreamId): Promise<string[]> {
  const rows = await pool.query<{ canonical: Buffer }>(
    'SELECT canonical FROM wormseal.events WHERE namespace = $1 AND retention_class = $2 ORDER BY txid, seq',
    [s.namespace, s.retention_class],
  );
  const roots: string[] = [];
  for (let i = 0; i < rows.rows.length; i += BATCH) {
    roots.push(merkleRoot(rows.rows.slice(i, i + BATCH).map((r) => leafHash(r.canonical))).toString('hex'));
  }
  return roots;
}

/** Every version and delete marker in the stream's part of the bucket, by key. */
async function versionsByKey(h: Harness, s: StreamId): Promise<Map<string, { versionId: string; isDeleteMarker: boolean }[]>> {
  const out = new Map<string, { versionId: string; isDeleteMarker: boolean }[]>();
  for (const v of await h.store.listVersions(streamPrefix(s))) {
    const list = out.get(v.key) ?? [];
    list.push({ versionId: v.versionId, isDeleteMarker: v.isDeleteMarker });
    out.set(v.key, list);
  }
  return out;
}

describe('sealing survives SIGKILL at every point of the protocol (DESIGN 5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('crash');
  });
  afterAll(async () => {
    await h?.close();
  });

  const seal = (namespace: string, extra: Record<string, string> = {}) =>
    runCli(['seal', '--json', '--namespace', namespace], { env: { ...h.env, WORMSEAL_BATCH_SIZE: String(BATCH), ...extra } });
  const ingest = async (events: EventInput[]) => {
    const res = await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
    expect(res).toMatchObject({ accepted: events.length, rejected: 0 });
  };

  // What the bucket holds for the killed batch (batch 2) when the process dies at each point.
  const objectsAtKill: Record<FaultPoint, { data: number; manifest: number }> = {
    'after-pending': { data: 0, manifest: 0 },
    'after-data-upload': { data: 1, manifest: 0 },
    'after-manifest-upload': { data: 1, manifest: 1 },
    'before-commit': { data: 1, manifest: 1 },
  };

  it.each(Object.keys(objectsAtKill) as FaultPoint[])('killed at %s, the next run resumes the batch with the undisturbed root', async (point) => {
    const ns = `crash-${point}`;
    const stream: StreamId = { namespace: ns, retention_class: 'sox-7y' };

    // Batch 1 sealed normally, so the killed batch also has a predecessor to chain to.
    await ingest(Array.from({ length: BATCH }, () => makeEvent(ns)));
    await waitUntilSealable(h.pool, ns);
    const first = await sealAll(h.sealDeps({ batchSize: BATCH }), { namespace: ns });
    expect(first.failures).toEqual([]);
    expect(first.batches.map((b) => b.batch_no)).toEqual([1]);

    // 17 more, from three transactions: batches 2 (10 events) and 3 (7 events) to come.
    await ingest(Array.from({ length: 6 }, () => makeEvent(ns)));
    await ingest(Array.from({ length: 5 }, () => makeEvent(ns)));
    await ingest(Array.from({ length: 6 }, () => makeEvent(ns)));
    await waitUntilSealable(h.pool, ns);

    const killed = await seal(ns, { WORMSEAL_TEST_KILL_AT: point });
    expect({ code: killed.code, signal: killed.signal, stdout: killed.stdout }).toEqual({ code: null, signal: 'SIGKILL', stdout: '' });

    // The registry holds batch 2 pending, nothing beyond it.
    let batches = await listBatches(h.pool, stream);
    expect(batches.map((b) => [b.batch_no, b.state])).toEqual([
      [1, 'sealed'],
      [2, 'pending'],
    ]);
    expect(batches[1]).toMatchObject({ leaf_count: BATCH, data_version_id: null, manifest_version_id: null, root: null });

    // The bucket holds what had been uploaded when the process died, and nothing of batch 3.
    const atKill = await versionsByKey(h, stream);
    expect({
      data: atKill.get(dataKey(stream, 2))?.length ?? 0,
      manifest: atKill.get(manifestKey(stream, 2))?.length ?? 0,
    }).toEqual(objectsAtKill[point]);
    expect([...atKill.keys()].sort()).toEqual(
      [dataKey(stream, 1), manifestKey(stream, 1), ...(objectsAtKill[point].data ? [dataKey(stream, 2)] : []), ...(objectsAtKill[point].manifest ? [manifestKey(stream, 2)] : [])].sort(),
    );
    // A verifier run now sees the pending batch and nothing wrong with the sealed one.
    const mid = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace: ns });
    expect(mid.problems).toEqual([]);
    expect(mid).toMatchObject({ ok: true, batches_checked: 1, pending_batches: 1 });

    // The next ordinary run finishes batch 2 (resumed) and seals batch 3.
    const resumed = await seal(ns);
    expect({ code: resumed.code, signal: resumed.signal }).toEqual({ code: 0, signal: null });
    const report = JSON.parse(resumed.stdout) as SealReport;
    expect(report.failures).toEqual([]);
    expect(report.batches.map((b) => ({ batch_no: b.batch_no, leaf_count: b.leaf_count, resumed: b.resumed }))).toEqual([
      { batch_no: 2, leaf_count: BATCH, resumed: true },
      { batch_no: 3, leaf_count: 7, resumed: false },
    ]);
    expect(resumed.stderr).toContain(`resuming pending batch ${ns}/sox-7y #2`);

    // Exactly one batch row per number, all sealed.
    batches = await listBatches(h.pool, stream);
    expect(batches.map((b) => [b.batch_no, b.state])).toEqual([
      [1, 'sealed'],
      [2, 'sealed'],
      [3, 'sealed'],
    ]);

    // Exactly one version per object key, the one the registry recorded; no delete markers, no
    // orphans. Objects that were uploaded before the kill were reused, not written again.
    const after = await versionsByKey(h, stream);
    const want = new Map<string, string>();
    for (const b of batches) {
      want.set(b.data_key, b.data_version_id!);
      want.set(b.manifest_key, b.manifest_version_id!);
    }
    expect([...after.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, versions] of after) {
      expect({ key, versions }).toEqual({ key, versions: [{ versionId: want.get(key), isDeleteMarker: false }] });
    }
    for (const [key, versions] of atKill) expect(after.get(key)).toEqual(versions);

    // The same roots an undisturbed seal of these events gives.
    const roots = await expectedRoots(h.pool, stream);
    expect(roots).toHaveLength(3);
    expect(batches.map((b) => b.root!.toString('hex'))).toEqual(roots);
    expect(report.batches.map((b) => b.root)).toEqual(roots.slice(1));

    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace: ns });
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, batches_checked: 3, batches_valid: 3, events_checked: 27, pending_batches: 0 });
  });

  it('refuses to overwrite a different object already at a pending batch key, and leaves the batch pending', async () => {
    const ns = 'crash-foreign-object';
    const stream: StreamId = { namespace: ns, retention_class: 'sox-7y' };
    await ingest(Array.from({ length: 6 }, () => makeEvent(ns)));
    await waitUntilSealable(h.pool, ns);

    const killed = await seal(ns, { WORMSEAL_TEST_KILL_AT: 'after-pending' });
    expect({ code: killed.code, signal: killed.signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await listBatches(h.pool, stream)).map((b) => [b.batch_no, b.state])).toEqual([[1, 'pending']]);

    // Someone else's bytes, locked, at the pending batch's data key.
    const foreign = await h.store.put(dataKey(stream, 1), Buffer.from('not the batch wormseal would write\n'), {
      lock: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 3_600_000) },
      legalHold: false,
      contentType: 'application/gzip',
    });

    const refused = await seal(ns);
    expect({ code: refused.code, signal: refused.signal }).toEqual({ code: 1, signal: null });
    const report = JSON.parse(refused.stdout) as SealReport;
    expect(report.batches).toEqual([]);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ stream, batch_no: 1, error: expect.stringMatching(/refusing to overwrite/) });
    expect(refused.stderr).toMatch(/refusing to overwrite/);

    // Still pending; the foreign version is the only one at the key; no manifest was written.
    const batches = await listBatches(h.pool, stream);
    expect(batches.map((b) => [b.batch_no, b.state, b.data_version_id, b.manifest_version_id])).toEqual([[1, 'pending', null, null]]);
    const versions = await versionsByKey(h, stream);
    expect([...versions]).toEqual([[dataKey(stream, 1), [{ versionId: foreign.versionId, isDeleteMarker: false }]]]);

    // Running again changes nothing: still refused, still pending.
    const again = await seal(ns);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refusing to overwrite/);
    expect((await listBatches(h.pool, stream)).map((b) => [b.batch_no, b.state])).toEqual([[1, 'pending']]);
    expect((await h.store.listVersions(streamPrefix(stream))).map((v) => v.versionId)).toEqual([foreign.versionId]);
  });
});
