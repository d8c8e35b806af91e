/**
 * The library's ingest in a process of its own, as a service would run it: argv `EVENTS WARMUP`;
 * env DATABASE_URL (the timed database) and WARMUP_DATABASE_URL. It generates the bench's events
 * (data.ts, seed 1, so the same events as the COPY baselines), sends the first WARMUP of them
 * untimed to the warm-up database, then all of them to the timed database in calls of
 * APPEND_BATCH, and prints one JSON line.
 *
 * Why a process: V8 decides per allocation site whether its objects are allocated straight into
 * the old generation ("pretenuring"), from how many of them survived. The bench process holds
 * tens of thousands of prepared events for the COPY baselines, which made V8 pretenure ingest's
 * own per-event objects; those then filled the old generation, where a fresh page costs a page
 * fault (about 10 µs on this VM): ingest spent 13–16 µs of CPU per event instead of 9–10. A
 * service holds its events only while a call lasts.
 *
 * Why a warm-up as large as the run: a fresh process's heap grows during its first tens of
 * thousands of events, one faulted page at a time. Measured on 50k events: the first run in a
 * process 17–21 µs of CPU per event (0.1–0.5 page faults per event), the next one 9–10 (0.05). A
 * service pays that once; its figure is printed as the warm-up's.
 */
import { readFileSync } from 'node:fs';
import { appendEvents } from '../../src/events/ingest.js';
import { createPool } from '../../src/db/pool.js';
import type { EventInput } from '../../src/events/schema.js';
import { backendTicks, serverCpuMs } from './backends.js';
import { eventChunks, INGEST } from './data.js';

/** What `wormseal ingest` sends per call (src/cli/commands.ts). */
export const APPEND_BATCH = 5_000;

export interface IngestChildResult {
  /** The timed run: wall and this process's CPU (user + system) time. */
  ms: number;
  cpuMs: number;
  accepted: number;
  rejected: number;
  firstError?: string;
  /** CPU of the timed database's server backend meanwhile; null when the server is not local. */
  backendsMs: number | null;
  /** Page faults of this process during the timed run. */
  minorFaults: number;
  /** The warm-up: events and wall time. */
  warmupEvents: number;
  warmupMs: number;
}

async function send(url: string, events: EventInput[], timed: boolean): Promise<Omit<IngestChildResult, 'warmupEvents' | 'warmupMs'>> {
  const pool = createPool(url, 1);
  try {
    const before = timed ? await backendTicks(pool) : null;
    const faults = minorFaults();
    const cpu = process.cpuUsage();
    const t = performance.now();
    let accepted = 0;
    let rejected = 0;
    let firstError: string | undefined;
    for (let i = 0; i < events.length; i += APPEND_BATCH) {
      const res = await appendEvents({ pool, ...INGEST }, events.slice(i, i + APPEND_BATCH));
      accepted += res.accepted;
      rejected += res.rejected;
      firstError ??= res.errors[0]?.reason;
    }
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const minor = minorFaults() - faults;
    const backendsMs = timed ? serverCpuMs(before, await backendTicks(pool)) : null;
    return { ms, cpuMs: (used.user + used.system) / 1000, accepted, rejected, ...(firstError ? { firstError } : {}), backendsMs, minorFaults: minor };
  } finally {
    await pool.end();
  }
}

/** Minor page faults of this process so far (field 10 of /proc/self/stat); 0 where there is none. */
function minorFaults(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return 0;
  }
}

const [count, warmup] = process.argv.slice(2).map(Number);
const timedUrl = process.env.DATABASE_URL;
const warmupUrl = process.env.WARMUP_DATABASE_URL;
if (!count || warmup === undefined || !timedUrl || !warmupUrl) {
  console.error('usage: ingest-child EVENTS WARMUP (env DATABASE_URL, WARMUP_DATABASE_URL)');
  process.exit(2);
}
const all: EventInput[] = [];
for (const c of eventChunks(count, 1)) all.push(...c);
const warm = await send(warmupUrl, all.slice(0, warmup), false);
if (warm.rejected > 0) {
  console.error(`warm-up: ${warm.rejected} events rejected, first: ${warm.firstError}`);
  process.exit(1);
}
const run = await send(timedUrl, all, true);
const result: IngestChildResult = { ...run, warmupEvents: warmup, warmupMs: warm.ms };
console.log(JSON.stringify(result));
