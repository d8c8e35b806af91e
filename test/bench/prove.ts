/**
 * Scenario 4a, prove: the inclusion proof of a random event of the sealed archive (the seal
 * scenario's, or one sealed for it), through the library's prover, warm: p50 and p99. Baseline:
 * the cold proof, the first one in each batch (its leaf hashes computed by Postgres, its tree
 * built). Every proof is checked with the RFC 9162 verifier outside the timed part.
 */
import { createProver } from '../../src/proof/prove.js';
import { encodeProof, verifyProofBytes } from '../../src/proof/proof.js';
import { check, percentile, type ScenarioResult } from './report.js';
import type { SealRun } from './seal.js';

const PROOFS = 500;

export async function proveScenario(run: SealRun, log: (m: string) => void): Promise<ScenarioResult> {
  const { pool, store } = run.ws;
  const batches = run.report.batches.length;
  // Enough cached trees for every batch of the archive: "warm" means each batch was proven once.
  const prover = createProver({ pool, store }, { cachedBatches: batches + 1 });
  const firstOfBatch = await pool.query<{ event_id: string }>(
    `SELECT e.event_id FROM wormseal.batches b
     JOIN LATERAL (SELECT event_id FROM wormseal.events e
       WHERE e.namespace = b.namespace AND e.retention_class = b.retention_class
         AND (e.txid, e.seq) >= (b.first_txid, b.first_seq) AND (e.txid, e.seq) <= (b.last_txid, b.last_seq)
       LIMIT 1) e ON true
     WHERE b.state = 'sealed'`,
  );
  check(firstOfBatch.rows.length === batches, `prove: ${firstOfBatch.rows.length} of ${batches} batches have hot rows`);
  const cold: number[] = [];
  for (const { event_id } of firstOfBatch.rows) {
    const t = performance.now();
    const proof = await prover.prove(event_id);
    cold.push(performance.now() - t);
    check(verifyProofBytes(encodeProof(proof)).ok, `prove: the cold proof of ${event_id} does not verify`);
  }
  const sample = await pool.query<{ event_id: string }>(`SELECT event_id FROM wormseal.events ORDER BY random() LIMIT ${PROOFS}`);
  const warm: number[] = [];
  for (const { event_id } of sample.rows) {
    const t = performance.now();
    const proof = await prover.prove(event_id);
    warm.push(performance.now() - t);
    const verdict = verifyProofBytes(encodeProof(proof));
    check(verdict.ok, `prove: the proof of ${event_id} does not verify: ${verdict.problems.join('; ')}`);
  }
  warm.sort((a, b) => a - b);
  const coldMean = cold.reduce((a, b) => a + b, 0) / cold.length;
  const p50 = percentile(warm, 50);
  const p99 = percentile(warm, 99);
  log(`  ${PROOFS} proofs over ${run.events} events in ${batches} batches, each verified`);
  return {
    figures: [
      { name: `prove a random event of ${run.events / 1e6}M, warm, p50`, value: p50, unit: 'ms', better: 'lower', baseline: { name: 'cold (first in its batch), mean', value: coldMean } },
      { name: `prove a random event of ${run.events / 1e6}M, warm, p99`, value: p99, unit: 'ms', better: 'lower', baseline: { name: 'cold (first in its batch), mean', value: coldMean }, target: { op: '<=', value: 50 } },
    ],
    json: { prove_p50_ms: +p50.toFixed(2), prove_p99_ms: +p99.toFixed(2), prove_cold_mean_ms: +coldMean.toFixed(1) },
    notes: [`  ${PROOFS} random events, every proof checked with verify-proof's RFC 9162 code; cold = first proof of each of ${batches} batches`],
  };
}
