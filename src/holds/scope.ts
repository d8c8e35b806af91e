import { NAMESPACE } from '../events/schema.js';
import { matchesPattern, PATTERN } from '../retention/schedule.js';
import { bloomMayContain } from './bloom.js';
import { resourceKey, type BatchIndex } from './keyindex.js';

/**
 * What a legal hold covers. Every given criterion must hold for an event to match; an absent one
 * matches everything. Stored as jsonb in wormseal.holds and carried in the legal_hold.* events.
 */
export interface HoldScope {
  namespace?: string;
  /** occurred_at >= from (RFC 3339 instant, UTC). */
  from?: string;
  /** occurred_at <= to (inclusive). */
  to?: string;
  actor?: string;
  resource?: { type: string; id: string };
  subject?: string;
  /** Event-type pattern, as in retention rules: payment.*, user.login. */
  event_type?: string;
}

export class ScopeError extends Error {
  override name = 'ScopeError';
}

export interface ScopeInput {
  namespace?: string;
  from?: string;
  to?: string;
  actor?: string;
  resource?: string;
  subject?: string;
  eventType?: string;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

function instant(option: string, text: string, endOfDay: boolean): string {
  // A bare date means the whole day: from its first instant, to its last.
  const iso = DATE_ONLY.test(text) ? `${text}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : text;
  const t = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(iso) || Number.isNaN(t)) {
    throw new ScopeError(`${option}: not a date (2026-03-01) or RFC 3339 instant with offset (2026-03-01T12:00:00Z): ${JSON.stringify(text)}`);
  }
  return new Date(t).toISOString();
}

/**
 * Parse the CLI's scope options (`hold place`, and `export`'s selection, which may be empty: the
 * whole archive); throws ScopeError naming the option.
 */
export function parseScope(input: ScopeInput, opts: { allowEmpty?: boolean } = {}): HoldScope {
  const scope: HoldScope = {};
  if (input.namespace !== undefined) {
    if (!NAMESPACE.test(input.namespace)) throw new ScopeError(`--namespace: not a namespace: ${JSON.stringify(input.namespace)}`);
    scope.namespace = input.namespace;
  }
  if (input.from !== undefined) scope.from = instant('--from', input.from, false);
  if (input.to !== undefined) scope.to = instant('--to', input.to, true);
  if (scope.from && scope.to && scope.from > scope.to) throw new ScopeError(`--from ${scope.from} is after --to ${scope.to}`);
  for (const [option, v] of [
    ['--actor', input.actor],
    ['--subject', input.subject],
  ] as const) {
    if (v !== undefined && (v === '' || v.includes('\u0000'))) throw new ScopeError(`${option}: must be a non-empty id`);
  }
  if (input.actor !== undefined) scope.actor = input.actor;
  if (input.subject !== undefined) scope.subject = input.subject;
  if (input.resource !== undefined) {
    const i = input.resource.indexOf(':');
    if (i <= 0 || i === input.resource.length - 1) throw new ScopeError(`--resource: expected TYPE:ID (e.g. payment:pay_1), got ${JSON.stringify(input.resource)}`);
    scope.resource = { type: input.resource.slice(0, i), id: input.resource.slice(i + 1) };
  }
  if (input.eventType !== undefined) {
    if (!PATTERN.test(input.eventType)) throw new ScopeError(`--event-type: patterns look like payment.* or user.login, got ${JSON.stringify(input.eventType)}`);
    scope.event_type = input.eventType;
  }
  if (Object.keys(scope).length === 0 && !opts.allowEmpty) {
    throw new ScopeError('a hold needs a scope: at least one of --namespace, --from, --to, --actor, --resource, --subject, --event-type');
  }
  return scope;
}

/** A short human description of a scope, for listings. */
export function describeScope(s: HoldScope): string {
  const parts: string[] = [];
  if (s.namespace) parts.push(`namespace=${s.namespace}`);
  if (s.from) parts.push(`from=${s.from}`);
  if (s.to) parts.push(`to=${s.to}`);
  if (s.actor) parts.push(`actor=${s.actor}`);
  if (s.resource) parts.push(`resource=${s.resource.type}:${s.resource.id}`);
  if (s.subject) parts.push(`subject=${s.subject}`);
  if (s.event_type) parts.push(`event_type=${s.event_type}`);
  return parts.join(' ');
}

/**
 * Can a batch of `namespace` with this index hold an event matching the scope? Never false for a
 * batch that does (no misses); may be true for one that does not (Bloom false positives, and
 * criteria met by different events of the batch). The time range compares with one millisecond
 * of slack because the index keeps milliseconds and Postgres keeps microseconds.
 */
export function scopeMayMatch(scope: HoldScope, namespace: string, idx: BatchIndex): boolean {
  if (scope.namespace !== undefined && scope.namespace !== namespace) return false;
  if (scope.from !== undefined && idx.occurred_max.getTime() + 1 < Date.parse(scope.from)) return false;
  if (scope.to !== undefined && idx.occurred_min.getTime() > Date.parse(scope.to)) return false;
  if (scope.event_type !== undefined && !idx.event_types.some((t) => matchesPattern(scope.event_type!, t))) return false;
  if (scope.actor !== undefined && !(idx.actors && bloomMayContain(idx.actors, scope.actor))) return false;
  if (scope.resource !== undefined && !(idx.resources && bloomMayContain(idx.resources, resourceKey(scope.resource.type, scope.resource.id)))) {
    return false;
  }
  if (scope.subject !== undefined && !(idx.subjects && bloomMayContain(idx.subjects, scope.subject))) return false;
  return true;
}
