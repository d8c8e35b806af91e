import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey } from '../../src/checkpoint/keys.js';
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { requestTimestamp } from '../../src/checkpoint/timestamp.js';
import { systemClock } from '../../src/config/clock.js';
import { appendEvents } from '../../src/events/ingest.js';
import { objectPath, type Bundle } from '../../src/export/format.js';
import { verifyBundle } from '../../src/verify/bundle.js';
import { generateEvents } from '../demo/generate.js';
import { startTsa, type LocalTsa } from '../support/tsa.js';
import { runCli, setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

describe('RFC 3161 time-stamps of checkpoints (local openssl TSA)', () => {
  let h: Harness;
  let tsa: LocalTsa;
  const tmp = mkdtempSync(join(tmpdir(), 'wormseal-ts-'));
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  beforeAll(async () => {
    h = await setupHarness('timestamp', { schedule: TEST_SCHEDULE });
    tsa = await startTsa();
    const events = generateEvents({ count: 5, seed: 3 }).map((e) => ({ ...e, namespace: 'stamped', event_type: 'payment.created' }));
    await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
    await waitUntilSealable(h.pool);
  });
  afterAll(async () => {
    await tsa?.close();
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('each checkpoint is stamped, the stamp verifies with openssl ts, and a bundle carries and checks it', async () => {
    const report = await sealAndCheckpoint({ ...h.sealDeps(), signingKey: loadSigningKey(pem, 'wormseal', null), tsaUrl: tsa.url });
    const cp = report.checkpoint!;
    expect(cp.timestamp?.key).toBe(`${cp.key}.tsr`);
    expect((await h.store.getLock(cp.timestamp!.key, cp.timestamp!.version_id)).mode).toBe('COMPLIANCE');

    // What an examiner runs, given the TSA's CA certificate.
    writeFileSync(join(tmp, 'note'), await h.store.get(cp.key, cp.version_id));
    writeFileSync(join(tmp, 'note.tsr'), await h.store.get(cp.timestamp!.key, cp.timestamp!.version_id));
    const out = execFileSync('openssl', ['ts', '-verify', '-data', 'note', '-in', 'note.tsr', '-CAfile', tsa.caFile, '-untrusted', tsa.tsaCertFile], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    expect(out).toContain('Verification: OK');

    const dir = join(tmp, 'bundle');
    const env = { ...h.env, WORMSEAL_SIGNING_KEY: pem };
    expect((await runCli(['export', '--out', dir, '--namespace', 'stamped'], { env })).code).toBe(0);
    const ok = await verifyBundle(dir);
    expect(ok.problems).toEqual([]);
    expect(ok.checkpoint?.timestamped_at).toBe(cp.timestamp!.gen_time);

    // A stamp of other data put in its place is caught.
    const forged = join(tmp, 'forged');
    cpSync(dir, forged, { recursive: true });
    const stampKey = (JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as Bundle).checkpoint_timestamp!.key;
    writeFileSync(join(forged, objectPath(stampKey)), await requestTimestamp(tsa.url, Buffer.from('something else\n')));
    const bad = await verifyBundle(forged);
    expect(bad.problems.map((p) => p.reason)).toEqual(['signature_invalid']);
    expect(bad.problems[0]!.detail).toMatch(/covers other data/);
  });
});
