/**
 * Scenario 4b, query by actor over a large hot table (the seeds' "answered in <100ms with indexed
 * queries"): findEventsByActor for random actors over a random 30-day range, warm, p50/p99.
 * Baseline: the same query with the index unusable (a sequential scan), measured a few times.
 */
import { findEventsByActor } from '../../src/db/events.js';
import { createWorkspace, type Backend } from './backend.js';
import { preload } from './data.js';
import { check, percentile, type ScenarioResult } from './report.js';
import { rng } from '../demo/generate.js';

const QUERIES = 500;
const RANGE_MS = 30 * 86_400_000;

export async function queryScenario(b: Backend, rows: number, log: (m: string) => void): Promise<ScenarioResult> {
  const ws = await createWorkspace(b, 'query');
  try {
    await preload(ws.pool, rows, 4, log);
    const span = await ws.pool.query<{ lo: Date; hi: Date }>('SELECT min(occurred_at) AS lo, max(occurred_at) AS hi FROM wormseal.events');
    const lo = span.rows[0]!.lo.getTime();
    const hi = span.rows[0]!.hi.getTime();
    const actors = (await ws.pool.query<{ actor_id: string }>('SELECT DISTINCT actor_id FROM wormseal.events')).rows.map((r) => r.actor_id);
    const r = rng(99);
    const pick = () => {
      const from = lo + Math.floor(r() * Math.max(1, hi - lo - RANGE_MS));
      return { actor: actors[Math.floor(r() * actors.length)]!, range: { from: new Date(from), to: new Date(from + RANGE_MS) } };
    };
    for (let i = 0; i < 20; i++) await findEventsByActor(ws.pool, pick().actor, pick().range); // warm
    const times: number[] = [];
    let returned = 0;
    for (let i = 0; i < QUERIES; i++) {
      const q = pick();
      const t = performance.now();
      const found = await findEventsByActor(ws.pool, q.actor, q.range);
      times.push(performance.now() - t);
      returned += found.length;
      for (const e of found) check(e.occurred_at >= q.range.from && e.occurred_at < q.range.to, 'query returned an event outside the range');
    }
    // Correctness on one query: the index answer equals a scan's.
    const q = pick();
    const viaIndex = (await findEventsByActor(ws.pool, q.actor, q.range, 1_000_000)).map((e) => e.event_id);
    const client = await ws.pool.connect();
    const scanTimes: number[] = [];
    let viaScan: string[] = [];
    try {
      await client.query('SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off');
      for (let i = 0; i < 1; i++) {
        const t = performance.now();
        viaScan = (await findEventsByActor(client, q.actor, q.range, 1_000_000)).map((e) => e.event_id);
        scanTimes.push(performance.now() - t);
      }
    } finally {
      await client.query('RESET ALL').catch(() => {});
      client.release();
    }
    check(JSON.stringify(viaIndex) === JSON.stringify(viaScan), 'query by actor: index and scan answers differ');
    times.sort((a, b) => a - b);
    scanTimes.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    const p99 = percentile(times, 99);
    log(`  ${QUERIES} queries over ${rows} rows, ${actors.length} actors, ${(returned / QUERIES).toFixed(0)} events per answer on average`);
    return {
      figures: [
        { name: `query by actor, 30-day range, p50 (${rows / 1e6}M rows)`, value: p50, unit: 'ms', better: 'lower' },
        { name: `query by actor, 30-day range, p99 (${rows / 1e6}M rows)`, value: p99, unit: 'ms', better: 'lower', baseline: { name: 'same query, sequential scan', value: scanTimes[0]! }, target: { op: '<=', value: 100 } },
      ],
      json: { query_actor_p50_ms: +p50.toFixed(2), query_actor_p99_ms: +p99.toFixed(2) },
      notes: [`  ${(returned / QUERIES).toFixed(0)} events per answer on average (limit 1000), ${actors.length} distinct actors`],
    };
  } finally {
    await ws.close();
  }
}
