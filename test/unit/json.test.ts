import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_DEPTH, JsonSyntaxError, formatJsonPath, parseJson } from '../../src/events/json.js';

function rejection(text: string, options?: { maxDepth?: number }): JsonSyntaxError {
  try {
    parseJson(text, options);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe('parseJson accepts RFC 8259 JSON', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['-0', -0],
    ['-12.5e+3', -12500],
    ['1E-2', 0.01],
    ['"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC"', 'a"\\/\b\f\n\r\t\u00e9\u20ac'],
    ['"\\ud83d\\ude00 \ud83d\ude00"', '\u{1f600} \u{1f600}'],
    [' \t\r\n[ 1 , { "a" : [ ] } ] \n', [1, { a: [] }]],
    ['{"":1,"a b":"\u2028"}', { '': 1, 'a b': '\u2028' }],
  ])('%s', (text, value) => {
    expect(parseJson(text)).toStrictEqual(value);
  });

  it('keeps large integers as (rounded) numbers instead of refusing them', () => {
    expect(parseJson('[9223372036854775807, -9223372036854775808]')).toEqual([9223372036854775807, -9223372036854775808]);
  });

  it('agrees with JSON.parse on a realistic event', () => {
    const text = JSON.stringify({
      id: '0192f3c4-5b6a-7c8d-9e0f-a1b2c3d4e5f6',
      at: '2024-11-23T09:12:00.123Z',
      actor: { id: 'u-17', roles: ['admin', 'auditor'] },
      data: { amount: 125.5, items: [{ sku: 'A-1', qty: 2 }], note: 'naïve café ☕ \u0007' },
    });
    expect(parseJson(text)).toStrictEqual(JSON.parse(text));
  });
});

describe('parseJson rejects non-JSON with offset and path', () => {
  it.each([
    // [text, position, path, message fragment]
    ['', 0, '', 'unexpected end of input'],
    ['   ', 3, '', 'unexpected end of input'],
    ['{"a":1,}', 7, '', "trailing comma before '}'"],
    ['[1,2,]', 5, '[2]', "trailing comma before ']'"],
    ['{"a":[1,]}', 8, 'a[1]', "trailing comma before ']'"],
    ['// note\n1', 0, '', 'comments are not allowed'],
    ['[1 /* two */]', 3, '', "expected ',' or ']'"],
    ['{"a":1 /*x*/}', 7, '', "expected ',' or '}'"],
    ['{/*x*/"a":1}', 1, '', 'comments are not allowed'],
    ["'x'", 0, '', 'single-quoted strings'],
    ["{'a':1}", 1, '', 'single-quoted names'],
    ['{a:1}', 1, '', 'expected a member name in double quotes'],
    ['{"a" 1}', 5, 'a', "expected ':' after member name"],
    ['{"a":1 "b":2}', 7, '', "expected ',' or '}' in object"],
    ['01', 1, '', 'leading zeros'],
    ['{"n":-007}', 7, 'n', 'leading zeros'],
    ['NaN', 0, '', 'NaN and Infinity are not JSON numbers'],
    ['Infinity', 0, '', 'NaN and Infinity are not JSON numbers'],
    ['[-Infinity]', 2, '[0]', 'NaN and Infinity are not JSON numbers'],
    ['+1', 0, '', "unexpected character '+'"],
    ['.5', 0, '', "unexpected character '.'"],
    ['1.', 2, '', 'expected a digit after the decimal point'],
    ['1.e5', 2, '', 'expected a digit after the decimal point'],
    ['1e', 2, '', 'expected a digit in the exponent'],
    ['1e+', 3, '', 'expected a digit in the exponent'],
    ['-', 1, '', "expected a digit after '-'"],
    ['0x10', 1, '', "unexpected character 'x' after the JSON value"],
    ['1e400', 0, '', 'too large for a 64-bit float'],
    ['[-1e309]', 1, '[0]', 'too large for a 64-bit float'],
    ['tru', 0, '', 'invalid literal; expected true'],
    ['[nul]', 1, '[0]', 'invalid literal; expected null'],
    ['True', 0, '', "unexpected character 'T'"],
    ['undefined', 0, '', "unexpected character 'u'"],
    ['"a\nb"', 2, '', 'unescaped control character U+000A'],
    ['"\t"', 1, '', 'unescaped control character U+0009'],
    ['"\u0000"', 1, '', 'unescaped control character U+0000'],
    ['{"k":"\u001f"}', 6, 'k', 'unescaped control character U+001F'],
    ['"\\x"', 1, '', 'invalid escape \\x'],
    ["\"\\'\"", 1, '', "invalid escape \\'"],
    ['"\\u12"', 1, '', 'invalid \\u escape'],
    ['"\\u12G4"', 1, '', 'invalid \\u escape'],
    ['"abc', 0, '', 'unterminated string'],
    ['"abc\\', 4, '', 'unterminated string'],
    ['["a",', 5, '[1]', 'unexpected end of input'],
    ['{"a":', 5, 'a', 'unexpected end of input'],
    ['{', 1, '', 'unexpected end of input'],
    ['1 2', 2, '', "unexpected character '2' after the JSON value"],
    ['{} x', 3, '', "unexpected character 'x' after the JSON value"],
    ['[1]]', 3, '', "unexpected character ']' after the JSON value"],
    ['\ufeff{}', 0, '', 'byte order mark U+FEFF'],
    ['[1,\u00a02]', 3, '[1]', 'unexpected character U+00A0'],
    // Surrogates: escaped, raw, lone, reversed, split across a pair.
    ['"\\ud800"', 1, '', 'lone surrogate \\ud800'],
    ['"\\udc00"', 1, '', 'lone surrogate \\udc00'],
    ['"\\ude00\\ud83d"', 1, '', 'lone surrogate \\ude00'],
    ['"\\ud83d\\u0041"', 1, '', 'lone surrogate \\ud83d'],
    ['"\\ud83d\\n"', 1, '', 'lone surrogate \\ud83d'],
    ['"\\ud83dx"', 1, '', 'lone surrogate \\ud83d'],
    ['"\\ud83d\\ud83d\\ude00"', 1, '', 'lone surrogate \\ud83d'],
    ['"\ud800"', 1, '', 'lone surrogate U+D800'],
    ['"x\ude00"', 2, '', 'lone surrogate U+DE00'],
    ['{"k":["ok","\ude00\ud83d"]}', 12, 'k[1]', 'lone surrogate U+DE00'],
    ['{"\\udc00":1}', 2, '', 'lone surrogate \\udc00'],
  ])('%j', (text, position, path, fragment) => {
    const err = rejection(text);
    expect(err.reason).toContain(fragment);
    expect({ position: err.position, path: err.path }).toEqual({ position, path });
  });

  it('message carries path, reason and offset', () => {
    const err = rejection('{"data":{"items":[{"name":1},{"name":01}]}}');
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err.name).toBe('JsonSyntaxError');
    expect(err.message).toBe('data.items[1].name: leading zeros are not allowed in numbers (at offset 38)');
    expect(rejection('[').message).toBe('[0]: unexpected end of input; expected a JSON value (at offset 1)');
    expect(rejection('x').message).toBe("(root): unexpected character 'x'; expected a JSON value (at offset 0)");
  });
});

describe('duplicate member names', () => {
  it('are refused at the top level, naming the key', () => {
    const err = rejection(' { "0" : 0 , "1" : 1 , "0" : 0 }');
    expect(err.reason).toBe('duplicate member name "0"');
    expect(err.position).toBe(23);
    expect(err.path).toBe('["0"]');
  });

  it('are refused when nested, with the path of the second occurrence', () => {
    const text = '{"data":{"items":[{},{},{},{"name":"a","qty":1,"name":"b"}]}}';
    const err = rejection(text);
    expect(err.reason).toBe('duplicate member name "name"');
    expect(err.path).toBe('data.items[3].name');
    expect(err.position).toBe(text.lastIndexOf('"name"'));
  });

  it('are compared after unescaping', () => {
    expect(rejection('{"a":1,"\\u0061":2}').reason).toBe('duplicate member name "a"');
    expect(rejection('{"\\ud83d\\ude00":1,"\ud83d\ude00":2}').path).toBe('["\u{1f600}"]');
  });

  it('do not include names that only differ in case or normalization', () => {
    expect(parseJson('{"a":1,"A":2,"\u00e9":3,"e\u0301":4}')).toEqual({ a: 1, A: 2, '\u00e9': 3, 'e\u0301': 4 });
  });

  it('are not confused with inherited properties', () => {
    expect(parseJson('{"toString":1,"constructor":2,"hasOwnProperty":3}')).toEqual({
      toString: 1,
      constructor: 2,
      hasOwnProperty: 3,
    });
  });

  it('may repeat across different objects', () => {
    expect(parseJson('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('__proto__ members', () => {
  it('become own data properties and never change the prototype', () => {
    const value = parseJson('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')).toEqual({
      value: { polluted: true },
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(Object.keys(value)).toEqual(['__proto__', 'x']);
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('are found nested and as duplicates', () => {
    const nested = parseJson('{"a":[{"__proto__":null}]}') as { a: Record<string, unknown>[] };
    expect(Object.getPrototypeOf(nested.a[0])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(nested.a[0], '__proto__')?.value).toBeNull();
    expect(rejection('{"__proto__":1,"__proto__":2}').reason).toBe('duplicate member name "__proto__"');
  });
});

describe('nesting depth', () => {
  const nest = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  it(`allows ${DEFAULT_MAX_DEPTH} levels by default and refuses one more`, () => {
    expect(DEFAULT_MAX_DEPTH).toBe(64);
    expect(() => parseJson(nest(64))).not.toThrow();
    const err = rejection(nest(65));
    expect(err.reason).toBe('nesting deeper than 64 levels');
    expect(err.position).toBe(64);
    expect(err.path).toBe('[0]'.repeat(64));
  });

  it('counts objects and arrays alike, and honours maxDepth', () => {
    expect(parseJson('{"a":[{"b":1}]}', { maxDepth: 3 })).toEqual({ a: [{ b: 1 }] });
    const err = rejection('{"a":[{"b":[]}]}', { maxDepth: 3 });
    expect(err.path).toBe('a[0].b');
    expect(err.position).toBe(11);
    expect(parseJson('1', { maxDepth: 0 })).toBe(1);
    expect(rejection('[]', { maxDepth: 0 }).reason).toBe('nesting deeper than 0 levels');
  });

  it('refuses a deep text without exhausting the stack', () => {
    expect(rejection(nest(100_000)).reason).toBe('nesting deeper than 64 levels');
  });

  it('refuses a nonsensical maxDepth', () => {
    expect(() => parseJson('1', { maxDepth: -1 })).toThrow(RangeError);
    expect(() => parseJson('1', { maxDepth: 1.5 })).toThrow(RangeError);
  });
});

describe('formatJsonPath', () => {
  it('writes identifiers dotted, indexes and other names in brackets', () => {
    expect(formatJsonPath([])).toBe('');
    expect(formatJsonPath(['data', 'items', 3, 'name'])).toBe('data.items[3].name');
    expect(formatJsonPath([0, 'a b', '$x', '1', ''])).toBe('[0]["a b"].$x["1"][""]');
    expect(formatJsonPath(['q'], 'data')).toBe('data.q');
    expect(formatJsonPath([2], 'data')).toBe('data[2]');
    expect(formatJsonPath(['\ud800'])).toBe('["\\ud800"]');
  });
});
