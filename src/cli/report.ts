import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import { listHoldSummaries } from '../holds/holds.js';
import { describeScope } from '../holds/scope.js';
import type { HoldEntry } from '../report/model.js';
import { buildReportModel } from '../report/build.js';
import { renderReport } from '../report/render.js';
import type { VerifyReport } from '../verify/problems.js';

/**
 * Check before a long verification that the report can be written where asked: a missing
 * directory found afterwards would throw the whole run away. Returns what is wrong, or undefined.
 */
export async function reportPathProblem(path: string): Promise<string | undefined> {
  const dir = dirname(resolve(path));
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    return `--report ${path}: cannot write into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) return `--report ${path}: is a directory; name the HTML file to write`;
  return undefined;
}

/** What `verify` checked, in words: the bucket and the database by name, never the URL (it may hold a password). */
export function archiveSubject(config: Config, namespace: string | undefined): string {
  let database = 'database';
  try {
    const url = new URL(config.databaseUrl);
    database = `database ${decodeURIComponent(url.pathname.slice(1)) || '(default)'} on ${url.hostname}`;
  } catch {
    // loadConfig validated the URL; nothing better to say if it still fails to parse
  }
  return `s3://${config.bucket} · ${database}${namespace ? ` · namespace ${namespace} only` : ''}`;
}

/** Every hold, active or released, for the report's holds section. */
async function holdEntries(pool: Pool): Promise<HoldEntry[]> {
  return (await listHoldSummaries({ pool }, { all: true })).map((h) => ({
    matter: h.matter,
    scope: describeScope(h.scope),
    placed_at: h.placed_at,
    placed_by: h.placed_by,
    reason: h.reason,
    batches_covered: h.batches,
    active: h.state === 'active',
    released_at: h.released_at,
    released_by: h.released_by,
  }));
}

export async function writeVerifyReport(
  path: string,
  report: VerifyReport,
  opts: { config: Config; pool: Pool; namespace: string | undefined; now: Date },
): Promise<void> {
  const model = buildReportModel({
    report,
    subject: archiveSubject(opts.config, opts.namespace),
    generatedAt: opts.now,
    schedule: opts.config.schedule,
    holds: await holdEntries(opts.pool),
  });
  await writeFile(path, renderReport(model));
}

/** The report of an offline bundle verification: no registry, so no holds and no schedule to show. */
export async function writeBundleReport(path: string, report: VerifyReport, opts: { dir: string; now: Date }): Promise<void> {
  const model = buildReportModel({ report, subject: `export bundle ${resolve(opts.dir)}`, generatedAt: opts.now, holds: null });
  await writeFile(path, renderReport(model));
}
