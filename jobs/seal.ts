import { sealAll, type SealReport } from '../src/seal/seal.js';
import type { SealDeps } from '../src/seal/deps.js';

/** Scheduled job: one sealing run over every stream. Throws when any stream failed, so the worker logs it loudly. */
export async function run(deps: SealDeps): Promise<SealReport> {
  const report = await sealAll(deps);
  if (report.failures.length > 0) {
    throw new Error(
      `seal run failed for ${report.failures.length} stream(s): ` +
        report.failures.map((f) => `${f.stream.namespace}/${f.stream.retention_class}: ${f.error}`).join('; '),
    );
  }
  return report;
}
