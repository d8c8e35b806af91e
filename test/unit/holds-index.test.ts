import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bloomMayContain, buildBloom, BloomFormatError } from '../../src/holds/bloom.js';
import { RowView } from '../../src/db/copy.js';
import { SEAL_COLUMN } from '../../src/db/events.js';
import { BatchIndexBuilder, resourceKey, type IndexRow } from '../../src/holds/keyindex.js';
import { parseScope, ScopeError, scopeMayMatch } from '../../src/holds/scope.js';

describe('Bloom filter', () => {
  it('never misses a key it holds, and keeps false positives near 1%', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `u_${i}_${randomBytes(3).toString('hex')}`);
    const f = buildBloom(keys, keys.length);
    for (const k of keys) expect(bloomMayContain(f, k)).toBe(true);
    let fp = 0;
    const probes = 20_000;
    for (let i = 0; i < probes; i++) if (bloomMayContain(f, `other_${i}`)) fp++;
    // Sized for ~1%; 3% would mean the hashing or the sizing is broken.
    expect(fp / probes).toBeLessThan(0.03);
  });

  it('is deterministic (the same keys give the same bytes) and tells non-ASCII keys apart', () => {
    expect(buildBloom(['a', 'ü', '€'], 3).equals(buildBloom(['€', 'ü', 'a'], 3))).toBe(true);
    const f = buildBloom(['naïve'], 1);
    expect(bloomMayContain(f, 'naïve')).toBe(true);
  });

  it('refuses bytes that are not a filter', () => {
    expect(() => bloomMayContain(Buffer.from([9, 7, 0, 0, 0, 64]), 'x')).toThrow(BloomFormatError);
    const f = buildBloom(['x'], 1);
    expect(() => bloomMayContain(f.subarray(0, f.length - 1), 'x')).toThrow(BloomFormatError);
  });
});

function row(over: Partial<IndexRow>): IndexRow {
  return {
    actor_id: 'u_1',
    resource_type: 'payment',
    resource_id: 'pay_1',
    subject_id: null,
    event_type: 'payment.created',
    occurred_ms: Date.parse('2026-03-01T10:00:00Z'),
    ...over,
  };
}

describe('batch index and hold scope', () => {
  const b = new BatchIndexBuilder();
  b.add(row({}));
  b.add(row({ actor_id: 'u_2', resource_id: 'pay_2', subject_id: 'pat_9', event_type: 'payment.refund.issued', occurred_ms: Date.parse('2026-03-05T00:00:00.123Z') }));
  b.add(row({ actor_id: 'u_2', event_type: 'user.login', occurred_ms: Date.parse('2026-02-27T23:00:00Z') }));
  const idx = b.finish();

  it('keeps the occurred range and the exact event types', () => {
    expect(idx.occurred_min.toISOString()).toBe('2026-02-27T23:00:00.000Z');
    expect(idx.occurred_max.toISOString()).toBe('2026-03-05T00:00:00.123Z');
    expect(idx.event_types).toEqual(['payment.created', 'payment.refund.issued', 'user.login']);
  });

  it.each([
    [{ namespace: 'billing' }, true],
    [{ namespace: 'clinic' }, false],
    [{ actor: 'u_2' }, true],
    [{ resource: 'payment:pay_2' }, true],
    [{ subject: 'pat_9' }, true],
    [{ eventType: 'payment.*' }, true],
    [{ eventType: 'user.login' }, true],
    [{ eventType: 'user.logout' }, false],
    [{ eventType: 'trade.*' }, false],
    [{ from: '2026-03-05T00:00:00.123Z' }, true],
    [{ from: '2026-03-06' }, false],
    [{ to: '2026-02-27' }, true],
    [{ to: '2026-02-26' }, false],
    [{ from: '2026-03-02', to: '2026-03-03' }, true],
    [{ namespace: 'billing', actor: 'u_1', eventType: 'payment.*', from: '2026-03-01' }, true],
  ])('scope %j matches: %s', (input, want) => {
    expect(scopeMayMatch(parseScope(input), 'billing', idx)).toBe(want);
  });

  it('finds no subject in a batch without subjects, and no resource in one without resources', () => {
    const only = new BatchIndexBuilder();
    only.add(row({ resource_type: null, resource_id: null }));
    const i = only.finish();
    expect(i.subjects).toBeNull();
    expect(i.resources).toBeNull();
    expect(scopeMayMatch(parseScope({ subject: 'pat_9' }), 'billing', i)).toBe(false);
    expect(scopeMayMatch(parseScope({ resource: 'payment:pay_1' }), 'billing', i)).toBe(false);
  });

  it('refuses bad scope options, naming the option', () => {
    expect(() => parseScope({})).toThrow(/a hold needs a scope/);
    expect(() => parseScope({ resource: 'payment' })).toThrow(new ScopeError('--resource: expected TYPE:ID (e.g. payment:pay_1), got "payment"'));
    expect(() => parseScope({ from: 'yesterday' })).toThrow(/^--from: not a date/);
    expect(() => parseScope({ from: '2026-03-02', to: '2026-03-01' })).toThrow(/is after --to/);
    expect(() => parseScope({ eventType: 'Payment.*' })).toThrow(/^--event-type:/);
    expect(() => parseScope({ namespace: 'Billing' })).toThrow(/^--namespace:/);
  });
});

describe('index keys hashed from the bytes the sealer reads', () => {
  // A binary COPY row laid out as the sealer reads it (SEAL_COLUMN order), as a RowView.
  function view(r: IndexRow): RowView {
    const fields: (Buffer | null)[] = new Array(11).fill(Buffer.alloc(8));
    const text = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));
    fields[SEAL_COLUMN.event_type] = text(r.event_type);
    fields[SEAL_COLUMN.actor_id] = text(r.actor_id);
    fields[SEAL_COLUMN.resource_type] = text(r.resource_type);
    fields[SEAL_COLUMN.resource_id] = text(r.resource_id);
    fields[SEAL_COLUMN.subject_id] = text(r.subject_id);
    const v = new RowView(11);
    const parts: Buffer[] = [Buffer.from('noise')];
    let at = 5;
    fields.forEach((f, i) => {
      v.start[i] = at;
      v.length[i] = f === null ? -1 : f.length;
      if (f) {
        parts.push(f);
        at += f.length;
      }
    });
    v.buf = Buffer.concat(parts);
    v.count = 11;
    return v;
  }

  it('addRaw builds byte for byte the index add builds, for ASCII and non-ASCII keys, NULLs and repeats', () => {
    const rows: IndexRow[] = [];
    for (let i = 0; i < 3000; i++) {
      rows.push(
        row({
          actor_id: i % 7 === 0 ? `usér_${i % 300}` : `u_${i % 500}`,
          resource_type: i % 5 === 0 ? null : 'payment',
          resource_id: i % 5 === 0 ? null : i % 11 === 0 ? `pay_€${i}` : `pay_${i}`,
          subject_id: i % 3 === 0 ? null : `pat_${i % 900}`,
          event_type: i % 2 ? 'payment.created' : 'user.login',
          occurred_ms: Date.parse('2026-03-01T10:00:00Z') + i * 1000,
        }),
      );
    }
    const byString = new BatchIndexBuilder();
    const byBytes = new BatchIndexBuilder();
    for (const r of rows) {
      byString.add(r);
      byBytes.addRaw(view(r), r.occurred_ms);
    }
    const a = byString.finish();
    const b = byBytes.finish();
    expect(b).toEqual(a);
    const distinct = new Set(rows.map((r) => r.actor_id));
    expect(a.actors!.equals(buildBloom(distinct, distinct.size))).toBe(true);
    for (const r of rows) {
      expect(bloomMayContain(b.actors!, r.actor_id)).toBe(true);
      if (r.resource_type && r.resource_id) expect(bloomMayContain(b.resources!, resourceKey(r.resource_type, r.resource_id))).toBe(true);
      if (r.subject_id) expect(bloomMayContain(b.subjects!, r.subject_id)).toBe(true);
    }
  });
});
