import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config/errors.js';
import { parseDuration, type Duration } from './duration.js';

/**
 * A retention schedule maps event types to retention classes. The class is fixed on each event at
 * ingest (it names the event's stream), and the class's duration fixes retain-until at sealing.
 */
export interface RetentionClass {
  name: string;
  duration: Duration;
  citation: string;
  description: string;
}

export interface RetentionRule {
  match: string;
  class: string;
}

export interface RetentionSchedule {
  classes: Map<string, RetentionClass>;
  rules: RetentionRule[];
  defaultClass: string;
  /** Where it came from: "built-in" or the file path. */
  source: string;
}

export const CLASS_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// A pattern is a dotted event type whose segments may be `*` (one segment) or end in `**`-free `*`:
// `payment.*` matches payment.created and payment.refund.issued; `user.login` matches only itself.
export const PATTERN = /^(\*|[a-z0-9_]+)(\.(\*|[a-z0-9_]+))*$/;

const fileSchema = z
  .object({
    classes: z
      .array(
        z.object({
          name: z.string().regex(CLASS_NAME, 'class names are lowercase letters, digits, "-" and "_"'),
          duration: z.string(),
          citation: z.string().min(1),
          description: z.string().optional(),
        }),
      )
      .min(1),
    rules: z.array(z.object({ match: z.string().regex(PATTERN, 'patterns look like payment.* or user.login'), class: z.string() })),
    default: z.string(),
  })
  .strict();

export type ScheduleFile = z.input<typeof fileSchema>;

/** Build a schedule from its JSON shape; throws ConfigError naming the offending entry. */
export function buildSchedule(input: unknown, source: string): RetentionSchedule {
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new ConfigError(`retention schedule ${source}: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  const classes = new Map<string, RetentionClass>();
  for (const [i, c] of parsed.data.classes.entries()) {
    if (classes.has(c.name)) throw new ConfigError(`retention schedule ${source}: classes.${i}: duplicate class ${c.name}`);
    let duration: Duration;
    try {
      duration = parseDuration(c.duration);
    } catch (e) {
      throw new ConfigError(`retention schedule ${source}: classes.${i}.duration: ${(e as Error).message}`);
    }
    classes.set(c.name, { name: c.name, duration, citation: c.citation, description: c.description ?? '' });
  }
  for (const [i, r] of parsed.data.rules.entries()) {
    if (!classes.has(r.class)) throw new ConfigError(`retention schedule ${source}: rules.${i}.class: unknown class ${r.class}`);
  }
  if (!classes.has(parsed.data.default)) {
    throw new ConfigError(`retention schedule ${source}: default: unknown class ${parsed.data.default}`);
  }
  return { classes, rules: parsed.data.rules, defaultClass: parsed.data.default, source };
}

export function loadScheduleFile(path: string): RetentionSchedule {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`WORMSEAL_RETENTION_FILE: cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`WORMSEAL_RETENTION_FILE: ${path} is not JSON: ${(e as Error).message}`);
  }
  return buildSchedule(json, path);
}

/** Does an event type match a rule pattern (`payment.*`, `user.login`)? Also used by hold scopes. */
export function matchesPattern(pattern: string, eventType: string): boolean {
  const p = pattern.split('.');
  const t = eventType.split('.');
  // A trailing `*` covers any deeper nesting (payment.* covers payment.refund.issued).
  if (p[p.length - 1] === '*' && t.length >= p.length) {
    return p.slice(0, -1).every((seg, i) => seg === '*' || seg === t[i]);
  }
  return p.length === t.length && p.every((seg, i) => seg === '*' || seg === t[i]);
}

function specificity(pattern: string): number {
  // More literal segments win; among equals, longer patterns win: user.login.failed beats user.login.* beats user.*.
  const segs = pattern.split('.');
  return segs.filter((s) => s !== '*').length * 100 + segs.length;
}

/** The class for an event type: the most specific matching rule, else the default. */
export function classify(schedule: RetentionSchedule, eventType: string): RetentionClass {
  let best: RetentionRule | undefined;
  for (const rule of schedule.rules) {
    if (matchesPattern(rule.match, eventType) && (!best || specificity(rule.match) > specificity(best.match))) best = rule;
  }
  return schedule.classes.get(best ? best.class : schedule.defaultClass)!;
}
