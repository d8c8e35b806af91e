import { sealAndCheckpoint, type SealAndCheckpointReport } from '../src/checkpoint/run.js';
import type { SigningKey } from '../src/checkpoint/keys.js';
import type { SealDeps } from '../src/seal/deps.js';

/**
 * Scheduled job: one sealing run over every stream, then a signed checkpoint of the heads. Throws
 * when any stream or the checkpoint failed, so the worker logs it loudly.
 */
export async function run(deps: SealDeps & { signingKey: SigningKey | undefined; tsaUrl?: string | undefined }): Promise<SealAndCheckpointReport> {
  const report = await sealAndCheckpoint(deps);
  const failed = report.failures.map((f) => `${f.stream.namespace}/${f.stream.retention_class}: ${f.error}`);
  if (report.checkpoint_error) failed.push(`checkpoint: ${report.checkpoint_error}`);
  if (failed.length > 0) throw new Error(`seal run failed: ${failed.join('; ')}`);
  return report;
}
