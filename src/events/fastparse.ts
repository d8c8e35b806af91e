// The common case of ingest validation (checkEventJson, then eventInputSchema), decided in one walk.
//
// zod's per-object bookkeeping costs more than all of an event's rules together (about 13 µs of an
// event's ~45 µs at ingest). This walk proves the ordinary event valid under exactly the policy's
// and the schema's rules and builds the output zod would build; anything it cannot prove cheaply
// (an IPv6 address, a symbol key, any rule failing) returns undefined and goes to checkEventJson
// and zod, which stay the reference and the only source of error messages.
// test/unit/fastparse.test.ts checks that they agree.

import { z } from 'zod';
import { isEventJson } from './canonical.js';
import { actorSchema, eventInputSchema, EVENT_TYPE, NAMESPACE, normalizeTimestamp, resourceSchema, type ValidEvent } from './schema.js';

// Limits and enum values are read from the schema, so a change there cannot leave this behind.
type StringSchema = z.ZodString | z.ZodOptional<z.ZodString>;
const unwrap = (s: StringSchema): z.ZodString => (s instanceof z.ZodOptional ? s.unwrap() : s);
const maxOf = (s: StringSchema): number => unwrap(s).maxLength ?? Infinity;
const E = eventInputSchema.shape;
const A = actorSchema.shape;
const R = resourceSchema.shape;
const C = E.changes.unwrap().shape;

const ACTOR_ID = maxOf(A.id);
const ACTOR_ROLE = maxOf(A.role);
const ACTOR_EMAIL = A.email.unwrap().maxLength ?? Infinity;
const ACTOR_USER_AGENT = maxOf(A.user_agent);
const ACTOR_SESSION = maxOf(A.session_id);
const RESOURCE_TYPE = maxOf(R.type);
const RESOURCE_ID = maxOf(R.id);
const RESOURCE_NAME = maxOf(R.name);
const EVENT_TYPE_MAX = maxOf(E.event_type);
const SUBJECT = maxOf(E.subject_id);
const FAILURE_REASON = maxOf(E.failure_reason);
const REASON = maxOf(E.reason);
const CORRELATION = maxOf(E.correlation_id);
const REQUEST = maxOf(E.request_id);
const SOURCE = maxOf(E.source_system);
const FIELD_NAME = (C.fields.unwrap().element as z.ZodString).maxLength ?? Infinity;

const EVENT_KEYS = new Set(Object.keys(E));
const ACTOR_KEYS = new Set(Object.keys(A));
const RESOURCE_KEYS = new Set(Object.keys(R));
const CHANGES_KEYS = new Set(Object.keys(C));
const ACTOR_TYPES = new Set<unknown>(A.type.options);
const OUTCOMES = new Set<unknown>(E.outcome.options);
const CLASSIFICATIONS = new Set<unknown>(E.data_classification.unwrap().options);

// The very patterns zod's z.uuid(), z.email() and z.ipv4() test.
const UUID = z.regexes.uuid();
const EMAIL = z.regexes.email;
const IPV4 = z.regexes.ipv4;

// Free text must also be well-formed for the policy; the strings checked by a pattern or an enum
// are ASCII by construction.
/** text(max) of the schema: 1..max UTF-16 units, no NUL. */
const isText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max && !v.includes('\u0000') && v.isWellFormed();
const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && v.isWellFormed();

/** Thrown where this walk cannot decide; fastParseEvent answers undefined (ask the reference). */
class Undecided extends Error {}
const UNDECIDED = new Undecided();

/**
 * Reads optional member `key` of `o` as zod does (o[key], present when `key in o`), counting it
 * in `seen` when present. Undefined means absent; an own or inherited key holding undefined is
 * left to the reference (zod would keep the key, the policy refuses it).
 */
function optional(o: Record<string, unknown>, key: string, seen: { n: number }): unknown {
  const v = o[key];
  if (v === undefined) {
    if (key in o) throw UNDECIDED;
  } else seen.n++;
  return v;
}

/**
 * eventInputSchema.safeParse(input).data when the event is ordinary, passes checkEventJson and
 * the schema; else undefined (then run both to decide and name the problem). The result is fresh
 * objects and arrays throughout, as zod's is; strings and numbers are shared.
 */
export function fastParseEvent(input: unknown): ValidEvent | undefined {
  try {
    return parseEvent(asObject(input));
  } catch (e) {
    if (e === UNDECIDED) return undefined;
    throw e;
  }
}

function parseEvent(o: Record<string, unknown>): ValidEvent {
  const seen = { n: 5 }; // the required members below
  const event_id = optional(o, 'event_id', seen);
  if (event_id !== undefined && !(typeof event_id === 'string' && UUID.test(event_id))) throw UNDECIDED;
  const namespace = o.namespace;
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) throw UNDECIDED;
  const event_type = o.event_type;
  if (!isString(event_type, EVENT_TYPE_MAX) || !EVENT_TYPE.test(event_type)) throw UNDECIDED;
  const occurredIn = o.occurred_at;
  const occurred_at = typeof occurredIn === 'string' ? normalizeTimestamp(occurredIn) : undefined;
  if (occurred_at === undefined) throw UNDECIDED;
  const actor = parseActor(o.actor);
  const resource = optional(o, 'resource', seen);
  const subject_id = optional(o, 'subject_id', seen);
  if (subject_id !== undefined && !isText(subject_id, SUBJECT)) throw UNDECIDED;
  const outcome = o.outcome;
  if (!OUTCOMES.has(outcome)) throw UNDECIDED;
  const failure_reason = optional(o, 'failure_reason', seen);
  if (failure_reason !== undefined && !isString(failure_reason, FAILURE_REASON)) throw UNDECIDED;
  // The schema's superRefine.
  if (outcome === 'failure' && !failure_reason) throw UNDECIDED;
  const reason = optional(o, 'reason', seen);
  if (reason !== undefined && !isString(reason, REASON)) throw UNDECIDED;
  const correlation_id = optional(o, 'correlation_id', seen);
  if (correlation_id !== undefined && !isText(correlation_id, CORRELATION)) throw UNDECIDED;
  const request_id = optional(o, 'request_id', seen);
  if (request_id !== undefined && !isText(request_id, REQUEST)) throw UNDECIDED;
  const source_system = optional(o, 'source_system', seen);
  if (source_system !== undefined && !isText(source_system, SOURCE)) throw UNDECIDED;
  const data_classification = optional(o, 'data_classification', seen);
  if (data_classification !== undefined && !CLASSIFICATIONS.has(data_classification)) throw UNDECIDED;
  const changes = optional(o, 'changes', seen);
  const data = optional(o, 'data', seen);
  onlyKnown(o, EVENT_KEYS, seen.n);

  // Members in the schema's order, absent ones left out: the object zod builds.
  const out: Record<string, unknown> = {};
  if (event_id !== undefined) out.event_id = event_id;
  out.namespace = namespace;
  out.event_type = event_type;
  out.occurred_at = occurred_at;
  out.actor = actor;
  if (resource !== undefined) out.resource = parseResource(resource);
  if (subject_id !== undefined) out.subject_id = subject_id;
  out.outcome = outcome;
  if (failure_reason !== undefined) out.failure_reason = failure_reason;
  if (reason !== undefined) out.reason = reason;
  if (correlation_id !== undefined) out.correlation_id = correlation_id;
  if (request_id !== undefined) out.request_id = request_id;
  if (source_system !== undefined) out.source_system = source_system;
  if (data_classification !== undefined) out.data_classification = data_classification;
  if (changes !== undefined) out.changes = parseChanges(changes);
  if (data !== undefined) out.data = jsonRecord(policyChecked(data));
  return out as ValidEvent;
}

/** An object the policy and zod both take as one: not an array, a plain prototype. */
function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw UNDECIDED;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw UNDECIDED;
  return v as Record<string, unknown>;
}

/**
 * .strict(): the enumerable members (what zod's for-in sees) are exactly the `present` members
 * read: all of them known names, and as many as were found.
 */
function onlyKnown(o: Record<string, unknown>, known: ReadonlySet<string>, present: number): void {
  const keys = Object.keys(o);
  if (keys.length !== present) throw UNDECIDED;
  for (const k of keys) if (!known.has(k)) throw UNDECIDED;
}

function parseActor(v: unknown): Record<string, unknown> {
  const o = asObject(v);
  const seen = { n: 2 };
  const id = o.id;
  if (!isText(id, ACTOR_ID)) throw UNDECIDED;
  const type = o.type;
  if (!ACTOR_TYPES.has(type)) throw UNDECIDED;
  const role = optional(o, 'role', seen);
  if (role !== undefined && !isText(role, ACTOR_ROLE)) throw UNDECIDED;
  const email = optional(o, 'email', seen);
  if (email !== undefined && !(isString(email, ACTOR_EMAIL) && EMAIL.test(email))) throw UNDECIDED;
  // IPv6 needs zod's extra URL-parser check: rare enough to leave to zod.
  const ip = optional(o, 'ip', seen);
  if (ip !== undefined && !(typeof ip === 'string' && IPV4.test(ip))) throw UNDECIDED;
  const user_agent = optional(o, 'user_agent', seen);
  if (user_agent !== undefined && !isString(user_agent, ACTOR_USER_AGENT)) throw UNDECIDED;
  const session_id = optional(o, 'session_id', seen);
  if (session_id !== undefined && !isText(session_id, ACTOR_SESSION)) throw UNDECIDED;
  onlyKnown(o, ACTOR_KEYS, seen.n);
  const out: Record<string, unknown> = { id, type };
  if (role !== undefined) out.role = role;
  if (email !== undefined) out.email = email;
  if (ip !== undefined) out.ip = ip;
  if (user_agent !== undefined) out.user_agent = user_agent;
  if (session_id !== undefined) out.session_id = session_id;
  return out;
}

function parseResource(v: unknown): Record<string, unknown> {
  const o = asObject(v);
  const seen = { n: 2 };
  const type = o.type;
  if (!isText(type, RESOURCE_TYPE)) throw UNDECIDED;
  const id = o.id;
  if (!isText(id, RESOURCE_ID)) throw UNDECIDED;
  const name = optional(o, 'name', seen);
  if (name !== undefined && !isString(name, RESOURCE_NAME)) throw UNDECIDED;
  onlyKnown(o, RESOURCE_KEYS, seen.n);
  return name === undefined ? { type, id } : { type, id, name };
}

function parseChanges(v: unknown): Record<string, unknown> {
  const o = asObject(v);
  const seen = { n: 0 };
  const before = optional(o, 'before', seen);
  const after = optional(o, 'after', seen);
  const fields = optional(o, 'fields', seen);
  onlyKnown(o, CHANGES_KEYS, seen.n);
  const out: Record<string, unknown> = {};
  if (before !== undefined) out.before = json(policyChecked(before));
  if (after !== undefined) out.after = json(policyChecked(after));
  if (fields !== undefined) {
    if (!Array.isArray(fields)) throw UNDECIDED;
    const copy = new Array<string>(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const f: unknown = fields[i];
      if (!isString(f, FIELD_NAME)) throw UNDECIDED;
      copy[i] = f;
    }
    out.fields = copy;
  }
  return out;
}

/** The payload members are free JSON: the policy's own walk decides them. */
function policyChecked(v: unknown): unknown {
  if (!isEventJson(v)) throw UNDECIDED;
  return v;
}

/**
 * z.json() of a value that passes the policy: every such value is JSON, so only the copy zod makes
 * remains — and the symbol keys z.record() refuses but Object.keys() does not show.
 */
function json(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const copy = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) copy[i] = json(v[i]);
    return copy;
  }
  return jsonRecord(v);
}

/** z.record(z.string(), z.json()) of a value that passes the policy. */
function jsonRecord(v: unknown): Record<string, unknown> {
  const o = asObject(v);
  if (Object.getOwnPropertySymbols(o).length !== 0) throw UNDECIDED;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) out[key] = json(o[key]);
  return out;
}
