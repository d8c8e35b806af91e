/**
 * Scenario 1, ingest: the library's batched appendEvents, one writer, against (a) the seeds'
 * pattern (SELECT the last hash, then INSERT, one event at a time; seed 002) on a sample, and (b)
 * raw COPY of the same prepared rows into the same table and indexes; then 16 concurrent writers
 * through the fire-and-forget emitter, with a count proving none was lost.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Backend } from './backend.js';
import { createWorkspace } from './backend.js';
import { copyBlocks, countEvents, eventChunks, INGEST, prepare, textCopyRows } from './data.js';
import { eventCopyRows } from '../../src/db/events.js';
import { check, rate, type ScenarioResult } from './report.js';
import { appendEvents } from '../../src/events/ingest.js';
import { createEmitter, type EmitFailure } from '../../src/events/emitter.js';
import type { EventInput } from '../../src/events/schema.js';

const APPEND_BATCH = 5_000; // what `wormseal ingest` sends per call (src/cli/commands.ts)
const SEED_SAMPLE = 2_000;
const WARMUP = 10_000;
const WRITERS = 16;

export async function ingestScenario(b: Backend, events: number, log: (m: string) => void): Promise<ScenarioResult> {
  const all: EventInput[] = [];
  for (const c of eventChunks(events, 1)) all.push(...c);

  // The library path (validate, canonicalize, insert, in batches, one writer) and (b) raw COPY of
  // the same rows, prepared and encoded beforehand so that only the COPY is timed: binary rows, as
  // ingest sends them and the fastest form the server takes (the target's baseline), and text rows
  // (the baseline of runs before ingest sent binary). Each runs twice on a fresh database, in the
  // order library, binary, text, text, binary, library: on a shared machine a load that rises or
  // falls during the scenario then weighs on all sides alike.
  const blocks: Buffer[] = [];
  let libCpuUs = 0; // this process's CPU (user + system) during the timed library runs
  const library = async (batch = all, label = ''): Promise<number> => {
    const ws = await createWorkspace(b, 'ingest_lib');
    const cpu = process.cpuUsage();
    const t = performance.now();
    let accepted = 0;
    for (let i = 0; i < batch.length; i += APPEND_BATCH) {
      const res = await appendEvents({ pool: ws.pool, ...INGEST }, batch.slice(i, i + APPEND_BATCH));
      check(res.rejected === 0, `ingest: ${res.rejected} events rejected: ${res.errors[0]?.reason}`);
      accepted += res.accepted;
    }
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    if (!label) libCpuUs += used.user + used.system;
    const stored = await countEvents(ws.pool);
    check(accepted === batch.length && stored === batch.length, `ingest: ${batch.length} appended, table holds ${stored}`);
    await ws.close();
    log(`  library${label}: ${batch.length} events in ${(ms / 1000).toFixed(1)} s`);
    return ms;
  };
  const textBlocks: string[] = [];
  const rawCopy = async (text: boolean): Promise<number> => {
    if (blocks.length === 0) {
      for (let i = 0; i < all.length; i += 10_000) {
        const rows = prepare(all.slice(i, i + 10_000));
        blocks.push(eventCopyRows(rows));
        textBlocks.push(textCopyRows(rows));
      }
    }
    const ws = await createWorkspace(b, 'ingest_copy');
    const t = performance.now();
    await copyBlocks(ws.pool, text ? textBlocks : blocks);
    const ms = performance.now() - t;
    check((await countEvents(ws.pool)) === events, 'ingest: COPY baseline lost rows');
    await ws.close();
    log(`  COPY (${text ? 'text' : 'binary'}): ${events} rows in ${(ms / 1000).toFixed(1)} s`);
    return ms;
  };
  // A warm-up, untimed: the library's first run in a process pays for compiling its code (a cold
  // run measured ~0.8x of a warm one), which a service pays once. The COPY baselines need none:
  // their client side is a single write of bytes encoded beforehand.
  const warm = all.slice(0, Math.min(WARMUP, all.length));
  const coldMs = await library(warm, ' (warm-up, untimed)');
  let libMs = await library();
  let copyMs = await rawCopy(false);
  let textMs = await rawCopy(true);
  textMs += await rawCopy(true);
  copyMs += await rawCopy(false);
  blocks.length = 0;
  textBlocks.length = 0;
  libMs += await library();

  // (a) the seeds' pattern, on a sample: it is slow, and slower as the table grows.
  let ws = await createWorkspace(b, 'ingest_seed');
  const sample = all.slice(0, Math.min(SEED_SAMPLE, events));
  let t = performance.now();
  for (const e of sample) await seedAppend(ws.pool, e);
  const seedMs = performance.now() - t;
  check((await countEvents(ws.pool)) === sample.length, 'ingest: seed pattern lost rows');
  await ws.close();
  log(`  seed pattern: ${sample.length} events in ${(seedMs / 1000).toFixed(1)} s`);

  // 16 writers through the emitter, sharing one pool as services in one process would.
  ws = await createWorkspace(b, 'ingest_emit', WRITERS);
  const failures: EmitFailure[] = [];
  const emitters = Array.from({ length: WRITERS }, () =>
    createEmitter({ append: (evs) => appendEvents({ pool: ws.pool, ...INGEST }, evs), onError: (f) => failures.push(f) }),
  );
  t = performance.now();
  await Promise.all(
    emitters.map(async (em, w) => {
      for (let i = w; i < all.length; i += WRITERS) {
        em.emit(all[i]!);
        if (i % 200 === w) await new Promise((r) => setImmediate(r)); // a service does other work between events
      }
      await em.close();
    }),
  );
  const emitMs = performance.now() - t;
  const written = emitters.reduce((n, em) => n + em.stats().written, 0);
  const stored = await countEvents(ws.pool);
  check(failures.length === 0, `ingest: emitter reported ${failures.length} failures, first: ${failures[0]?.reason}`);
  check(written === events && stored === events, `ingest: 16 writers emitted ${events}, ${written} written, ${stored} stored`);
  await ws.close();

  const lib = rate(2 * events, libMs);
  const seed = rate(sample.length, seedMs);
  const copy = rate(2 * events, copyMs);
  const textCopy = rate(2 * events, textMs);
  const emit = rate(events, emitMs);
  return {
    figures: [
      { name: 'ingest, library appendEvents (1 writer)', value: lib, unit: 'ev/s', baseline: { name: 'seed pattern', value: seed }, target: { op: '>=', value: 25, onRatio: true } },
      { name: 'ingest, library appendEvents (1 writer)', value: lib, unit: 'ev/s', baseline: { name: 'raw COPY, binary', value: copy }, target: { op: '>=', value: 0.8, onRatio: true } },
      { name: 'ingest, library appendEvents (1 writer)', value: lib, unit: 'ev/s', baseline: { name: 'raw COPY, text rows', value: textCopy } },
      { name: `ingest, ${WRITERS} writers via emitter (0 lost)`, value: emit, unit: 'ev/s', baseline: { name: 'raw COPY, binary', value: copy } },
    ],
    json: {
      ingest_events_per_s: Math.round(lib),
      ingest_vs_seed_pattern: +(lib / seed).toFixed(2),
      ingest_vs_copy: +(lib / copy).toFixed(3),
      ingest_seed_pattern_events_per_s: Math.round(seed),
      ingest_copy_events_per_s: Math.round(copy),
      ingest_copy_text_events_per_s: Math.round(textCopy),
      ingest_emitter_16_events_per_s: Math.round(emit),
      ingest_warmup_events_per_s: Math.round(rate(warm.length, coldMs)),
    },
    notes: [
      `  ${events} events, library and COPY twice each (seed pattern on the first ${sample.length}); library CPU in Node ${(libCpuUs / (2 * events)).toFixed(1)} µs/event`,
      `  library warm-up (untimed, first run in the process): ${warm.length} events at ${Math.round(rate(warm.length, coldMs)).toLocaleString('en-US')} ev/s`,
      `  ${WRITERS} emitters stored ${stored} of ${events}, 0 reported failures`,
    ],
  };
}

/**
 * Seed 002's appendEvent, on our table: read the last row's hash, chain the new event to it with
 * JSON.stringify + SHA-256 + HMAC, INSERT one row; no transaction, one event at a time.
 */
async function seedAppend(pool: import('../../src/db/pool.js').Pool, e: EventInput): Promise<void> {
  const [p] = prepare([e]);
  const { rows } = await pool.query<{ seq: string; h: Buffer }>(
    'SELECT seq::text, sha256(canonical) AS h FROM wormseal.events ORDER BY seq DESC LIMIT 1',
  );
  const previousHash = rows[0]?.h.toString('hex') ?? '0'.repeat(64);
  const eventHash = createHash('sha256').update(JSON.stringify({ ...e, sequenceNumber: Number(rows[0]?.seq ?? 0) + 1, previousHash })).digest('hex');
  createHmac('sha256', 'seed-signing-key').update(eventHash).digest('hex');
  const r = p!.record;
  await pool.query(
    `INSERT INTO wormseal.events (event_id, namespace, retention_class, event_type, occurred_at, recorded_at,
       actor_id, actor_type, resource_type, resource_id, subject_id, outcome, correlation_id, canonical)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [r.event_id, r.namespace, r.retention_class, r.event_type, r.occurred_at, r.recorded_at, r.actor.id, r.actor.type,
      r.resource?.type ?? null, r.resource?.id ?? null, r.subject_id ?? null, r.outcome, r.correlation_id ?? null, p!.bytes],
  );
}
