// RFC 8785 JSON Canonicalization Scheme (JCS), and the stricter policy events must pass at ingest.
//
// The canonical bytes are what the leaf hash covers (DESIGN decision 1), so this module must give
// one output for one JSON value, forever, and refuse anything without a single JSON meaning rather
// than guess (JSON.stringify drops undefined, turns NaN into null and Dates into strings).

import { formatJsonPath } from './json.js';

/** A value that has no canonical JSON form, or that the event policy refuses. */
export class CanonicalError extends Error {
  override readonly name = 'CanonicalError';
  /** Where the value sits, like `data.items[3].name`; '' (or the caller's prefix) for the root. */
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path === '' ? '(root)' : path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Serializes a JSON value, given as JS values, per RFC 8785: members sorted by the UTF-16 code
 * units of their names, no whitespace, numbers as ECMAScript Number::toString (-0 becomes 0),
 * strings with only `"`, `\` and U+0000..U+001F escaped.
 *
 * Accepts null, booleans, finite numbers, well-formed strings, arrays, and objects whose
 * prototype is Object.prototype or null (own enumerable string keys are serialized).
 * Throws CanonicalError naming the path for: NaN/±Infinity, lone surrogates in strings or names,
 * undefined (including array holes), functions, symbols, bigints, non-plain objects (Date, Map,
 * Buffer, class instances) and cycles.
 *
 * This is the general JCS; event payloads must pass checkEventJson first.
 */
export function canonicalize(value: unknown): string {
  return new Writer('', false).value(value);
}

/** UTF-8 bytes of canonicalize(value) — the bytes that are stored and hashed. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/**
 * The ingest policy of DESIGN decision 1, on top of everything canonicalize() refuses: no member
 * named "__proto__" at any depth (it means a prototype to half the JavaScript code that will read
 * the event) and no integer beyond ±(2^53−1) (it already lost precision when it became a double).
 * Throws CanonicalError whose path starts with `path` (e.g. 'data').
 *
 * Does not check size, schema, or duplicate names (a parsed object cannot hold duplicates; run the
 * raw text through parseJson for that). Costs a walk of the value when it passes.
 */
export function checkEventJson(value: unknown, path = ''): void {
  // Nearly every event passes: a walk that builds no strings proves it. Only an event it doubts
  // pays for the serializing pass, which decides and names the first offending path.
  if (!isEventJson(value)) new Writer(path, true).value(value);
}

/**
 * True only when checkEventJson(value) passes, by a walk that builds no strings; false means
 * "ask checkEventJson", which decides and names the path.
 */
export function isEventJson(value: unknown): boolean {
  return passesEventPolicy(value, []);
}

/**
 * True only for values Writer(eventPolicy) accepts; false sends the value to the Writer, so a
 * false negative costs time, never a wrong answer.
 */
function passesEventPolicy(v: unknown, open: object[]): boolean {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed();
    case 'number':
      return Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v));
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (open.includes(v)) return false;
      open.push(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!passesEventPolicy(v[i], open)) return false;
      } else {
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return false;
        const record = v as Record<string, unknown>;
        for (const key of Object.keys(record)) {
          if (key === '__proto__' || !key.isWellFormed() || !passesEventPolicy(record[key], open)) return false;
        }
      }
      open.pop();
      return true;
    }
    default:
      return false;
  }
}

/**
 * One serialization pass. Keeps the keys/indexes from the root in `trail` so that a failure can
 * name its path without building a path string for every value that succeeds.
 */
class Writer {
  private readonly trail: (string | number)[] = [];
  /**
   * Containers on the current path: meeting one again is a cycle (shared subtrees are fine).
   * An array, not a Set: paths are a few levels deep and push/pop/includes on them is cheaper.
   */
  private readonly open: object[] = [];

  constructor(
    private readonly prefix: string,
    private readonly eventPolicy: boolean,
  ) {}

  private fail(reason: string): CanonicalError {
    return new CanonicalError(formatJsonPath(this.trail, this.prefix), reason);
  }

  value(v: unknown): string {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'object':
        if (v === null) return 'null';
        return Array.isArray(v) ? this.array(v) : this.object(v);
      case 'undefined':
        throw this.fail('undefined is not a JSON value');
      case 'bigint':
        throw this.fail(`bigint ${v} is not a JSON value; send it as a string`);
      case 'function':
        throw this.fail('a function is not a JSON value');
      case 'symbol':
        throw this.fail('a symbol is not a JSON value');
    }
  }

  /** `what` names the string in errors: 'string' or 'member name'. */
  private string(s: string, what = 'string'): string {
    // Most strings need no escaping: one scan proves it and the quotes are added directly, which
    // is several times faster than JSON.stringify on short strings.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return this.escaped(s, what);
    }
    return '"' + s + '"';
  }

  private escaped(s: string, what: string): string {
    // For well-formed strings JSON.stringify escapes exactly what RFC 8785 3.2.2.2 requires
    // (\b \t \n \f \r short forms, other controls as lowercase \u00xx; U+007F, U+2028 stay
    // literal) — test/unit/canonical.test.ts checks every code point. For lone surrogates it
    // would write "\udxxx" where JCS requires an error, hence the check first.
    if (!s.isWellFormed()) throw this.fail(loneSurrogateReason(s, what));
    return JSON.stringify(s);
  }

  private number(n: number): string {
    if (!Number.isFinite(n)) throw this.fail(`${n} is not a JSON number`);
    if (this.eventPolicy && Number.isInteger(n) && !Number.isSafeInteger(n)) {
      throw this.fail(
        `integer ${n} is beyond 2^53-1 in magnitude and cannot be stored exactly; send it as a string`,
      );
    }
    // ECMAScript Number::toString is the RFC 8785 number format (3.2.2.3), and gives "0" for -0.
    return String(n);
  }

  private array(a: readonly unknown[]): string {
    this.enter(a);
    let out = '[';
    for (let i = 0; i < a.length; i++) {
      this.trail.push(i);
      out += i === 0 ? this.value(a[i]) : ',' + this.value(a[i]);
      this.trail.pop();
    }
    this.open.pop();
    return out + ']';
  }

  private object(o: object): string {
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      throw this.fail(`${describeObject(proto)} is not a plain object or array; convert it to JSON values first`);
    }
    this.enter(o);
    const record = o as Record<string, unknown>;
    const names = Object.keys(record);
    const known = knownLayout(names);
    const keys = known?.sorted ?? sortCodeUnits(names.slice());
    const fresh: string[] = [];
    const heads = known?.heads ?? fresh;
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      this.trail.push(key);
      if (this.eventPolicy && key === '__proto__') {
        throw this.fail('member name "__proto__" is not allowed in events; rename it');
      }
      if (!known) fresh.push((i === 0 ? '' : ',') + this.string(key, 'member name') + ':');
      out += heads[i] + this.value(record[key]);
      this.trail.pop();
    }
    if (!known) rememberLayout(names, keys, fresh);
    this.open.pop();
    return out + '}';
  }

  private enter(container: object): void {
    if (this.open.includes(container)) throw this.fail('cycle: the value contains itself');
    this.open.push(container);
  }
}

/**
 * Objects of one kind (an event, its actor, its resource) list the same names in the same order.
 * The last few such lists are kept with their canonical order and the serialized `"name":` heads,
 * so those objects skip sorting and escaping their names. Entries are only ever read.
 */
interface Layout {
  names: readonly string[];
  sorted: readonly string[];
  heads: readonly string[];
}
const layouts: Layout[] = [];
const LAYOUTS_MAX = 16;

function knownLayout(names: readonly string[]): Layout | undefined {
  next: for (const l of layouts) {
    if (l.names.length !== names.length) continue;
    for (let i = 0; i < names.length; i++) if (l.names[i] !== names[i]) continue next;
    return l;
  }
  return undefined;
}

function rememberLayout(names: readonly string[], sorted: readonly string[], heads: readonly string[]): void {
  if (layouts.length >= LAYOUTS_MAX) layouts.pop();
  layouts.unshift({ names, sorted, heads });
}

/**
 * Sorts names by UTF-16 code units, the RFC 8785 3.2.3 order. Both the default sort and `<` on
 * strings compare code units; for the handful of names an event object has, insertion sort
 * avoids the default sort's set-up cost (measured at about an eighth of canonicalize's time).
 */
function sortCodeUnits(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function loneSurrogateReason(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    } else if (u < 0xdc00 || u > 0xdfff) {
      continue;
    }
    const hex = u.toString(16).toUpperCase();
    return `${what} has a lone surrogate U+${hex} at index ${i}; text must be well-formed Unicode`;
  }
  // Unreachable for strings that fail isWellFormed(); kept total for the type checker.
  return `${what} is not well-formed Unicode`;
}

function describeObject(proto: unknown): string {
  const ctor: unknown =
    typeof proto === 'object' && proto !== null && Object.hasOwn(proto, 'constructor')
      ? (proto as { constructor: unknown }).constructor
      : undefined;
  const name = typeof ctor === 'function' ? ctor.name : '';
  return name === '' ? 'an object with a custom prototype' : `a ${name}`;
}
