import type { ObjectStore } from '../archive/store.js';
import type { Clock } from '../config/clock.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log/logger.js';
import type { RetentionSchedule } from '../retention/schedule.js';

/** The named points a crash test can stop hold work at (see `faults`). */
export type HoldFaultPoint = 'hold-after-first-flag';

/** What hold commands and the reconcile step need, passed in (STYLE 3). */
export interface HoldDeps {
  pool: Pool;
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  /** Classifies wormseal's own legal_hold.* audit events. */
  schedule: RetentionSchedule;
  /** Crash-test hook, as SealDeps.faults: production never sets it. */
  faults?: (point: HoldFaultPoint) => void | Promise<void>;
}
