import type { Duration } from '../retention/duration.js';
import type { RetentionSchedule } from '../retention/schedule.js';
import type { VerifyReport } from '../verify/problems.js';
import type { HoldEntry, ProblemEntry, ReportModel, StreamTimeline, TimelineBatch } from './model.js';

export interface ReportInputs {
  report: VerifyReport;
  /** What was verified, in words; never a URL with credentials in it. */
  subject: string;
  generatedAt: Date;
  /** The schedule in force, when the verifier knows it. */
  schedule?: RetentionSchedule;
  /** Holds from the holds registry; null or absent when there is none to read. */
  holds?: HoldEntry[] | null;
}

/**
 * Shape a verification result into the report model. Batches named by a problem but unknown to
 * the registry (a gap, a cut tail) become `absent` entries, so the timeline shows the hole where
 * it is. Pure: the caller gathers the schedule and the holds.
 */
export function buildReportModel(input: ReportInputs): ReportModel {
  const { report } = input;
  const streams = new Map<string, StreamTimeline>();
  const streamOf = (namespace: string, retention_class: string) => {
    const key = JSON.stringify([namespace, retention_class]);
    let s = streams.get(key);
    if (!s) {
      s = { namespace, retention_class, events: 0, batches: [], problems: [] };
      streams.set(key, s);
    }
    return s;
  };
  for (const summary of report.streams ?? []) {
    const s = streamOf(summary.stream.namespace, summary.stream.retention_class);
    for (const b of summary.batches) {
      s.batches.push({ ...b, problem_ids: [] });
      if (b.state === 'valid' || b.state === 'problem') s.events += b.leaf_count;
    }
  }
  report.problems.forEach((p, i) => {
    const s = streamOf(p.stream.namespace, p.stream.retention_class);
    const entry: ProblemEntry = { id: `p${i + 1}`, batch_no: p.batch_no, object: p.object, reason: p.reason, detail: p.detail };
    s.problems.push(entry);
    if (p.batch_no === null) return;
    let b = s.batches.find((x) => x.batch_no === p.batch_no);
    if (!b) {
      // Without per-batch data every batch a problem names is unknown here, not absent.
      b = { batch_no: p.batch_no, state: report.streams ? 'absent' : 'problem', leaf_count: null, sealed_at: null, retain_until: null, problem_ids: [] };
      s.batches.push(b);
    }
    b.problem_ids.push(entry.id);
  });
  const timelines = [...streams.values()];
  for (const s of timelines) s.batches.sort((a, b) => a.batch_no - b.batch_no);

  const counts = new Map<string, number>();
  for (const p of report.problems) counts.set(p.reason, (counts.get(p.reason) ?? 0) + 1);
  const allBatches: TimelineBatch[] = timelines.flatMap((s) => s.batches);
  return {
    title: 'wormseal verification report',
    subject: input.subject,
    generated_at: input.generatedAt.toISOString(),
    summary: {
      ok: report.ok,
      batches_checked: report.batches_checked,
      batches_valid: report.batches_valid,
      events_checked: report.events_checked,
      streams_checked: report.streams_checked,
      pending_batches: report.pending_batches,
      tombstoned_batches: allBatches.filter((b) => b.state === 'tombstoned').length,
      problem_count: report.problems.length,
      by_reason: [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    },
    streams: timelines,
    per_batch: report.streams !== undefined,
    holds: input.holds ?? null,
    retention: input.schedule ? retentionSection(input.schedule, timelines) : null,
  };
}

function retentionSection(schedule: RetentionSchedule, streams: StreamTimeline[]): ReportModel['retention'] {
  return {
    source: schedule.source,
    default_class: schedule.defaultClass,
    classes: [...schedule.classes.values()].map((c) => ({
      name: c.name,
      duration: c.duration.text,
      duration_words: durationWords(c.duration),
      citation: c.citation,
      description: c.description,
      streams: streams.filter((s) => s.retention_class === c.name).length,
    })),
    rules: schedule.rules.map((r) => ({ match: r.match, class: r.class })),
  };
}

/** "7 years", "1 year 6 months", "90 days", "3 seconds". */
export function durationWords(d: Duration): string {
  const parts: string[] = [];
  const add = (n: number, unit: string) => {
    if (n) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  };
  add(d.years, 'year');
  add(d.months, 'month');
  add(d.days, 'day');
  const h = Math.floor(d.seconds / 3600);
  const m = Math.floor((d.seconds % 3600) / 60);
  add(h, 'hour');
  add(m, 'minute');
  add(Math.round((d.seconds % 60) * 1000) / 1000, 'second');
  return parts.join(' ') || '0 seconds';
}
