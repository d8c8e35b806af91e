import { describe } from 'vitest';
import { MemoryObjectStore } from '../../src/archive/memory.js';
import { fixedClock } from '../../src/config/clock.js';
import { storeContract } from '../support/store-contract.js';

// The same contract runs against Ceph RGW in test/integration/store-contract.test.ts.
describe('MemoryObjectStore', () => {
  const clock = fixedClock(new Date('2026-11-23T10:00:00Z'));
  storeContract(async () => ({ store: new MemoryObjectStore(clock), now: () => clock.now(), wait: async (ms: number) => clock.advance(ms) }));
});
