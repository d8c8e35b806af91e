// Helpers for test files: the backends themselves are found/started by ./global-setup.ts and
// reach the test workers through vitest's inject().
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
// Also brings in the ProvidedContext declarations that type inject() below.
import type { BackendKind } from './global-setup.js';

export interface TestDatabase {
  /** Database name (already created, empty). */
  name: string;
  /** Connection URL for it, same role as the provided superuser URL. */
  url: string;
  /** Drops the database, closing any sessions still connected. Safe to call twice. */
  drop(): Promise<void>;
}

export interface S3Coordinates {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  backend: BackendKind;
}

async function asSuperuser<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh, uniquely named database on the provided server. Test files run in parallel
 * against one server, so each should use its own database (and drop it in afterAll).
 */
export async function createTestDatabase(name = 'test'): Promise<TestDatabase> {
  // Only [a-z0-9_] so the name needs no escaping; 63 bytes is PostgreSQL's identifier limit.
  const label = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 30) || 'test';
  const dbName = `ws_${label}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`.slice(0, 63);
  await asSuperuser((c) => c.query(`CREATE DATABASE "${dbName}"`));

  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${dbName}`;
  let dropped = false;
  return {
    name: dbName,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      // WITH (FORCE) (PostgreSQL 13+) terminates pools a failed test left open.
      await asSuperuser((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
      dropped = true;
    },
  };
}

/** Endpoint, region and keys of the S3 backend the tests run against. */
export function s3Config(): S3Coordinates {
  return {
    endpoint: inject('s3Endpoint'),
    region: inject('s3Region'),
    accessKeyId: inject('s3AccessKeyId'),
    secretAccessKey: inject('s3SecretAccessKey'),
    backend: inject('backend'),
  };
}

