import { afterAll, describe } from 'vitest';
import { storeContract } from '../support/store-contract.js';
import { setupHarness, type Harness } from './harness.js';

// The WORM evidence: the same contract as the in-memory store, against the real S3 server.
describe('S3ObjectStore on a real Object Lock bucket', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });
  storeContract(async () => {
    const h = await setupHarness('contract');
    harnesses.push(h);
    let skew = 0;
    const local = Date.now();
    skew = (await h.store.serverTime()).getTime() - local;
    return {
      store: h.store,
      now: () => new Date(Date.now() + skew),
      wait: (ms: number) => new Promise((r) => setTimeout(r, ms)),
    };
  });
});
