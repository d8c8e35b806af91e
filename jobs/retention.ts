import { applyRetention, type ApplyReport, type RetentionDeps } from '../src/retention/apply.js';

/**
 * Scheduled job: one `retention apply` run. Throws when the server refused a deletion or a step
 * failed, so the worker logs it loudly; the report says which batch and why.
 */
export async function run(deps: RetentionDeps): Promise<ApplyReport> {
  const report = await applyRetention(deps);
  const problems = [
    ...report.refused.map((r) => `${r.stream.namespace}/${r.stream.retention_class} batch ${r.batch_no}: deletion refused: ${r.error}`),
    ...report.failures.map((f) => `${f.step}${f.batch_no ? ` batch ${f.batch_no}` : ''}: ${f.error}`),
    ...report.legal_holds.failures.map((f) => `legal hold ${f.stream.namespace}/${f.stream.retention_class} batch ${f.batch_no}: ${f.error}`),
  ];
  if (problems.length > 0) throw new Error(`retention run: ${problems.length} problem(s): ${problems.join('; ')}`);
  return report;
}
