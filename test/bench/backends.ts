/**
 * CPU of a database's server backends, from /proc, for the benchmark's child processes (seal-child,
 * verify-child): each snapshots the backends of its own database before and after its work.
 */
import { readFile } from 'node:fs/promises';
import type { Pool } from '../../src/db/pool.js';

/**
 * CPU ticks of every server backend of this database, from /proc: null when the server is not on
 * this machine. Bench-only accounting: the difference of two snapshots is the server time spent
 * while the child worked (the bench's own connections sit idle meanwhile).
 */
export async function backendTicks(pool: Pool): Promise<Map<number, number> | null> {
  try {
    const r = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
    const ticks = new Map<number, number>();
    for (const { pid } of r.rows) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime (fields 14 and 15 of stat)
    }
    return ticks;
  } catch {
    return null;
  }
}

/** Milliseconds of server CPU between two snapshots (USER_HZ is 100 on Linux). */
export function serverCpuMs(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks * 10;
}
