import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDataObject, parseDataObject, sha256 } from '../../src/archive/batchfile.js';
import { encodeManifest, MANIFEST_FORMAT, type Manifest } from '../../src/archive/manifest.js';
import { canonicalBytes } from '../../src/events/canonical.js';
import { buildLevelTree, leafHash } from '../../src/merkle/index.js';
import { checkBatchBytes, type BatchCheck } from '../../src/verify/batch.js';
import { answer } from '../../src/verify/batch-worker.js';
import { BatchChecker, CHUNK } from '../../src/verify/threads.js';

const stream = { namespace: 'billing', retention_class: 'sox-7y' };

/** A sealed batch of `count` events: its manifest and data object bytes, as the sealer writes them. */
function batch(count: number, no = 1) {
  const lines = Array.from({ length: count }, (_, i) => canonicalBytes({ event_id: `e${no}-${i}`, ...stream, pad: 'x'.repeat(i % 300), n: i }));
  const data = buildDataObject(lines);
  const m: Manifest = {
    format: MANIFEST_FORMAT,
    stream,
    batch_no: no,
    prev_manifest_sha256: null,
    tree: { algorithm: 'rfc6962-sha256', size: count, root: buildLevelTree(Buffer.concat(lines.map((l) => leafHash(l)))).root().toString('hex') },
    data: { key: `k${no}`, sha256: sha256(data).toString('hex'), bytes: data.length, encoding: 'gzip', media_type: 'application/x-ndjson' },
    window: { first: { txid: '1', seq: '1' }, last: { txid: '1', seq: String(count) } },
    events: {
      first_event_id: `e${no}-0`,
      last_event_id: `e${no}-${count - 1}`,
      occurred_min: '2026-01-01T00:00:00.000Z',
      occurred_max: '2026-01-01T00:00:00.000Z',
      recorded_min: '2026-01-01T00:00:00.000Z',
      recorded_max: '2026-01-01T00:00:00.000Z',
    },
    retention: { class: 'sox-7y', duration: 'P7Y', citation: 'SOX', mode: 'COMPLIANCE', retain_until: '2033-01-01T00:00:00.000Z' },
    sealed_at: '2026-01-01T00:00:00.000Z',
  };
  return { lines, data, manifest: encodeManifest(m).bytes };
}

/** A BatchCheck as plain values, to compare results from two threads. */
function plain(c: BatchCheck) {
  const lines = c.lines ? Array.from({ length: c.lines.count }, (_, i) => c.lines!.line(i).toString('utf8')) : undefined;
  return { manifest: c.manifest, dataSha256: c.dataSha256, findings: c.findings, lines, leaves: c.leaves?.toString('hex') };
}

const regzip = (data: Buffer, edit: (lines: Buffer[]) => Buffer[]) => gzipSync(Buffer.concat(edit(parseDataObject(data)).flatMap((l) => [l, Buffer.from('\n')])));

// Intact and tampered inputs, small (buffers from Node's shared pool) and large (their own memory).
const small = batch(3);
const large = batch(20_000, 2); // two hashing chunks, the second partial
const exact = batch(CHUNK, 3);
const many = batch(3 * CHUNK + 1, 4); // four chunks, the last of one line
const cases: [string, Buffer, Buffer | undefined][] = [
  ['intact, 3 events', small.manifest, small.data],
  ['intact, 20,000 events', large.manifest, large.data],
  ['intact, one whole chunk of events', exact.manifest, exact.data],
  ['intact, three chunks and one event', many.manifest, many.data],
  ['no data object', small.manifest, undefined],
  ['manifest not JSON', Buffer.from('{"format":'), small.data],
  ['manifest of another batch', large.manifest, small.data],
  ['byte flipped in one line', large.manifest, regzip(large.data, (l) => l.map((x, i) => (i === 7 ? Buffer.from(x.toString().replace('"n":7', '"n":8')) : x)))],
  ['line removed', large.manifest, regzip(large.data, (l) => l.slice(1))],
  ['data object not gzip', small.manifest, Buffer.from('not gzip at all')],
  ['data object truncated', large.manifest, large.data.subarray(0, large.data.length - 100)],
  ['empty line', small.manifest, gzipSync('{"a":1}\n\n')],
  // The last member's trailer states less than the whole: the shared buffer has to grow.
  ['two gzip members', large.manifest, Buffer.concat([regzip(large.data, (l) => l.slice(0, 15_000)), regzip(large.data, (l) => l.slice(15_000))])],
  ['bytes after the gzip stream', small.manifest, Buffer.concat([small.data, Buffer.from('trailing bytes')])],
];

describe('BatchChecker (checkBatchBytes on worker threads)', () => {
  const checker = new BatchChecker({ threads: 2 });
  afterAll(() => checker.close());

  it('intact batches verify, with every line and its leaf hash', async () => {
    const c = await checker.check(large.manifest, large.data);
    expect(c.findings).toEqual([]);
    expect(c.lines!.count).toBe(20_000);
    expect(c.lines!.line(12_345).equals(large.lines[12_345]!)).toBe(true);
    expect(c.leaves!.subarray(32 * 12_345, 32 * 12_346).equals(leafHash(large.lines[12_345]!))).toBe(true);
  });

  it.each(cases)('%s: the same result as in-thread, findings and all', async (_, manifest, data) => {
    const inThread = checkBatchBytes(manifest, data);
    const threaded = await checker.check(manifest, data);
    expect(plain(threaded)).toEqual(plain(inThread));
  });

  it.each(cases)('%s, without lines (decompressed and hashed a chunk at a time): the same findings, leaves and count', async (_, manifest, data) => {
    const inThread = checkBatchBytes(manifest, data);
    const digested = await checker.check(manifest, data, { lines: false });
    const { lines, ...rest } = plain(inThread);
    expect(digested.lines).toBeUndefined();
    expect({ ...plain(digested), count: digested.count }).toEqual({ ...rest, lines: undefined, count: lines?.length });
    // The data object comes back (to split into lines when they are needed after all).
    if (digested.manifest && data) expect(digested.dataBytes!.equals(data)).toBe(true);
  });

  it('without lines, handed over: the buffer moves to the worker and comes back as dataBytes', async () => {
    const whole = Buffer.from(large.data);
    const c = await checker.check(large.manifest, whole, { handOver: true, lines: false });
    expect(whole.buffer.byteLength).toBe(0); // detached here
    expect(c.dataBytes!.equals(large.data)).toBe(true);
    expect(c.count).toBe(20_000);
    expect(c.leaves!.equals(Buffer.concat(large.lines.map((l) => leafHash(l))))).toBe(true);
  });

  it('tampered inputs still give findings (the corpus above is not all intact)', () => {
    const found = cases.map(([name, m, d]) => [name, checkBatchBytes(m, d).findings.map((f) => `${f.object}:${f.reason}`)]);
    expect(found).toEqual([
      ['intact, 3 events', []],
      ['intact, 20,000 events', []],
      ['intact, one whole chunk of events', []],
      ['intact, three chunks and one event', []],
      ['no data object', []],
      ['manifest not JSON', ['manifest:content_changed']],
      ['manifest of another batch', ['data:content_changed', 'data:content_changed', 'data:content_changed']],
      ['byte flipped in one line', ['data:content_changed', 'data:content_changed']],
      ['line removed', ['data:content_changed', 'data:content_changed', 'data:content_changed']],
      ['data object not gzip', ['data:content_changed', 'data:content_changed']],
      ['data object truncated', ['data:content_changed', 'data:content_changed']],
      ['empty line', ['data:content_changed', 'data:content_changed']],
      ['two gzip members', ['data:content_changed']],
      ['bytes after the gzip stream', ['data:content_changed', 'data:content_changed']],
    ]);
  });

  it('many checks queued at once each get their own answer', async () => {
    const batches = Array.from({ length: 12 }, (_, i) => batch(50 + i, i + 1));
    const results = await Promise.all(batches.map((b) => checker.check(b.manifest, b.data)));
    results.forEach((r, i) => {
      expect(r.findings).toEqual([]);
      expect(r.manifest!.batch_no).toBe(i + 1);
      expect(r.lines!.count).toBe(50 + i);
    });
  });

  it("leaves the caller's buffers intact", async () => {
    const copy = Buffer.from(large.data);
    await checker.check(large.manifest, large.data);
    expect(large.data.equals(copy)).toBe(true);
  });

  it('handed over, moves a whole buffer to the worker instead of copying it, and copies a view', async () => {
    const expected = plain(await checker.check(large.manifest, large.data));
    const whole = Buffer.from(large.data); // its own ArrayBuffer, exactly this long
    expect(whole.byteOffset === 0 && whole.byteLength === whole.buffer.byteLength).toBe(true);
    expect(plain(await checker.check(large.manifest, whole, { handOver: true }))).toEqual(expected);
    expect(whole.buffer.byteLength).toBe(0); // transferred: detached here
    const backing = Buffer.concat([Buffer.from('x'), large.data]);
    const view = backing.subarray(1);
    expect(plain(await checker.check(large.manifest, view, { handOver: true }))).toEqual(expected);
    expect(view.equals(large.data)).toBe(true); // shares memory with other bytes: copied, left as it was
  });

  it('in-thread when asked for no threads', async () => {
    const c = new BatchChecker({ threads: 0 });
    expect(plain(await c.check(large.manifest, large.data))).toEqual(plain(checkBatchBytes(large.manifest, large.data)));
    await c.close();
  });

  it('an error thrown by a check comes back as that error', async () => {
    const res = await answer({ kind: 'scan', id: 7, expect: null as never, data: new Uint8Array(1) });
    expect(res).toMatchObject({ id: 7, kind: 'error', error: { name: 'TypeError' } });
  });

  it('a worker that dies rejects the check in flight, and every later one', async () => {
    const c = new BatchChecker({ threads: 1 });
    const pending = c.check(large.manifest, large.data);
    await c['slots']![0]!.worker.terminate();
    await expect(pending).rejects.toThrow(/worker exited/);
    await expect(c.check(small.manifest, small.data)).rejects.toThrow(/worker exited/);
    await c.close();
  });

  it('close() rejects checks still queued', async () => {
    const c = new BatchChecker({ threads: 1 });
    const queued = [c.check(large.manifest, large.data), c.check(large.manifest, large.data)];
    const rejected = queued.map((q) => expect(q).rejects.toThrow(/closed/));
    await c.close();
    await Promise.all(rejected);
  });
});
