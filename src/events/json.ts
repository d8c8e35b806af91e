// Strict RFC 8259 JSON text parser.
//
// JSON.parse cannot be used at ingest: it silently keeps the last of duplicate member names, turns
// a "__proto__" member into a prototype change when the result is spread or merged, and accepts
// lone surrogates. Each of those would let two different texts hash the same, or one text mean two
// things, so this parser rejects them with the offset and the path of the offending value.

/** Default limit on nesting of arrays and objects; deeper input is refused, not recursed into. */
export const DEFAULT_MAX_DEPTH = 64;

export interface ParseJsonOptions {
  /** Maximum nesting of arrays/objects (the root container is depth 1). Default 64. */
  maxDepth?: number;
}

/** A JSON text that is not accepted: grammar error, duplicate name, lone surrogate, too deep. */
export class JsonSyntaxError extends SyntaxError {
  override readonly name = 'JsonSyntaxError';
  /** 0-based UTF-16 offset in the text where the problem was found. */
  readonly position: number;
  /** Path of the value being read, like `data.items[3].name`; '' for the root value. */
  readonly path: string;
  /** The problem alone, without position or path. */
  readonly reason: string;

  constructor(reason: string, position: number, path: string) {
    super(`${path === '' ? '(root)' : path}: ${reason} (at offset ${position})`);
    this.reason = reason;
    this.position = position;
    this.path = path;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Renders a path such as `data.items[3].name` from its segments, appended to `prefix`.
 * Names that are not identifiers are written as `["a b"]` (a JSON string, so any name is readable).
 */
export function formatJsonPath(segments: readonly (string | number)[], prefix = ''): string {
  let out = prefix;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Parses one JSON text (RFC 8259) strictly.
 *
 * Returns plain values: objects (ordinary objects; a "__proto__" member becomes an own data
 * property and never changes the prototype), arrays, strings, numbers (`Number()` of the literal;
 * large integers lose precision as in JSON.parse — the ingest policy in canonical.ts rejects them),
 * booleans and null.
 *
 * Throws JsonSyntaxError for any grammar error (comments, trailing commas, single quotes, leading
 * zeros, NaN/Infinity, unescaped control characters, bad escapes, text after the value), duplicate
 * member names (compared after unescaping), lone or reversed surrogates (escaped or raw), numbers
 * that overflow a double, and nesting deeper than `maxDepth`.
 */
export function parseJson(text: string, options: ParseJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 0) {
    throw new RangeError(`maxDepth must be a non-negative integer, got ${maxDepth}`);
  }
  const parser = new Parser(text, maxDepth);
  parser.skipWhitespace();
  const value = parser.parseValue();
  parser.skipWhitespace();
  if (parser.pos < text.length) {
    throw parser.fail(`unexpected ${describeChar(text, parser.pos)} after the JSON value`);
  }
  return value;
}

// Character codes, compared with charCodeAt() results.
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LEFT_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RIGHT_BRACKET = 0x5d;
const LOWER_E = 0x65;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHighSurrogate(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

function isLowSurrogate(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}

function hex4(u: number): string {
  return u.toString(16).padStart(4, '0');
}

/** "end of input", "character ','", "character U+0000" — for messages. */
function describeChar(text: string, pos: number): string {
  if (pos >= text.length) return 'end of input';
  const c = text.charCodeAt(pos);
  if (c > 0x20 && c < 0x7f) return `character '${text[pos]}'`;
  if (c === 0xfeff) return 'byte order mark U+FEFF';
  return `character U+${hex4(c).toUpperCase()}`;
}

class Parser {
  pos = 0;
  private depth = 0;
  /** Keys and indexes from the root to the value being read; rendered only when failing. */
  private readonly trail: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  fail(reason: string, position = this.pos): JsonSyntaxError {
    return new JsonSyntaxError(reason, position, formatJsonPath(this.trail));
  }

  skipWhitespace(): void {
    const text = this.text;
    let i = this.pos;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === SPACE || c === LINE_FEED || c === CARRIAGE_RETURN || c === TAB) i++;
      else break;
    }
    this.pos = i;
  }

  /** Precondition: whitespace before the value has been skipped. */
  parseValue(): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case LEFT_BRACE:
        return this.parseObject();
      case LEFT_BRACKET:
        return this.parseArray();
      case QUOTE:
        return this.parseString();
      case 0x74: // t
        return this.parseLiteral('true', true);
      case 0x66: // f
        return this.parseLiteral('false', false);
      case 0x6e: // n
        return this.parseLiteral('null', null);
      default:
        if (c === MINUS || isDigit(c)) return this.parseNumber();
        throw this.fail(this.unexpectedValueReason());
    }
  }

  /** Names the common non-JSON habits (JSON5, JavaScript literals) instead of a bare "unexpected". */
  private unexpectedValueReason(): string {
    const rest = this.text.slice(this.pos, this.pos + 9);
    if (/^(-?Infinity|NaN)/.test(rest)) return 'NaN and Infinity are not JSON numbers';
    const c = this.text.charCodeAt(this.pos);
    if (c === SINGLE_QUOTE) return "single-quoted strings are not JSON; use double quotes";
    if (c === SLASH) return 'comments are not allowed in JSON';
    if (c === PLUS || c === DOT) {
      return `unexpected ${describeChar(this.text, this.pos)}; a JSON number starts with '-' or a digit`;
    }
    return `unexpected ${describeChar(this.text, this.pos)}; expected a JSON value`;
  }

  private parseLiteral(word: string, value: boolean | null): boolean | null {
    if (!this.text.startsWith(word, this.pos)) {
      throw this.fail(`invalid literal; expected ${word} (literals are lowercase and unquoted)`);
    }
    this.pos += word.length;
    return value;
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) {
      throw this.fail(`nesting deeper than ${this.maxDepth} levels`);
    }
  }

  private parseObject(): Record<string, unknown> {
    this.enter();
    const text = this.text;
    const object: Record<string, unknown> = {};
    this.pos++; // '{'
    this.skipWhitespace();
    if (text.charCodeAt(this.pos) === RIGHT_BRACE) {
      this.pos++;
      this.depth--;
      return object;
    }
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c !== QUOTE) {
        throw this.fail(
          c === RIGHT_BRACE
            ? "trailing comma before '}'"
            : c === SINGLE_QUOTE
              ? 'single-quoted names are not JSON; use double quotes'
              : c === SLASH
                ? 'comments are not allowed in JSON'
                : `unexpected ${describeChar(text, this.pos)}; expected a member name in double quotes`,
        );
      }
      const keyStart = this.pos;
      const key = this.parseString();
      this.trail.push(key);
      // Compared after unescaping: {"a":1,"\u0061":2} is a duplicate too.
      if (Object.hasOwn(object, key)) {
        throw this.fail(`duplicate member name ${JSON.stringify(key)}`, keyStart);
      }
      this.skipWhitespace();
      if (text.charCodeAt(this.pos) !== COLON) {
        throw this.fail(`unexpected ${describeChar(text, this.pos)}; expected ':' after member name`);
      }
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue();
      if (key === '__proto__') {
        // Plain assignment would call the Object.prototype.__proto__ setter and swap the prototype.
        Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        object[key] = value;
      }
      this.trail.pop();
      this.skipWhitespace();
      const next = text.charCodeAt(this.pos);
      if (next === COMMA) {
        this.pos++;
        this.skipWhitespace();
      } else if (next === RIGHT_BRACE) {
        this.pos++;
        this.depth--;
        return object;
      } else {
        throw this.fail(`unexpected ${describeChar(text, this.pos)}; expected ',' or '}' in object`);
      }
    }
  }

  private parseArray(): unknown[] {
    this.enter();
    const text = this.text;
    const array: unknown[] = [];
    this.pos++; // '['
    this.skipWhitespace();
    if (text.charCodeAt(this.pos) === RIGHT_BRACKET) {
      this.pos++;
      this.depth--;
      return array;
    }
    for (;;) {
      this.trail.push(array.length);
      if (text.charCodeAt(this.pos) === RIGHT_BRACKET) throw this.fail("trailing comma before ']'");
      array.push(this.parseValue());
      this.trail.pop();
      this.skipWhitespace();
      const next = text.charCodeAt(this.pos);
      if (next === COMMA) {
        this.pos++;
        this.skipWhitespace();
      } else if (next === RIGHT_BRACKET) {
        this.pos++;
        this.depth--;
        return array;
      } else {
        throw this.fail(`unexpected ${describeChar(text, this.pos)}; expected ',' or ']' in array`);
      }
    }
  }

  /**
   * Precondition: text[pos] is '"'. Copies runs of ordinary characters with one slice and decodes
   * escapes; every code unit, escaped or raw, goes through one surrogate check so that "\ud83d\ude00"
   * passes while "\ud800", "\ude00\ud83d" and raw unpaired halves fail.
   */
  private parseString(): string {
    const text = this.text;
    const start = this.pos;
    let i = start + 1;
    let runStart = i;
    let out = '';
    // Offset of a high surrogate still waiting for its low half; -1 when none.
    let pendingHigh = -1;
    for (;;) {
      if (i >= text.length) throw this.fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (pendingHigh >= 0 && c !== BACKSLASH && !isLowSurrogate(c)) {
        throw this.loneSurrogate(pendingHigh);
      }
      if (c === QUOTE) {
        this.pos = i + 1;
        return out + text.slice(runStart, i);
      }
      if (c === BACKSLASH) {
        out += text.slice(runStart, i);
        const escapeStart = i;
        const unit = this.readEscape(i);
        i += unit.length;
        if (pendingHigh >= 0) {
          if (!isLowSurrogate(unit.code)) throw this.loneSurrogate(pendingHigh);
          pendingHigh = -1;
        } else if (isHighSurrogate(unit.code)) {
          pendingHigh = escapeStart;
        } else if (isLowSurrogate(unit.code)) {
          throw this.loneSurrogate(escapeStart);
        }
        out += String.fromCharCode(unit.code);
        runStart = i;
        continue;
      }
      if (c < SPACE) {
        throw this.fail(
          `unescaped control character U+${hex4(c).toUpperCase()} in string; write it as an escape`,
          i,
        );
      }
      if (isHighSurrogate(c)) {
        pendingHigh = i;
      } else if (isLowSurrogate(c)) {
        if (pendingHigh < 0) throw this.loneSurrogate(i);
        pendingHigh = -1;
      }
      i++;
    }
  }

  private loneSurrogate(at: number): JsonSyntaxError {
    const text = this.text;
    const raw = text.charCodeAt(at) !== BACKSLASH;
    const unit = raw ? `U+${hex4(text.charCodeAt(at)).toUpperCase()}` : text.slice(at, at + 6);
    return this.fail(`lone surrogate ${unit} in string; text must be well-formed Unicode`, at);
  }

  /** Precondition: text[at] is '\'. Returns the code unit and the escape's length in the text. */
  private readEscape(at: number): { code: number; length: number } {
    const text = this.text;
    const e = text.charCodeAt(at + 1);
    switch (e) {
      case QUOTE:
      case BACKSLASH:
      case SLASH:
        return { code: e, length: 2 };
      case 0x62: // b
        return { code: 0x08, length: 2 };
      case 0x66: // f
        return { code: 0x0c, length: 2 };
      case 0x6e: // n
        return { code: 0x0a, length: 2 };
      case 0x72: // r
        return { code: 0x0d, length: 2 };
      case 0x74: // t
        return { code: 0x09, length: 2 };
      case 0x75: {
        // u
        const digits = text.slice(at + 2, at + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(digits)) {
          throw this.fail('invalid \\u escape; expected four hex digits', at);
        }
        return { code: parseInt(digits, 16), length: 6 };
      }
      default:
        if (at + 1 >= text.length) throw this.fail('unterminated string', at);
        throw this.fail(`invalid escape \\${text[at + 1]} in string`, at);
    }
  }

  private parseNumber(): number {
    const text = this.text;
    const start = this.pos;
    let i = start;
    if (text.charCodeAt(i) === MINUS) i++;
    const first = text.charCodeAt(i);
    if (first === ZERO) {
      i++;
      if (isDigit(text.charCodeAt(i))) throw this.fail('leading zeros are not allowed in numbers', i);
    } else if (isDigit(first)) {
      while (isDigit(text.charCodeAt(i))) i++;
    } else {
      throw this.fail(
        /^Infinity/.test(text.slice(i, i + 8))
          ? 'NaN and Infinity are not JSON numbers'
          : `unexpected ${describeChar(text, i)}; expected a digit after '-'`,
        i,
      );
    }
    if (text.charCodeAt(i) === DOT) {
      i++;
      if (!isDigit(text.charCodeAt(i))) throw this.fail('expected a digit after the decimal point', i);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === LOWER_E || e === UPPER_E) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === PLUS || sign === MINUS) i++;
      if (!isDigit(text.charCodeAt(i))) throw this.fail('expected a digit in the exponent', i);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const literal = text.slice(start, i);
    const value = Number(literal);
    // 1e400 would silently become Infinity, which has no JSON form: refuse it here, where the
    // offset is known. Large integers are kept (rounded); the ingest policy decides about them.
    if (!Number.isFinite(value)) {
      throw this.fail(`number ${literal} is too large for a 64-bit float`, start);
    }
    this.pos = i;
    return value;
  }
}
