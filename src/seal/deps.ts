import type { ObjectStore } from '../archive/store.js';
import type { Clock } from '../config/clock.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log/logger.js';
import type { RetentionSchedule } from '../retention/schedule.js';
import type { FaultPoint } from './seal.js';

/** What a sealing run needs, passed in (STYLE 3): nothing below the CLI reads env or the wall clock. */
export interface SealDeps {
  pool: Pool;
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  config: {
    batchSize: number;
    schedule: RetentionSchedule;
    /** Warn about a transaction holding the horizon back for longer than this. */
    lagWarnSeconds: number;
    /** Streams sealed at once (default 1); each holds one pool connection while it works. */
    concurrency?: number;
  };
  /**
   * Crash-test hook: called at named points of the protocol. Production never sets it; the
   * integration tests kill the process here to prove every point resumes cleanly.
   */
  faults?: (point: FaultPoint) => void | Promise<void>;
}
