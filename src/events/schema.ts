import { z } from 'zod';

/**
 * The audit event as a client submits it (snake_case, one schema for the library and the CLI).
 * recorded_at, retention_class and the format version are added by wormseal at ingest.
 */

// Strings that also go into indexed text columns: Postgres text cannot hold NUL.
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
// Namespaces become part of object keys: keep them to safe, lowercase path segments.
export const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parse an RFC 3339 timestamp with an explicit offset and return it in UTC, keeping the given
 * fractional digits (Postgres stores microseconds, so at most 6). Impossible dates (02-30, 24:00)
 * are refused rather than rolled over as Date.parse would.
 */
export function normalizeTimestamp(s: string): string | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const se = Number(m[6]);
  if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59) return undefined;
  if (d < 1 || d > daysInMonth(y, mo)) return undefined;
  const frac = m[7] ? '.' + m[7] : '';
  const off = m[8]!;
  // Already UTC (nearly every event): the zero-padded digits stand as given, no Date needed; with
  // upper-case T and Z the input is its own normal form.
  if (off === 'Z' || off === 'z') {
    return off === 'Z' && s[10] === 'T' ? s : `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac}Z`;
  }
  const oh = Number(off.slice(1, 3));
  const om = Number(off.slice(4, 6));
  if (oh > 23 || om > 59) return undefined;
  const offsetMin = (off[0] === '-' ? -1 : 1) * (oh * 60 + om);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, se, 0);
  const utc = new Date(t.getTime() - offsetMin * 60_000);
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return undefined;
  return utc.toISOString().slice(0, 19) + frac + 'Z';
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in month `mo` (1-12) of year `y` in the proleptic Gregorian calendar. */
function daysInMonth(y: number, mo: number): number {
  if (mo !== 2) return MONTH_DAYS[mo - 1]!;
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
}

const timestamp = z.string().transform((s, ctx) => {
  const n = normalizeTimestamp(s);
  if (n === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid RFC 3339 timestamp with offset (e.g. 2026-03-01T12:00:00Z): ${JSON.stringify(s).slice(0, 60)}`,
    });
    return z.NEVER;
  }
  return n;
});

const json = z.json();

export const actorSchema = z
  .object({
    id: text(256),
    type: z.enum(['user', 'service', 'admin', 'system']),
    role: text(128).optional(),
    email: z.email().max(320).optional(),
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    user_agent: z.string().max(1024).optional(),
    session_id: text(256).optional(),
  })
  .strict();

export const resourceSchema = z
  .object({
    type: text(128),
    id: text(256),
    name: z.string().max(1024).optional(),
  })
  .strict();

export const eventInputSchema = z
  .object({
    event_id: z.uuid().optional(),
    namespace: z.string().regex(NAMESPACE, 'lowercase letters, digits, "-" and "_", at most 63, e.g. billing'),
    event_type: z
      .string()
      .max(128)
      .regex(EVENT_TYPE, 'must be lowercase resource.action, dot-separated (e.g. payment.created, ofac.screen.cleared)'),
    occurred_at: timestamp,
    actor: actorSchema,
    resource: resourceSchema.optional(),
    subject_id: text(256).optional(),
    outcome: z.enum(['success', 'failure', 'denied']),
    failure_reason: z.string().max(4096).optional(),
    reason: z.string().max(4096).optional(),
    correlation_id: text(256).optional(),
    request_id: text(256).optional(),
    source_system: text(256).optional(),
    data_classification: z.enum(['public', 'internal', 'confidential', 'restricted']).optional(),
    changes: z
      .object({
        before: json.optional(),
        after: json.optional(),
        fields: z.array(z.string().max(256)).optional(),
      })
      .strict()
      .optional(),
    data: z.record(z.string(), json).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.outcome === 'failure' && !e.failure_reason) {
      ctx.addIssue({ code: 'custom', path: ['failure_reason'], message: 'required when outcome is "failure"' });
    }
  });

export type EventInput = z.input<typeof eventInputSchema>;
export type ValidEvent = z.output<typeof eventInputSchema>;

/** The current canonical form. Bumped only with a new docs/FORMAT.md section. */
export const EVENT_FORMAT_VERSION = 1;

/** What is canonicalized and stored: the validated event plus the server's fields. */
export interface SealedEventRecord extends ValidEvent {
  v: typeof EVENT_FORMAT_VERSION;
  event_id: string;
  recorded_at: string;
  retention_class: string;
}
