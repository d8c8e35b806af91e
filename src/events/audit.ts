import type { Clock } from '../config/clock.js';
import { insertEvents } from '../db/events.js';
import type { Queryable } from '../db/pool.js';
import type { RetentionSchedule } from '../retention/schedule.js';
import { prepareEvent } from './prepare.js';
import type { EventInput } from './schema.js';

/** The namespace of wormseal's own audit events: the log of the log (DESIGN 7). */
export const AUDIT_NAMESPACE = 'wormseal';

/**
 * Record one of wormseal's own audit events (legal_hold.placed, legal_hold.released,
 * batch.expired) inside the caller's transaction, so the event exists exactly when the change it
 * reports was committed. It is validated, classified and sealed like any other event.
 */
export async function recordAuditEvent(
  db: Queryable,
  deps: { clock: Clock; schedule: RetentionSchedule },
  // data is checked like any client's (JSON values only) by prepareEvent.
  event: Omit<EventInput, 'namespace' | 'occurred_at' | 'outcome' | 'data'> & { data?: Record<string, unknown> },
): Promise<string> {
  const prepared = prepareEvent(
    { namespace: AUDIT_NAMESPACE, occurred_at: deps.clock.now().toISOString(), outcome: 'success', ...event },
    { clock: deps.clock, schedule: deps.schedule, maxEventBytes: 1024 * 1024 },
  );
  await insertEvents(db, [prepared]);
  return prepared.record.event_id;
}
