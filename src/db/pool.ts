import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: a pool or a checked-out client. Data-access functions take this first. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

// xid8 and int8 arrive as strings; they are parsed where they are used (BigInt), never as floats.
export function createPool(connectionString: string, max = 10): Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'wormseal' });
  // A client that loses its server must not crash the process: pg emits 'error' on the client as
  // well as failing its queries. Idle clients are covered by the pool's listener; a checked-out
  // one (a COPY in progress when the backend is terminated) needs its own. The query in flight,
  // and any later one, still fails with the error, and a caller that saw it releases the client
  // as broken.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function withTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
