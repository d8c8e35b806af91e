import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOutBinary, type RowView } from '../../src/db/copy.js';
import type { PoolClient } from '../../src/db/pool.js';
import { setupHarness, type Harness } from './harness.js';

// copyOutBinary takes the connection's socket from pg for the length of a COPY and parses the
// protocol itself: these run it against a real server, across every way the bytes can be cut.
describe('copyOutBinary on a real server', () => {
  let h: Harness;
  let client: PoolClient;
  beforeAll(async () => {
    h = await setupHarness('copy_out');
    client = await h.pool.connect();
  });
  afterAll(async () => {
    client?.release();
    await h?.close();
  });

  // Rows of every size from empty to 200 kB (so messages are cut by socket reads anywhere, and
  // some span many reads), with NULLs, multi-byte text and all byte values.
  const source = `SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('é✓x', i % 50) END AS t,
      decode(repeat(lpad(to_hex(i % 256), 2, '0'), CASE WHEN i % 500 = 3 THEN 200000 ELSE (i * 37) % 3000 END), 'hex') AS b
    FROM generate_series(1, 5000) AS i`;

  const viaQuery = async () =>
    (await client.query<{ i: number; t: string | null; b: Buffer }>(source)).rows.map((r) => [r.i, r.t, r.b.toString('hex')]);

  const collect = async (pageSize: number, page: () => void | Promise<void> = () => {}) => {
    const rows: unknown[] = [];
    let pages = 0;
    await copyOutBinary(
      client,
      source,
      {
        row: (r: RowView) => rows.push([r.bytes(0)!.readInt32BE(0), r.text(1), r.bytes(2)!.toString('hex')]),
        page: async () => {
          pages++;
          await page();
        },
      },
      pageSize,
    );
    return { rows, pages };
  };

  it('gives every row a plain query gives, in order, with NULLs', async () => {
    const expected = await viaQuery();
    const { rows, pages } = await collect(1_000);
    expect(rows).toEqual(expected);
    expect(pages).toBeGreaterThanOrEqual(5);
  });

  it('gives the same rows when every page makes it wait (the socket is paused meanwhile)', async () => {
    const { rows } = await collect(50, () => new Promise((r) => setTimeout(r, 2)));
    expect(rows).toEqual(await viaQuery());
  });

  it('leaves the connection usable after a COPY, and after an empty one', async () => {
    await collect(100);
    let n = 0;
    await copyOutBinary(client, 'SELECT 1 WHERE false', { row: () => n++, page: () => {} }, 10);
    expect(n).toBe(0);
    expect((await client.query('SELECT 41 + 1 AS x')).rows[0].x).toBe(42);
  });

  it('rejects with the server error when the query fails after rows were sent, and the connection goes on', async () => {
    let seen = 0;
    await expect(
      copyOutBinary(
        client,
        `SELECT i, CASE WHEN i < 20000 THEN repeat('x', 500) ELSE (1 / (i - i))::text END FROM generate_series(1, 30000) AS i`,
        { row: () => seen++, page: () => {} },
        1_000,
      ),
    ).rejects.toThrow(/division by zero/);
    expect(seen).toBeGreaterThan(0);
    expect((await client.query('SELECT 2 AS x')).rows[0].x).toBe(2);
  });

  it('rethrows a visitor error after draining the stream, and the connection goes on', async () => {
    let calls = 0;
    await expect(
      copyOutBinary(
        client,
        source,
        {
          row: () => {
            if (++calls === 1234) throw new Error('visitor refused row 1234');
          },
          page: () => {},
        },
        100,
      ),
    ).rejects.toThrow(/row 1234/);
    expect((await client.query('SELECT 3 AS x')).rows[0].x).toBe(3);
  });

  it('rejects a query the server refuses outright', async () => {
    await expect(copyOutBinary(client, 'SELECT * FROM no_such_table', { row: () => {}, page: () => {} }, 10)).rejects.toThrow(/no_such_table/);
    expect((await client.query('SELECT 4 AS x')).rows[0].x).toBe(4);
  });
});
