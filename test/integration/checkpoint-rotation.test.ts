import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS_PREFIX } from '../../src/archive/layout.js';
import { loadSigningKey, type SigningKey } from '../../src/checkpoint/keys.js';
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { systemClock } from '../../src/config/clock.js';
import { appendEvents } from '../../src/events/ingest.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { generateEvents } from '../demo/generate.js';
import { setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

const key = (name: string, validUntil: Date | null = null): SigningKey =>
  loadSigningKey(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), name, validUntil);

describe('signing key rotation', () => {
  let h: Harness;
  let seed = 1;
  const sealWith = async (signingKey: SigningKey) => {
    const events = generateEvents({ count: 2, seed: seed++ }).map((e) => ({ ...e, namespace: 'rot', event_type: 'payment.created' }));
    await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
    await waitUntilSealable(h.pool);
    return sealAndCheckpoint({ ...h.sealDeps(), signingKey });
  };

  beforeAll(async () => {
    h = await setupHarness('rotation', { schedule: TEST_SCHEDULE });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('checkpoints signed by the old key stay valid after a new key takes over; an expired key signs nothing', async () => {
    const first = key('ops-2026');
    const second = key('ops-2027');
    expect((await sealWith(first)).checkpoint?.signed_by).toBe(`ops-2026+${first.keyId}`);
    expect((await sealWith(second)).checkpoint?.signed_by).toBe(`ops-2027+${second.keyId}`);
    const published = (await h.store.listVersions(KEYS_PREFIX)).map((v) => v.key).sort();
    expect(published).toEqual([`v1/keys/ops-2026/${first.keyId}.note`, `v1/keys/ops-2027/${second.keyId}.note`]);
    expect((await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger })).problems).toEqual([]);

    const expired = await sealWith(key('ops-old', new Date(Date.now() - 1000)));
    expect(expired.batches).toHaveLength(1); // sealing itself goes on
    expect(expired.checkpoint).toBeNull();
    expect(expired.checkpoint_error).toMatch(/signing key ops-old\+[0-9a-f]{8} expired/);
    expect((await h.store.listVersions(KEYS_PREFIX)).some((v) => v.key.includes('ops-old'))).toBe(false);
  });
});
