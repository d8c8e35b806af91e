import { randomUUID } from 'node:crypto';
import type { Clock } from '../config/clock.js';
import { classify, type RetentionClass, type RetentionSchedule } from '../retention/schedule.js';
import { canonicalize, checkEventJson, CanonicalError } from './canonical.js';
import { fastParseEvent } from './fastparse.js';
import { parseJson, JsonSyntaxError } from './json.js';
import { EVENT_FORMAT_VERSION, eventInputSchema, type SealedEventRecord, type ValidEvent } from './schema.js';

/** An event refused at ingest: `field` is a dotted path ('' for the whole record). */
export class EventRejectedError extends Error {
  override name = 'EventRejectedError';
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${field}: ${detail}` : detail);
  }
}

/**
 * A validated event ready to insert: the columns cut from it, and its canonical JSON as text with
 * the length of its UTF-8 bytes (the bytes stored and hashed). Ingest writes the text straight
 * into the COPY rows: a Buffer per event, then a copy of it, were a twentieth of ingest's time,
 * and the Buffers' memory was the largest source of page faults.
 */
export interface PreparedEvent {
  record: SealedEventRecord;
  /** canonicalize(record): RFC 8785 text. */
  canonical: string;
  /** Buffer.byteLength(canonical): the size of the stored bytes. */
  byteLength: number;
}

/** The canonical bytes of a prepared event (a fresh Buffer each call). */
export function preparedBytes(ev: PreparedEvent): Buffer {
  return Buffer.from(ev.canonical, 'utf8');
}

export interface PrepareOptions {
  clock: Clock;
  schedule: RetentionSchedule;
  maxEventBytes: number;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

// classify() matches every rule's pattern; a service emits a handful of event types, so remember
// the answer per schedule (bounded: a flood of distinct types must not grow memory without end).
const classCache = new WeakMap<RetentionSchedule, Map<string, RetentionClass>>();
const CLASS_CACHE_MAX = 10_000;

function classOf(schedule: RetentionSchedule, eventType: string): RetentionClass {
  let cache = classCache.get(schedule);
  if (!cache) classCache.set(schedule, (cache = new Map()));
  let cls = cache.get(eventType);
  if (!cls) {
    cls = classify(schedule, eventType);
    if (cache.size >= CLASS_CACHE_MAX) cache.clear();
    cache.set(eventType, cls);
  }
  return cls;
}

/** The reference validation, and the source of every error message. */
function checkAndParse(input: object): ValidEvent {
  try {
    checkEventJson(input);
  } catch (e) {
    if (e instanceof CanonicalError) throw new EventRejectedError(e.path, e.reason);
    throw e;
  }
  const parsed = eventInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EventRejectedError(formatPath(issue.path), issue.message);
  }
  return parsed.data;
}

/** Validate one event given as JSON text (one NDJSON line). */
export function prepareEventText(line: string, opts: PrepareOptions): PreparedEvent {
  let value: unknown;
  try {
    value = parseJson(line);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new EventRejectedError(e.path, `malformed JSON at character ${e.position + 1}: ${e.message}`);
    }
    throw e;
  }
  return prepareEvent(value, opts);
}

/**
 * Validate one event and produce its canonical bytes (DESIGN 1). The JSON-level policy runs before
 * the schema (and in the fast path before it copies a payload) so that `__proto__` keys and unsafe
 * integers are refused before any object is built from them. Throws EventRejectedError naming the
 * field.
 */
export function prepareEvent(input: unknown, opts: PrepareOptions): PreparedEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EventRejectedError('', 'an event must be a JSON object');
  }
  if ('recorded_at' in input) throw new EventRejectedError('recorded_at', 'is set by the server at ingest; do not send it');
  if ('retention_class' in input) {
    throw new EventRejectedError('retention_class', 'is assigned by the retention schedule; do not send it');
  }
  if ('v' in input) throw new EventRejectedError('v', 'is the format version set by the server; do not send it');
  // The output (the fast path's or zod's) is a fresh object that nothing else holds: complete it
  // in place rather than copy its dozen members into another one.
  const record = (fastParseEvent(input) ?? checkAndParse(input)) as SealedEventRecord;
  record.v = EVENT_FORMAT_VERSION;
  record.event_id = (record.event_id ?? randomUUID()).toLowerCase();
  record.recorded_at = opts.clock.now().toISOString();
  record.retention_class = classOf(opts.schedule, record.event_type).name;
  const canonical = canonicalize(record);
  const byteLength = Buffer.byteLength(canonical, 'utf8');
  if (byteLength > opts.maxEventBytes) {
    throw new EventRejectedError('', `event is ${byteLength} bytes canonical, over the ${opts.maxEventBytes}-byte limit`);
  }
  return { record, canonical, byteLength };
}
