import { describe, expect, it } from 'vitest';
import { createEmitter, type EmitFailure } from '../../src/events/emitter.js';
import type { IngestResult } from '../../src/events/ingest.js';

const ok = (events: unknown[]): IngestResult => ({
  accepted: events.length,
  rejected: 0,
  duplicates: 0,
  errors: [],
  event_ids: events.map((e) => (e as { event_id: string }).event_id),
});

describe('fire-and-forget emitter', () => {
  it('never throws into the caller and reports every event that did not land', async () => {
    const failures: EmitFailure[] = [];
    let calls = 0;
    const emitter = createEmitter({
      append: async () => {
        calls++;
        throw new Error('connection refused');
      },
      onError: (f) => failures.push(f),
      retries: 2,
      flushIntervalMs: 5,
    });
    expect(() => emitter.emit({ event_type: 'payment.created' })).not.toThrow();
    expect(() => emitter.emit(null as unknown as object)).not.toThrow();
    await emitter.flush();
    expect(calls).toBe(3); // first try + 2 retries
    expect(failures.map((f) => f.kind).sort()).toEqual(['rejected', 'unavailable']);
    expect(failures.find((f) => f.kind === 'unavailable')!.reason).toBe('connection refused');
    expect(emitter.stats()).toMatchObject({ emitted: 2, written: 0, failed: 2, buffered: 0 });
  });

  it('gives each event an id before the first attempt, so a retry cannot duplicate it', async () => {
    const seen: string[][] = [];
    let fail = true;
    const emitter = createEmitter({
      append: async (events) => {
        seen.push(events.map((e) => (e as { event_id: string }).event_id));
        if (fail) {
          fail = false;
          throw new Error('blip');
        }
        return ok(events);
      },
      onError: () => {},
      flushIntervalMs: 1,
    });
    emitter.emit({ a: 1 });
    emitter.emit({ a: 2, event_id: 'given' });
    await emitter.flush();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]![1]).toBe('given');
    expect(emitter.stats()).toMatchObject({ written: 2, failed: 0 });
  });

  it('reports rejected events with their reason and writes the rest', async () => {
    const failures: EmitFailure[] = [];
    const emitter = createEmitter({
      append: async (events) => ({
        ...ok(events.slice(1)),
        rejected: 1,
        errors: [{ index: 0, field: 'event_type', reason: 'event_type: bad' }],
      }),
      onError: (f) => failures.push(f),
      flushIntervalMs: 1,
    });
    emitter.emit({ n: 0 });
    emitter.emit({ n: 1 });
    await emitter.close();
    expect(failures).toEqual([{ kind: 'rejected', event: expect.objectContaining({ n: 0 }), reason: 'event_type: bad' }]);
    emitter.emit({ n: 2 });
    expect(failures.at(-1)!.kind).toBe('closed');
  });

  it('bounds its buffer and says so instead of growing without limit', async () => {
    const failures: EmitFailure[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const emitter = createEmitter({
      append: async (events) => {
        await gate;
        return ok(events);
      },
      onError: (f) => failures.push(f),
      maxBatch: 2,
      maxBuffered: 3,
    });
    for (let i = 0; i < 8; i++) emitter.emit({ i });
    release();
    await emitter.flush();
    const st = emitter.stats();
    expect(st.emitted).toBe(8);
    expect(st.written + st.failed).toBe(8);
    expect(failures.every((f) => f.kind === 'overflow')).toBe(true);
    expect(failures.length).toBeGreaterThan(0);
  });

  it('a throwing onError does not escape', async () => {
    const emitter = createEmitter({
      append: async () => {
        throw new Error('down');
      },
      onError: () => {
        throw new Error('reporter broke');
      },
      retries: 0,
      flushIntervalMs: 1,
    });
    emitter.emit({ x: 1 });
    await expect(emitter.flush()).resolves.toBeUndefined();
  });
});
