import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { withTransaction, type Pool } from './pool.js';

// Migrations ship as .sql files next to the sources; compiled code finds them in src/.
const here = dirname(fileURLToPath(import.meta.url));
const candidates = [join(here, 'migrations'), join(here, '../../../src/db/migrations')];

function migrationsDir(): string {
  for (const dir of candidates) {
    try {
      if (readdirSync(dir).some((f) => f.endsWith('.sql'))) return dir;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`migrations not found (looked in ${candidates.join(', ')})`);
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  const dir = migrationsDir();
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

// Any constant works as long as it is ours; "WORMMIGR" spelled in ASCII.
const MIGRATION_LOCK = 0x574f524d4d494752n;

/**
 * Apply pending migrations, forward only. Two processes may call this at once: the transaction-scoped
 * advisory lock makes the second wait, then see the first one's work and apply nothing.
 */
export async function migrate(pool: Pool): Promise<{ applied: string[]; current: number }> {
  return withTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await c.query('CREATE SCHEMA IF NOT EXISTS wormseal');
    await c.query(`CREATE TABLE IF NOT EXISTS wormseal.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await c.query<{ version: number }>('SELECT version FROM wormseal.schema_migrations')).rows.map((r) => r.version),
    );
    const applied: string[] = [];
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO wormseal.schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
    }
    const all = listMigrations();
    return { applied, current: all.length ? all[all.length - 1]!.version : 0 };
  });
}

/** Versions applied and still pending, for doctor. Does not take the lock or change anything. */
export async function migrationStatus(pool: Pool): Promise<{ applied: number[]; pending: string[] }> {
  const exists = await pool.query(`SELECT to_regclass('wormseal.schema_migrations') IS NOT NULL AS ok`);
  const applied = exists.rows[0].ok
    ? (await pool.query<{ version: number }>('SELECT version FROM wormseal.schema_migrations ORDER BY version')).rows.map((r) => r.version)
    : [];
  const pending = listMigrations()
    .filter((m) => !applied.includes(m.version))
    .map((m) => m.name);
  return { applied, pending };
}
