/** Helpers shared by the retention and purge integration tests. */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { systemClock } from '../../src/config/clock.js';
import type { BatchRow } from '../../src/db/batches.js';
import { appendEvents } from '../../src/events/ingest.js';
import type { EventInput } from '../../src/events/schema.js';
import type { ApplyReport, RetentionDeps } from '../../src/retention/apply.js';
import { sealAll } from '../../src/seal/seal.js';
import { verifyArchive } from '../../src/verify/archive.js';
import type { VerifyReport } from '../../src/verify/problems.js';
import { runCli, waitFor, waitUntilSealable, type Harness } from './harness.js';

let eventNo = 0;
export function makeEvent(namespace: string, eventType: string, over: Partial<EventInput> = {}): EventInput {
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

export async function ingest(h: Harness, events: EventInput[]): Promise<void> {
  const res = await appendEvents({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 }, events);
  expect(res).toMatchObject({ accepted: events.length, rejected: 0 });
}

export async function seal(h: Harness, namespace: string, batchSize = 100): Promise<void> {
  await waitUntilSealable(h.pool, namespace);
  const r = await sealAll(h.sealDeps({ batchSize }), { namespace });
  expect(r.failures).toEqual([]);
}

export function retentionDeps(h: Harness, over: Partial<RetentionDeps> = {}): RetentionDeps {
  return { pool: h.pool, store: h.store, clock: systemClock, logger: h.logger, schedule: h.schedule, hotWindow: 'P30D', ...over };
}

/** Wait (really: classes of a few seconds) until the S3 server's clock is past a batch's retain-until. */
export async function waitForExpiry(h: Harness, b: BatchRow): Promise<void> {
  await waitFor(`retain-until ${b.retain_until.toISOString()} to pass on the server`, async () => (await h.store.serverTime()) > b.retain_until, 30_000);
}

export async function verifyNs(h: Harness, namespace: string): Promise<VerifyReport> {
  return verifyArchive({ pool: h.pool, store: h.store, logger: h.logger }, { namespace });
}

export const apply = async (h: Harness, env: Record<string, string> = {}) => {
  const r = await runCli(['retention', 'apply', '--json'], { env: { ...h.env, ...env } });
  return { ...r, report: (r.stdout ? JSON.parse(r.stdout) : undefined) as ApplyReport };
};

export const mine = (ns: string) => (r: { stream?: { namespace: string } }) => r.stream?.namespace === ns;
