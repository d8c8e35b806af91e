import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CanonicalError, canonicalBytes, canonicalize, checkEventJson } from '../../src/events/canonical.js';
import { JsonSyntaxError, parseJson } from '../../src/events/json.js';

interface JcsVector {
  name: string;
  input: string;
  expected: string | null;
  expected_utf8_hex?: string;
  ieee_hex?: string;
  expect_error?: true;
  source: string;
}

const vectors = JSON.parse(readFileSync(new URL('../fixtures/jcs.json', import.meta.url), 'utf8')) as JcsVector[];
const accepted = vectors.filter((v) => v.expect_error !== true);
const refused = vectors.filter((v) => v.expect_error === true);

function failure(run: () => unknown): CanonicalError {
  try {
    run();
  } catch (err) {
    if (err instanceof CanonicalError) return err;
    throw err;
  }
  throw new Error('no CanonicalError thrown');
}

describe('RFC 8785 vectors (test/fixtures/jcs.json)', () => {
  it('fixture has the expected shape', () => {
    expect(vectors).toHaveLength(212);
    expect(refused.map((v) => v.name)).toEqual([
      'error/lone-surrogate-value',
      'error/lone-surrogate-key',
      'error/reversed-surrogate-pair',
      'error/duplicate-names',
    ]);
    expect(accepted.filter((v) => v.ieee_hex !== undefined)).toHaveLength(198);
  });

  it.each(accepted)('$name', (v) => {
    const value = parseJson(v.input);
    expect(canonicalize(value)).toBe(v.expected);
    const bytes = canonicalBytes(value);
    expect(bytes.toString('hex')).toBe(v.expected_utf8_hex ?? Buffer.from(v.expected ?? '', 'utf8').toString('hex'));
    // Canonical output is a fixed point.
    expect(canonicalize(parseJson(v.expected ?? ''))).toBe(v.expected);
    if (v.ieee_hex !== undefined) {
      // The parser must land on exactly the double the vector was generated from.
      const bits = Buffer.alloc(8);
      bits.writeDoubleBE(value as number);
      expect(bits.toString('hex')).toBe(v.ieee_hex);
    }
  });

  it.each(refused)('$name is refused by parseJson', (v) => {
    let err: unknown;
    try {
      parseJson(v.input);
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(JsonSyntaxError);
    const reason = (err as JsonSyntaxError).reason;
    if (v.name === 'error/duplicate-names') expect(reason).toBe('duplicate member name "0"');
    else expect(reason).toMatch(/^lone surrogate \\u[0-9a-f]{4} in string; text must be well-formed Unicode$/);
  });

  it('values from lone-surrogate vectors are refused by canonicalize too (JSON.parse lets them through)', () => {
    for (const v of refused.filter((r) => r.name.includes('surrogate'))) {
      expect(() => canonicalize(JSON.parse(v.input))).toThrow(CanonicalError);
    }
  });
});

/** RFC 8785 3.2.2.2, written out independently of JSON.stringify. */
function referenceString(s: string): string {
  const short: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r' };
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (short[c] !== undefined) out += short[c];
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

describe('strings', () => {
  it('every code point is written as RFC 8785 requires', () => {
    const mismatches: number[] = [];
    for (let c = 0; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      if (canonicalize(s) !== referenceString(s)) mismatches.push(c);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['\u000b', '"\\u000b"'],
    ['\u001f', '"\\u001f"'],
    ['\u0000', '"\\u0000"'],
    ['\b\t\n\f\r', '"\\b\\t\\n\\f\\r"'],
    ['"\\/', '"\\"\\\\/"'],
    ['\u007f', '"\u007f"'],
    ['\u2028\u2029', '"\u2028\u2029"'],
    ['</script>', '"</script>"'],
    ['\ud83d\ude00', '"\ud83d\ude00"'],
  ])('%j -> %s', (input, output) => {
    expect(canonicalize(input)).toBe(output);
  });
});

describe('numbers', () => {
  it.each([
    [-0, '0'],
    [0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [123456789012345680000, '123456789012345680000'],
    [0.1 + 0.2, '0.30000000000000004'],
    [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [2 ** 53, '9007199254740992'],
  ])('%d -> %s', (n, text) => {
    expect(canonicalize(n)).toBe(text);
  });
});

describe('structure', () => {
  it('sorts names by UTF-16 code units, not code points or locale', () => {
    // U+1F600 is stored as D83D DE00, which sorts before U+FB33 although its code point is higher.
    const value = { '\ufb33': 1, '\u{1f600}': 2, a: 3, A: 4, '10': 5, '9': 6, '': 7, '\u00e9': 8 };
    expect(canonicalize(value)).toBe('{"":7,"10":5,"9":6,"A":4,"a":3,"\u00e9":8,"\u{1f600}":2,"\ufb33":1}');
  });

  it('sorts objects of more than 16 names the same way', () => {
    // In code unit order; '1', '9', '10' also show that JS's integer-first key order is undone.
    const ordered = ['', '1', '10', '9', 'A', 'B', '_', 'a', 'a\u0000', 'aa', 'ab', 'b', '~', '\u00e9', '\u20ac', '\u{1f600}', '\ufb33', '\uff01'];
    const value = Object.fromEntries([...ordered].reverse().map((name) => [name, 0]));
    expect(Object.keys(value)).toHaveLength(18);
    expect(canonicalize(value)).toBe(`{${ordered.map((name) => `${JSON.stringify(name)}:0`).join(',')}}`);
    expect(canonicalize(Object.fromEntries(ordered.slice(0, 12).reverse().map((name) => [name, 0])))).toBe(
      `{${ordered.slice(0, 12).map((name) => `${JSON.stringify(name)}:0`).join(',')}}`,
    );
  });

  it('serializes objects whose names it has seen before exactly as the first time', () => {
    // Name lists are remembered with their sorted order: a repeat, another order of the same names,
    // a list that shares a prefix, and more distinct lists than are remembered all stay exact.
    const shapes = Array.from({ length: 40 }, (_, k) => Array.from({ length: 1 + (k % 7) }, (_, i) => `n${(k * 7 + i * 3) % 23}`));
    const oracle = (o: Record<string, unknown>) => `{${Object.keys(o).sort().map((n) => `"${n}":${JSON.stringify(o[n])}`).join(',')}}`;
    for (let round = 0; round < 3; round++) {
      for (const names of shapes) {
        const forward = Object.fromEntries(names.map((n, i) => [n, i]));
        const backward = Object.fromEntries([...names].reverse().map((n) => [n, forward[n]]));
        const extended = { ...forward, extra: true };
        expect(canonicalize(forward)).toBe(oracle(forward));
        expect(canonicalize(backward)).toBe(oracle(forward));
        expect(canonicalize(extended)).toBe(oracle(extended));
      }
    }
    expect(canonicalize({ 'a"b': 1, 'c\\d': 2 })).toBe('{"a\\"b":1,"c\\\\d":2}');
    expect(canonicalize({ 'a"b': 3, 'c\\d': 4 })).toBe('{"a\\"b":3,"c\\\\d":4}');
    expect(() => canonicalize({ ['\ud800']: 1 })).toThrow(CanonicalError);
    expect(() => canonicalize({ ['\ud800']: 1 })).toThrow(CanonicalError);
  });

  it('writes nested values without whitespace and keeps array order', () => {
    expect(canonicalize({ b: [3, 1, { z: null, y: false }], a: { c: 'x' } })).toBe(
      '{"a":{"c":"x"},"b":[3,1,{"y":false,"z":null}]}',
    );
    expect(canonicalize([])).toBe('[]');
    expect(canonicalize({})).toBe('{}');
  });

  it('accepts null-prototype objects and shared (acyclic) references', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
    expect(canonicalize(bare)).toBe('{"a":2,"b":1}');
    const shared = { k: 1 };
    expect(canonicalize([shared, { again: shared }])).toBe('[{"k":1},{"again":{"k":1}}]');
  });

  it('canonicalBytes is the UTF-8 encoding', () => {
    expect(canonicalBytes({ '\u00e9': '\u20ac' }).toString('hex')).toBe('7b22c3a9223a22e282ac227d');
  });
});

describe('canonicalize refuses values without one JSON meaning', () => {
  class Point {
    x = 1;
  }
  const cycle: Record<string, unknown> = { a: { b: [] as unknown[] } };
  ((cycle.a as { b: unknown[] }).b).push(cycle);
  const holes = [1, , 3];

  it.each([
    ['NaN', { data: { n: NaN } }, 'data.n', 'NaN is not a JSON number'],
    ['Infinity', { data: [1, Infinity] }, 'data[1]', 'Infinity is not a JSON number'],
    ['-Infinity', -Infinity, '', '-Infinity is not a JSON number'],
    ['lone high surrogate in a string', { a: ['x', 'ab\ud800'] }, 'a[1]', 'string has a lone surrogate U+D800 at index 2'],
    ['reversed pair in a string', '\ude00\ud83d', '', 'string has a lone surrogate U+DE00 at index 0'],
    ['lone surrogate in a name', { ok: { '\udc00x': 1 } }, 'ok["\\udc00x"]', 'member name has a lone surrogate U+DC00 at index 0'],
    ['Date', { at: new Date(0) }, 'at', 'a Date is not a plain object or array'],
    ['Map', { m: new Map() }, 'm', 'a Map is not a plain object or array'],
    ['Buffer', [Buffer.from('x')], '[0]', 'a Buffer is not a plain object or array'],
    ['class instance', { p: new Point() }, 'p', 'a Point is not a plain object or array'],
    ['boxed string', { s: new String('x') }, 's', 'a String is not a plain object or array'],
    ['custom prototype', { o: Object.create({ inherited: 1 }) }, 'o', 'an object with a custom prototype is not a plain object'],
    ['undefined member', { a: 1, b: undefined }, 'b', 'undefined is not a JSON value'],
    ['undefined root', undefined, '', 'undefined is not a JSON value'],
    ['array hole', { list: holes }, 'list[1]', 'undefined is not a JSON value'],
    ['function', { f: () => 1 }, 'f', 'a function is not a JSON value'],
    ['symbol', [Symbol('s')], '[0]', 'a symbol is not a JSON value'],
    ['bigint', { big: 10n }, 'big', 'bigint 10 is not a JSON value; send it as a string'],
    ['cycle', cycle, 'a.b[0]', 'cycle: the value contains itself'],
  ])('%s', (_name, value, path, reason) => {
    const err = failure(() => canonicalize(value));
    expect(err.path).toBe(path);
    expect(err.reason).toContain(reason);
    expect(err.message).toBe(`${path === '' ? '(root)' : path}: ${err.reason}`);
  });

  it('allows what only the event policy forbids', () => {
    expect(canonicalize(parseJson('{"__proto__":1}'))).toBe('{"__proto__":1}');
    // ECMAScript's shortest round-trip digits, as RFC 8785 requires: 2^60 = 1152921504606846976.
    expect(canonicalize(2 ** 60)).toBe('1152921504606847000');
  });
});

describe('checkEventJson (ingest policy)', () => {
  it('accepts ordinary event data', () => {
    expect(() =>
      checkEventJson({ a: [1, -1.5, 2 ** 53 - 1, -(2 ** 53 - 1), 1e-300, 'x', null, true], b: { c: {} } }),
    ).not.toThrow();
  });

  it('refuses __proto__ members at any depth, with their path', () => {
    const nested = parseJson('{"a":[{"ok":1},{"__proto__":{}}]}');
    const err = failure(() => checkEventJson(nested, 'data'));
    expect(err.path).toBe('data.a[1].__proto__');
    expect(err.reason).toBe('member name "__proto__" is not allowed in events; rename it');
    expect(failure(() => checkEventJson(parseJson('{"__proto__":null}'))).path).toBe('__proto__');
  });

  it.each([
    [2 ** 53, 'n', '9007199254740992'],
    [-(2 ** 53), 'n', '-9007199254740992'],
    [1e300, 'n', '1e+300'],
  ])('refuses the integer %d, suggesting a string', (n, path, shown) => {
    const err = failure(() => checkEventJson({ n }));
    expect(err.path).toBe(path);
    expect(err.reason).toBe(`integer ${shown} is beyond 2^53-1 in magnitude and cannot be stored exactly; send it as a string`);
  });

  it('refuses the large-integer JCS vector', () => {
    const value = parseJson(' [ -9223372036854775808 , 9223372036854775807 ] ');
    expect(failure(() => checkEventJson(value, 'data')).path).toBe('data[0]');
  });

  it('refuses everything canonicalize refuses, with the prefix', () => {
    expect(failure(() => checkEventJson({ x: NaN }, 'data')).message).toBe('data.x: NaN is not a JSON number');
    expect(failure(() => checkEventJson(['\ud800'], 'data')).path).toBe('data[0]');
    expect(failure(() => checkEventJson(new Date(0), 'data')).message).toBe(
      'data: a Date is not a plain object or array; convert it to JSON values first',
    );
  });

  // checkEventJson first walks the value without serializing it and only serializes what that
  // walk doubts: accepting must stay exactly what the serializing pass (canonicalize + policy) does.
  it('accepts and refuses exactly what the serializing pass does', () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const nullProto = Object.assign(Object.create(null) as object, { k: 'v' });
    const cases: [unknown, string | undefined][] = [
      [{ a: shared, b: [shared, shared] }, undefined],
      [nullProto, undefined],
      [{ z: -0, e: 1e-7, big: 2 ** 53 - 1, emoji: '\u{1F600}', ctl: '\u0000\n"\\' }, undefined],
      [cyclic, 'self.back: cycle: the value contains itself'],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], '[1]: undefined is not a JSON value'],
      [{ ['k\udc00']: 1 }, '["k\\udc00"]: member name has a lone surrogate U+DC00 at index 1; text must be well-formed Unicode'],
      [{ a: { b: undefined } }, 'a.b: undefined is not a JSON value'],
      [{ n: 10n }, 'n: bigint 10 is not a JSON value; send it as a string'],
      [{ f: () => 1 }, 'f: a function is not a JSON value'],
      [{ m: new Map() }, 'm: a Map is not a plain object or array; convert it to JSON values first'],
      [{ i: -Infinity }, 'i: -Infinity is not a JSON number'],
      // Two problems: the one named is the first in canonical (sorted) member order.
      [{ z: NaN, a: [undefined] }, 'a[0]: undefined is not a JSON value'],
    ];
    for (const [value, message] of cases) {
      if (message === undefined) expect(() => checkEventJson(value)).not.toThrow();
      else expect(failure(() => checkEventJson(value)).message).toBe(message);
    }
  });
});
