import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkEventJson } from '../../src/events/canonical.js';
import { fastParseEvent } from '../../src/events/fastparse.js';
import { actorSchema, eventInputSchema, resourceSchema } from '../../src/events/schema.js';
import { generateEvents } from '../demo/generate.js';

/** What prepareEvent decides without the fast path: the policy, then the schema. */
function reference(input: object): ReturnType<typeof eventInputSchema.safeParse> | undefined {
  try {
    checkEventJson(input);
  } catch {
    return undefined;
  }
  return eventInputSchema.safeParse(input);
}

let decided = 0;
/**
 * The fast path never accepts what the policy or zod rejects, and builds exactly zod's output
 * when it accepts.
 */
function agree(input: object): void {
  const fast = fastParseEvent(input);
  if (fast === undefined) return;
  decided++;
  const ref = reference(input);
  expect(ref, `fast path accepted what the policy rejects: ${String(Object.keys(input))}`).toBeDefined();
  expect(ref!.success, `fast path accepted what zod rejects: ${JSON.stringify(input)} — ${ref!.error?.message}`).toBe(true);
  expect(fast).toEqual(ref!.data);
  // Prototypes, -0 and own-but-undefined members too (toStrictEqual would also compare a member
  // named "constructor" as if it were the class).
  expect(isDeepStrictEqual(fast, ref!.data), JSON.stringify(input)).toBe(true);
  // Same member order too (JSON.stringify follows it): zod's order is the schema's.
  expect(JSON.stringify(fast)).toBe(JSON.stringify(ref!.data));
}

const full = () => ({
  event_id: '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  namespace: 'billing',
  event_type: 'payment.created',
  occurred_at: '2026-11-23T09:59:58.123+01:00',
  actor: {
    id: 'u_ana',
    type: 'user',
    role: 'clerk',
    email: 'ana@example.com',
    ip: '10.0.0.1',
    user_agent: 'curl/8',
    session_id: 's1',
  },
  resource: { type: 'payment', id: 'pay_1', name: 'Payment 1' },
  subject_id: 'cust_9',
  outcome: 'failure',
  failure_reason: 'card declined',
  reason: 'customer request',
  correlation_id: 'c1',
  request_id: 'r1',
  source_system: 'billing-api',
  data_classification: 'confidential',
  changes: { before: { status: 'open' }, after: { status: 'paid', n: [1, 2.5, null, true] }, fields: ['status'] },
  data: { amount: 50, currency: 'USD', nested: { list: [{ a: 1 }, [], {}] } },
});

type Obj = Record<string, unknown>;
/** A deep copy of `base` with the member at `path` set to `value` (deleted when `value` is DELETE). */
const DELETE = Symbol('delete');
function mutate(base: Obj, path: string[], value: unknown): Obj {
  const copy = structuredClone(base);
  let o: Obj = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Obj;
  const last = path.at(-1)!;
  if (value === DELETE) delete o[last];
  else o[last] = value;
  return copy;
}

const maxOf = (s: unknown): number => {
  const inner = s as { maxLength?: number | null; unwrap?: () => unknown };
  return inner.maxLength ?? (inner.unwrap ? maxOf(inner.unwrap()) : 0);
};

// Values every field is tried with: wrong types, empty, NUL, odd characters.
const GENERIC: unknown[] = [
  DELETE, null, 0, 1, -1.5, true, false, '', ' ', 'x', '\u0000', 'a\u0000b', 'A', 'é', '\u{1F600}', '\t', [], ['x'], {}, { a: 1 },
];

describe('fast event parse agrees with the schema', () => {
  it('decides the generated events, exactly as zod parses them', () => {
    decided = 0;
    const events = generateEvents({ count: 3000, seed: 7 });
    for (const e of events) agree(e);
    expect(decided).toBe(events.length);
    agree(full());
  });

  it('agrees on every field mutated to wrong types and edge values', () => {
    const base = full();
    const paths: string[][] = [];
    for (const k of Object.keys(base)) paths.push([k]);
    for (const k of Object.keys(base.actor)) paths.push(['actor', k]);
    for (const k of Object.keys(base.resource)) paths.push(['resource', k]);
    for (const k of Object.keys(base.changes)) paths.push(['changes', k]);
    for (const p of paths) for (const v of GENERIC) agree(mutate(base, p, v));
    // With the optional members gone, and with outcome success (no failure_reason needed).
    const success = mutate(base, ['outcome'], 'success');
    for (const p of paths) for (const v of GENERIC) agree(mutate(success, p, v));
  });

  it('agrees at and past every length limit the schema sets', () => {
    const base = full();
    const limited: [string[], number][] = [
      [['event_type'], maxOf(eventInputSchema.shape.event_type)],
      [['subject_id'], maxOf(eventInputSchema.shape.subject_id)],
      [['failure_reason'], maxOf(eventInputSchema.shape.failure_reason)],
      [['reason'], maxOf(eventInputSchema.shape.reason)],
      [['correlation_id'], maxOf(eventInputSchema.shape.correlation_id)],
      [['request_id'], maxOf(eventInputSchema.shape.request_id)],
      [['source_system'], maxOf(eventInputSchema.shape.source_system)],
      [['actor', 'id'], maxOf(actorSchema.shape.id)],
      [['actor', 'role'], maxOf(actorSchema.shape.role)],
      [['actor', 'user_agent'], maxOf(actorSchema.shape.user_agent)],
      [['actor', 'session_id'], maxOf(actorSchema.shape.session_id)],
      [['resource', 'type'], maxOf(resourceSchema.shape.type)],
      [['resource', 'id'], maxOf(resourceSchema.shape.id)],
      [['resource', 'name'], maxOf(resourceSchema.shape.name)],
    ];
    decided = 0;
    for (const [path, max] of limited) {
      expect(max, path.join('.')).toBeGreaterThan(0);
      for (const n of [max - 1, max, max + 1, max + 100]) {
        agree(mutate(base, path, 'a'.repeat(n)));
        agree(mutate(base, path, 'a'.repeat(n - 1) + '\u0000'));
        agree(mutate(base, path, 'a.b'.repeat(Math.ceil(n / 3)).slice(0, n)));
      }
    }
    const emailMax = maxOf(actorSchema.shape.email);
    for (const n of [emailMax - 1, emailMax, emailMax + 1]) agree(mutate(base, ['actor', 'email'], 'a'.repeat(n - 12) + '@example.com'));
    for (const n of [255, 256, 257]) agree(mutate(base, ['changes', 'fields'], ['a'.repeat(n)]));
    expect(decided).toBeGreaterThan(limited.length);
  });

  it('agrees on formats: namespace, event type, timestamps, uuid, email, ip', () => {
    const base = full();
    const cases: [string[], unknown[]][] = [
      [['namespace'], ['a', '0', 'a'.repeat(63), 'a'.repeat(64), 'Billing', '-a', '_a', 'a-b_c', 'a/b', 'a.b', 'a b', 'é']],
      [['event_type'], ['a.b', 'a', 'a.', '.a', 'a..b', 'A.b', 'a.B', '1a.b', 'a.1b', 'a_1.b_2.c', 'a-b.c', 'a.b\n']],
      [
        ['occurred_at'],
        [
          '2026-03-01T12:00:00Z', '2026-03-01t12:00:00z', '2026-03-01T12:00:00.1Z', '2026-03-01T12:00:00.123456Z',
          '2026-03-01T12:00:00.1234567Z', '2026-03-01T12:00:00+00:00', '2026-03-01T12:00:00-23:59', '2026-03-01T12:00:00+24:00',
          '2026-03-01T12:00:00+05:60', '2026-02-30T12:00:00Z', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z',
          '2000-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-01T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-01T24:00:00Z',
          '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '9999-12-31T23:59:59-00:30',
          '2026-03-01 12:00:00Z', '2026-03-01T12:00:00', '2026-03-01', ' 2026-03-01T12:00:00Z', '2026-03-01T12:00:00Z ', 1767225600000,
        ],
      ],
      [
        ['event_id'],
        [
          '3F1C2A4E-5B6D-4E7F-8A9B-0C1D2E3F4A5B', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
          '3f1c2a4e-5b6d-0e7f-8a9b-0c1d2e3f4a5b', '3f1c2a4e-5b6d-9e7f-8a9b-0c1d2e3f4a5b', '3f1c2a4e-5b6d-4e7f-7a9b-0c1d2e3f4a5b',
          '3f1c2a4e5b6d4e7f8a9b0c1d2e3f4a5b', '{3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b}', '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5', 'g'.repeat(36),
        ],
      ],
      [
        ['actor', 'email'],
        [
          'a@b.co', 'a.b@c.io', 'a..b@c.io', '.a@c.io', 'a.@c.io', "o'neil@x.org", 'a+tag@x.org', 'a@x', 'a@x.c', 'a@-x.com', 'a@x-.com',
          'a@[10.0.0.1]', 'A@X.COM', 'a b@x.com', 'a@x.com\n', 'é@x.com', '@x.com', 'a@@x.com',
        ],
      ],
      [
        ['actor', 'ip'],
        [
          '0.0.0.0', '255.255.255.255', '256.0.0.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.4\n', ' 1.2.3.4', '::1', '::', 'fe80::1',
          '2001:db8::8a2e:370:7334', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', ':::1', '::1\n', '::@1\\', 'g::1', '10.0.0.1/8',
        ],
      ],
      [['actor', 'type'], ['user', 'service', 'admin', 'system', 'User', 'robot']],
      [['outcome'], ['success', 'failure', 'denied', 'Success', 'ok']],
      [['data_classification'], ['public', 'internal', 'confidential', 'restricted', 'secret', DELETE]],
    ];
    for (const [path, values] of cases) for (const v of values) agree(mutate(base, path, v));
  });

  it('agrees on failure without a reason, unknown members, and server fields', () => {
    const base = full();
    for (const reason of [DELETE, '', ' ', 'declined']) {
      for (const outcome of ['failure', 'success', 'denied']) agree(mutate(mutate(base, ['outcome'], outcome), ['failure_reason'], reason));
    }
    for (const where of [[], ['actor'], ['resource'], ['changes']]) {
      for (const key of ['extra', 'constructor', 'toString', '0', 'ID', 'recorded_at']) agree(mutate(base, [...where, key], 'x'));
    }
  });

  it('agrees on JSON payloads of every shape', () => {
    const base = full();
    const payloads: unknown[] = [
      {}, { a: null }, { a: -0 }, { a: 1e300 }, { a: 2 ** 53 - 1 }, { '': 1 }, { '0': 1, b: 2, '10': 3 }, { constructor: 'x' },
      { constructor: { prototype: 1 } }, { isPrototypeOf: 1 }, { a: [[[[]]]] }, { a: { b: { c: { d: { e: 'deep' } } } } },
      { a: '\u0000' }, { 'k\u0000': 1 }, { a: [1, 'two', false, null, { x: [] }] }, [], [1], 'text', 5, null, true,
    ];
    for (const p of payloads) {
      agree(mutate(base, ['data'], p));
      agree(mutate(base, ['changes', 'before'], p));
      agree(mutate(base, ['changes', 'after'], p));
    }
    const nullProto = Object.assign(Object.create(null) as Obj, { a: 1, b: { c: 2 } });
    agree(mutate(base, ['data'], nullProto));
    agree({ ...full(), data: nullProto });
    agree({ ...full(), actor: Object.assign(Object.create(null) as Obj, full().actor) });
    agree({ ...full(), data: { a: 1, [Symbol('s')]: 2 } });
    agree({ ...full(), data: Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }) });
    const hiddenEvent = Object.defineProperty(full() as Obj, 'subject_id', { value: 5, enumerable: false });
    agree(hiddenEvent);
    const hiddenUndefined = Object.defineProperty(mutate(full(), ['subject_id'], DELETE), 'subject_id', { value: undefined, enumerable: false });
    agree(hiddenUndefined);
    const shared = { s: 1 };
    agree({ ...full(), data: { a: shared, b: shared } });
    for (const fields of [[], ['a', 'b'], [1], [null], ['a', ['b']], 'a', { 0: 'a' }]) agree(mutate(base, ['changes', 'fields'], fields));
    for (const top of [[], ['x'], 'event', 1]) agree({ ...full(), actor: top });
  });

  it('agrees with the ingest policy: lone surrogates, unsafe numbers, undefined, non-plain objects, cycles, __proto__', () => {
    const base = full();
    const strings: string[][] = [];
    for (const k of Object.keys(base)) if (typeof (base as Obj)[k] === 'string') strings.push([k]);
    for (const k of Object.keys(base.actor)) strings.push(['actor', k]);
    for (const k of Object.keys(base.resource)) strings.push(['resource', k]);
    const lone = ['\uD800', 'a\uDC00', '\uDC00\uD800', 'x\uD83D'];
    for (const p of strings) for (const v of lone) agree(mutate(base, p, v));
    agree(mutate(base, ['changes', 'fields'], ['ok', '\uD800']));
    const bad: unknown[] = [
      undefined, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e20, 10n, Symbol('s'), () => 1, new Date(0), new Map(), Buffer.from('x'),
      '\uD800', [undefined], [1, , 3], { a: undefined }, { a: 2 ** 60 }, { a: new Date(0) }, { '\uD800': 1 }, { a: { b: [NaN] } },
    ];
    for (const v of bad) {
      agree(mutate(base, ['data'], { v }));
      agree(mutate(base, ['data'], v));
      agree(mutate(base, ['changes', 'before'], v));
      agree(mutate(base, ['changes', 'after'], { v }));
    }
    for (const p of [['subject_id'], ['actor', 'role'], ['resource', 'name'], ['changes', 'fields']]) agree(mutate(base, p, undefined));
    class Actor {
      id = 'u';
      type = 'user';
    }
    agree({ ...full(), actor: new Actor() });
    agree(Object.assign(Object.create({ inherited: 1 }) as Obj, full()));
    agree(Object.assign(Object.create(null) as Obj, full()));
    const cyclic: Obj = { a: 1 };
    cyclic.self = cyclic;
    agree({ ...full(), data: cyclic });
    agree({ ...full(), changes: { before: [cyclic] } });
    const protoKey = Object.defineProperty({ a: 1 }, '__proto__', { value: { b: 2 }, enumerable: true });
    agree({ ...full(), data: protoKey });
    agree({ ...full(), data: { nested: protoKey } });
    agree(Object.defineProperty(full() as Obj, '__proto__', { value: {}, enumerable: true }));
    // A known member hidden (not enumerable) beside an unknown one: counts alone would match.
    agree(Object.defineProperty({ ...full(), extra: 'x' }, 'subject_id', { value: 's', enumerable: false }));
    agree({ ...full(), actor: Object.defineProperty({ ...full().actor, extra: 'x' }, 'role', { value: 'r', enumerable: false }) });
  });

  it('builds fresh objects, never returning parts of the input', () => {
    const input = full();
    const out = fastParseEvent(input)! as unknown as Obj;
    expect(out).not.toBe(input);
    expect(out.actor).not.toBe(input.actor);
    expect(out.resource).not.toBe(input.resource);
    expect((out.changes as Obj).fields).not.toBe(input.changes.fields);
    expect((out.data as Obj).nested).not.toBe(input.data.nested);
  });
});
