import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/events/canonical.js';
import type { Selection } from '../../src/export/format.js';
import { matches, SelectionPrefilter } from '../../src/export/select.js';

// Lines as a data object holds them (one buffer, LF after each), and what the scanner says of each.
function scan(sel: Selection, lines: Buffer[]): boolean[] {
  const raw = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  const couldMatch = new SelectionPrefilter(sel).scanner(raw);
  const out: boolean[] = [];
  for (let i = 0, start = 0; i < lines.length; start += lines[i]!.length + 1, i++) out.push(couldMatch(start, start + lines[i]!.length));
  return out;
}

function matchesLine(sel: Selection, line: Buffer): boolean {
  try {
    return matches(sel, JSON.parse(line.toString('utf8')) as Record<string, unknown>);
  } catch {
    return false;
  }
}

const event = (actor: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    canonicalize({
      event_id: `e-${actor}`,
      namespace: 'billing',
      occurred_at: '2026-03-01T10:00:00.000Z',
      actor: { id: actor, type: 'user' },
      resource: { type: 'invoice', id: 'inv-1' },
      subject_id: 's-1',
      ...extra,
    }),
    'utf8',
  );

// Lines the needle search could get wrong if it were not careful: escapes, invalid UTF-8, the value
// as a key or inside a longer value, the needle cut across two lines.
const tricky: Buffer[] = [
  event('u_ana_1'),
  event('u_ana_10'),
  event('u_bo_2'),
  Buffer.from('{"actor":{"id":"u_\\u0061na_1","type":"user"},"namespace":"billing"}'), // same value, escaped
  Buffer.from('{"actor":{"id":"u_ana_\\u0031"},"namespace":"b\\u0069lling"}'),
  Buffer.concat([Buffer.from('{"actor":{"id":"u_ana_1'), Buffer.from([0xff]), Buffer.from('"},"namespace":"billing"}')]), // invalid UTF-8
  Buffer.from('{"actor":{"id":"u_ana_1"},"namespace":"billing","u_ana_1":1}'),
  Buffer.from('{"actor":{"id":"x"},"namespace":"billing","note":"u_ana_1"}'),
  Buffer.from('{"actor":{"id":"u_ana_1"}}'), // no namespace at all
  Buffer.from('{"actor":{"id":"u_ana_1"'), // not JSON
  Buffer.from('"u_ana'),
  Buffer.from('_1"'),
  event('quote"inside'),
  event('é中😀'),
  Buffer.from('{"actor":{"id":"\u00e9\u4e2d\ud83d\ude00"},"namespace":"billing"}'),
];

const selections: Selection[] = [
  { actor: 'u_ana_1' },
  { actor: 'u_ana_1', namespace: 'billing' },
  { namespace: 'billing' },
  { actor: 'quote"inside' },
  { actor: 'é中😀' },
  { actor: 'a\uFFFDb' },
  { resource: { type: 'invoice', id: 'inv-1' } },
  { subject: 's-1', from: '2026-01-01T00:00:00.000Z' },
  { from: '2026-01-01T00:00:00.000Z', to: '2026-12-31T00:00:00.000Z' },
  {},
];

describe('SelectionPrefilter (verify-bundle completeness check)', () => {
  it('never rules out a line that matches the selection', () => {
    for (const sel of selections) {
      const could = scan(sel, tricky);
      tricky.forEach((line, i) => {
        if (matchesLine(sel, line)) expect(could[i], `${JSON.stringify(sel)} line ${i}: ${line.toString('latin1')}`).toBe(true);
      });
    }
  });

  it('rules out backslash-free lines lacking a needle, and keeps any line with a backslash', () => {
    expect(scan({ actor: 'u_ana_1' }, tricky)).toEqual([
      true, // the actor
      false, // u_ana_10: "u_ana_1" with its quotes is not in it
      false,
      true, // escapes: parsed (and it matches)
      true, // escapes: parsed (and it matches)
      false, // invalid UTF-8 before the closing quote: the needle is not there (decoded, it would not match either)
      true, // the value is also a key: parsed
      true, // the needle is in another field: parsed, no match
      true,
      true, // the needle is there, but not JSON: parsed, fails
      false, // the needle cut across two lines is in neither
      false,
      true, // canonical JSON escapes the quote: a backslash, so parsed
      false,
      false,
    ]);
    expect(matchesLine({ actor: 'u_ana_1' }, tricky[4]!)).toBe(true);
    expect(matchesLine({ actor: 'u_ana_1' }, tricky[5]!)).toBe(false);
  });

  it('finds values that need escaping only in lines with a backslash, and multi-byte values by their UTF-8', () => {
    expect(scan({ actor: 'quote"inside' }, tricky)[12]).toBe(true);
    expect(matchesLine({ actor: 'quote"inside' }, tricky[12]!)).toBe(true);
    const utf = scan({ actor: 'é中😀' }, tricky);
    expect([utf[13], utf[14], utf[0]]).toEqual([true, true, false]);
  });

  it('keeps every line when the selection has no string field, an empty one, or a value with U+FFFD', () => {
    expect(scan({ from: '2026-01-01T00:00:00.000Z' }, tricky).every(Boolean)).toBe(true);
    expect(scan({}, tricky).every(Boolean)).toBe(true);
    expect(scan({ actor: 'a\uFFFDb' }, tricky).every(Boolean)).toBe(true);
    expect(scan({ actor: '' }, tricky).every(Boolean)).toBe(true);
  });

  it('needs every needle: actor and namespace both', () => {
    const could = scan({ actor: 'u_ana_1', namespace: 'billing' }, tricky);
    expect(could[8]).toBe(false); // the actor without the namespace
    expect(could[0]).toBe(true);
  });
});
