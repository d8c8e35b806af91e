/**
 * For the benchmark's child processes (ingest-child, seal-child, verify-child): starting one and
 * reading its result, and the CPU of a database's server backends, from /proc (each child
 * snapshots the backends of its own database before and after its work).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Pool } from '../../src/db/pool.js';
import { BenchFailure } from './report.js';

/** Run a bench child script; resolve with the JSON of its last stdout line. Exit code and output are checked. */
export function runJsonChild<T>(script: string, args: string[], env: Record<string, string | undefined>, label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new BenchFailure(`${label} exited ${code}:\n${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
      } catch (e) {
        reject(new BenchFailure(`${label} printed no result (${(e as Error).message}):\n${stderr.slice(-2000)}`));
      }
    });
  });
}


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

/**
 * A full garbage collection of this process now, then a pause for its background sweeping: before
 * a timed run, so that the benchmark's own garbage (events generated, rows encoded) is not
 * collected by V8's background threads on the cores the run and its server need. Measured: the
 * first ingest run after generating the events was 0.5-0.7x of the later ones without this.
 */
export async function settle(): Promise<void> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  await sleep(200);
}
