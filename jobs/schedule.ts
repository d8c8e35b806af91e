/**
 * The one place that holds cron expressions (node-cron syntax, with an optional seconds field).
 * Operators override a job's schedule with the variable named beside it.
 */
export const SCHEDULES = {
  /** Seal everything below the horizon. WORMSEAL_SEAL_CRON overrides. */
  seal: '* * * * *',
  /** Extend, expire and purge (wormseal retention apply), daily at 03:17. WORMSEAL_RETENTION_CRON overrides. */
  retention: '17 3 * * *',
} as const;

export type JobName = keyof typeof SCHEDULES;
