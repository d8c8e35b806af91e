import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockRefusedError } from '../../src/archive/store.js';
import { systemClock } from '../../src/config/clock.js';
import { appendEvents } from '../../src/events/ingest.js';
import { sealAll } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { generateEvents } from '../demo/generate.js';
import { ndjson, runCli, setupHarness, waitUntilSealable, type Harness } from './harness.js';

describe('ingest → seal → WORM archive → verify, on real Postgres and S3 Object Lock', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness('pipeline');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('seals events of several streams into locked batches that verify', async () => {
    const events = generateEvents({ count: 600, seed: 7 });
    const res = await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
    expect(res).toMatchObject({ accepted: 600, rejected: 0, duplicates: 0 });

    await waitUntilSealable(h.pool);
    const report = await sealAll(h.sealDeps({ batchSize: 150 }));
    expect(report.failures).toEqual([]);
    const streams = new Set(report.batches.map((b) => `${b.stream.namespace}/${b.stream.retention_class}`));
    expect(streams.size).toBeGreaterThanOrEqual(3);
    expect(report.batches.reduce((n, b) => n + b.leaf_count, 0)).toBe(600);
    // Per stream, batches are numbered 1..n without gaps.
    for (const s of streams) {
      const nos = report.batches.filter((b) => `${b.stream.namespace}/${b.stream.retention_class}` === s).map((b) => b.batch_no);
      expect(nos).toEqual(nos.map((_, i) => i + 1));
    }

    // Nothing new: a second run seals nothing.
    expect((await sealAll(h.sealDeps())).batches).toEqual([]);

    const v = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, events_checked: 600, batches_checked: report.batches.length, batches_valid: report.batches.length });
  });

  it('the S3 server refuses to delete a sealed version or shorten its retention', async () => {
    const report = await sealAll(h.sealDeps());
    const sealed = (await h.pool.query('SELECT data_key, data_version_id, manifest_key, manifest_version_id, retain_until FROM wormseal.batches LIMIT 1')).rows[0];
    expect(sealed).toBeDefined();
    void report;
    const lock = await h.store.getLock(sealed.data_key, sealed.data_version_id);
    expect(lock.mode).toBe('COMPLIANCE');
    expect(lock.retainUntil!.getTime()).toBeGreaterThanOrEqual(new Date(sealed.retain_until).getTime());

    await expect(h.store.delete(sealed.data_key, sealed.data_version_id)).rejects.toBeInstanceOf(LockRefusedError);
    await expect(h.store.delete(sealed.manifest_key, sealed.manifest_version_id)).rejects.toBeInstanceOf(LockRefusedError);
    await expect(
      h.store.putRetention(sealed.data_key, sealed.data_version_id, { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 60_000) }),
    ).rejects.toBeInstanceOf(LockRefusedError);
    // Still there, byte for byte, with the lock unchanged.
    const after = await h.store.getLock(sealed.data_key, sealed.data_version_id);
    expect(after.retainUntil!.getTime()).toBe(lock.retainUntil!.getTime());
    expect((await h.store.get(sealed.data_key, sealed.data_version_id)).length).toBeGreaterThan(0);
  });

  it('the CLI ingests, seals with --json in the contract shape, and verifies', async () => {
    const events = generateEvents({ count: 50, seed: 99, start: new Date('2026-11-02T00:00:00Z') });
    const ing = await runCli(['ingest', '--json', '-'], { env: h.env, input: ndjson(events) });
    expect(ing.stderr).toBe('');
    expect(ing.code).toBe(0);
    expect(JSON.parse(ing.stdout)).toEqual({ accepted: 50, rejected: 0, duplicates: 0, errors: [] });

    // The same file again changes nothing.
    const again = await runCli(['ingest', '--json', '-'], { env: h.env, input: ndjson(events) });
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 50, rejected: 0, duplicates: 50 });

    await waitUntilSealable(h.pool);
    const seal = await runCli(['seal', '--json'], { env: h.env });
    expect(seal.code).toBe(0);
    const out = JSON.parse(seal.stdout);
    expect(out.batches.reduce((n: number, b: { leaf_count: number }) => n + b.leaf_count, 0)).toBe(50);
    for (const b of out.batches) {
      expect(b).toMatchObject({
        stream: { namespace: expect.any(String), retention_class: expect.any(String) },
        batch_no: expect.any(Number),
        root: expect.stringMatching(/^[0-9a-f]{64}$/),
        retain_until: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(b.objects.map((o: { kind: string }) => o.kind)).toEqual(['data', 'manifest']);
      for (const o of b.objects) expect(o.version_id).toEqual(expect.any(String));
    }

    const verify = await runCli(['verify', '--json'], { env: h.env });
    expect(verify.code).toBe(0);
    const v = JSON.parse(verify.stdout);
    expect(v).toMatchObject({ ok: true, events_checked: 650, problems: [] });

    const human = await runCli(['verify'], { env: h.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/(\d+)\/\1 batches valid, 650 events checked/);
  });

  it('doctor passes on a locked bucket and explains a bucket without Object Lock', async () => {
    const ok = await runCli(['doctor', '--json'], { env: h.env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).checks.map((c: { name: string }) => c.name)).toEqual([
      'database',
      'migrations',
      'object-lock',
      'versioning',
      'default-retention',
      'clock-skew',
      'signing-key',
    ]);

    const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const plain = `${h.bucket.slice(0, 50)}-plain`;
    await h.store.client.send(new CreateBucketCommand({ Bucket: plain }));
    const env = { ...h.env, WORMSEAL_BUCKET: plain };
    const bad = await runCli(['doctor'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL object-lock/);
    expect(bad.stdout).toMatch(/fix: /);
    const seal = await runCli(['seal'], { env });
    expect(seal.code).toBe(1);
    expect(seal.stderr).toMatch(/refusing to seal into s3:\/\/.*-plain.*run wormseal doctor/);
  });

  it('configuration errors name the variable and exit 2', async () => {
    const r = await runCli(['seal'], { env: { DATABASE_URL: 'mysql://x', AWS_REGION: 'x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DATABASE_URL must be a postgres: or postgresql: URL/);
    expect(r.stderr).toMatch(/WORMSEAL_BUCKET is not set/);
    const u = await runCli(['verify', '--bogus'], { env: h.env });
    expect(u.code).toBe(2);
  });
});
