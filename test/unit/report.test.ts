import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/cli/progress.js';
import { buildReportModel, durationWords } from '../../src/report/build.js';
import { esc } from '../../src/report/html.js';
import type { HoldEntry, ReportModel } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { parseDuration } from '../../src/retention/duration.js';
import { buildSchedule } from '../../src/retention/schedule.js';
import { builtinSchedule } from '../../src/retention/builtin.js';
import type { VerifyReport } from '../../src/verify/problems.js';
import { fixtureReport } from '../fixtures/verify-report.js';

const at = new Date('2026-11-23T11:30:00.000Z');
const model = (report: VerifyReport = fixtureReport(), extra: Partial<Parameters<typeof buildReportModel>[0]> = {}) =>
  buildReportModel({ report, subject: 's3://audit-archive · database audit on db.internal', generatedAt: at, schedule: builtinSchedule(), ...extra });

/** Visible text of a rendered page: style and tags out, entities decoded, whitespace folded. */
function text(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

const HOSTILE = {
  tag: '<script>alert(1)</script>',
  attr: '"><img src=x onerror=alert(2)>',
  style: '</style><style>body{display:none}</style>',
  single: "' onmouseover='alert(3)",
  bidi: 'billing\u202egnp.exe',
};

function hostileModel(): ReportModel {
  const report = fixtureReport();
  report.problems[0]!.detail = `${HOSTILE.tag} ${HOSTILE.style}`;
  report.problems[0]!.object = HOSTILE.attr;
  report.streams![1]!.stream.namespace = HOSTILE.bidi;
  report.problems[1]!.stream.namespace = HOSTILE.bidi;
  const schedule = buildSchedule(
    { classes: [{ name: 'sox-7y', duration: 'P7Y', citation: HOSTILE.single, description: HOSTILE.tag }], rules: [], default: 'sox-7y' },
    HOSTILE.attr,
  );
  const hold: HoldEntry = {
    matter: HOSTILE.tag,
    scope: HOSTILE.style,
    placed_at: '2026-04-02T10:00:00Z',
    placed_by: HOSTILE.single,
    reason: HOSTILE.attr,
    batches_covered: 3,
    active: true,
    released_at: null,
    released_by: null,
  };
  return model(report, { schedule, holds: [hold], subject: HOSTILE.attr });
}

describe('HTML report', () => {
  it('states the verdict and the counts in the summary', () => {
    const t = text(renderReport(model()));
    expect(t).toContain('NOT VERIFIED 41/42 batches valid · 2 problems · 1 batch pending sealing');
    expect(t).toMatch(/Batches valid 41 \/ 42 Events checked 42,553 Streams 2 Pending sealing 1 Tombstoned 0 Problems 2/);
    expect(t).toMatch(/content changed 1 bytes differ from what was sealed/);
    expect(t).toMatch(/missing 1 an object version, batch or hot row that must exist does not/);
  });

  it('says VERIFIED, and nothing about problems, for a clean verification', () => {
    const clean = fixtureReport();
    clean.problems = [];
    clean.ok = true;
    clean.batches_valid = clean.batches_checked;
    for (const s of clean.streams!) for (const b of s.batches) if (b.state === 'problem') b.state = 'valid';
    const html = renderReport(model(clean));
    expect(text(html)).toContain('VERIFIED 42/42 batches valid · no problems found');
    expect(html).not.toContain('NOT VERIFIED');
    expect(html).toContain('<title>VERIFIED');
    expect(html).not.toContain('Problems by reason');
  });

  it('marks the problem on its batch, collapses valid runs, and shows a gap where the registry lost a batch', () => {
    const html = renderReport(model());
    // billing: batches 1–16 valid, 17 with the finding (linked), 18–30 valid.
    expect(html).toMatch(/<tr id="s1-b1" class="run">[\s\S]*?#1–#16/);
    expect(html).toMatch(/<tr id="s1-b17" class="problem-row">[\s\S]*?<a class="reason" href="#p1">content changed<\/a>/);
    expect(html).toMatch(/<li id="p1">[\s\S]*?<a href="#s1-b17">batch 17<\/a>[\s\S]*?00000000000000000017\/data\.ndjson\.gz/);
    // Strip cells of a collapsed run still land on an anchor.
    expect(html).toContain('<span id="s1-b9"></span>');
    expect(html).toContain('href="#s1-b9"');
    // identity: batch 3 absent, drawn as a broken link; batch 14 pending.
    expect(html).toMatch(/<tr id="s2-b3" class="problem-row broken">[\s\S]*?absent/);
    expect(html).toMatch(/<tr id="s2-b14">[\s\S]*?st-pending/);
    expect(text(html)).toMatch(/identity \/ soc2-1y 13 batches · 12,088 events · 1 batch with problems/);
    expect(text(html)).toContain('Kept 1 year from sealing · SOC 2 CC7.2 (AICPA TSC)');
  });

  it('counts tombstoned batches and folds a run of them into one row', () => {
    const report = fixtureReport();
    for (const b of report.streams![0]!.batches.slice(0, 5)) b.state = 'tombstoned';
    const html = renderReport(model(report));
    expect(text(html)).toMatch(/Tombstoned 5 /);
    expect(html).toMatch(/<tr id="s1-b1" class="run">[\s\S]*?#1–#5<\/td><td><span class="badge st-tombstoned">/);
    expect(html).toMatch(/<tr id="s1-b6" class="run">[\s\S]*?#6–#16/);
  });

  it('escapes every string from the data: no markup, no attribute break-out, no bidi spoofing', () => {
    const html = renderReport(hostileModel());
    expect(html).not.toMatch(/<(script|img|iframe)\b/i);
    expect(html).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i); // no event-handler attribute in any tag
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    expect(html).not.toContain('\u202e');
    expect(html).toContain('billing\\u202egnp.exe');
    const t = text(html);
    // Each hostile string is shown, as text, where it belongs.
    for (const s of [HOSTILE.tag, HOSTILE.attr, HOSTILE.style, HOSTILE.single]) expect(t).toContain(s);
    // And a Content-Security-Policy forbids scripts and external loads should escaping ever fail.
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('esc covers text and both attribute quotes, and makes invisible characters visible', () => {
    expect(esc(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(esc('a\u0000b\u200fc\u2066d\nline')).toBe('a\\u0000b\\u200fc\\u2066d\nline');
  });

  it('shows "no holds registry" when there is none, and the holds when there are', () => {
    expect(text(renderReport(model()))).toContain('No holds registry');
    expect(text(renderReport(model(fixtureReport(), { holds: [] })))).toContain('No legal holds have been placed.');
    const hold: HoldEntry = {
      matter: 'MAT-2026-014',
      scope: 'namespace billing, 2026-01-01 → 2026-06-30',
      placed_at: '2026-04-02T10:00:00.000Z',
      placed_by: 'legal@firm',
      reason: 'litigation',
      batches_covered: 12,
      active: false,
      released_at: '2026-05-01T00:00:00.000Z',
      released_by: 'gc@firm',
    };
    const t = text(renderReport(model(fixtureReport(), { holds: [hold] })));
    expect(t).toContain('0 active holds, 1 released hold.');
    expect(t).toMatch(/MAT-2026-014 namespace billing, 2026-01-01 → 2026-06-30 2026-04-02 10:00:00 UTC by legal@firm litigation 12 ○ released 2026-05-01 00:00:00 UTC by gc@firm/);
  });

  it('lists the retention schedule in force: classes, durations, citations, rules and streams per class', () => {
    const t = text(renderReport(model()));
    expect(t).toContain('Source: built-in');
    expect(t).toMatch(/sox-7y Financial records and controls evidence 7 years P7Y SOX § 802 \(18 U\.S\.C\. § 1519\); 17 CFR 210\.2-06 payment\.\* invoice\.\* ledger\.\* journal\.\* 1/);
    expect(t).toMatch(/default-7y Events no rule classifies 7 years P7Y wormseal default: [^·]*? any other event type 0/);
    expect(text(renderReport(model(fixtureReport(), { schedule: undefined })))).toContain('The retention schedule was not available');
  });

  it('without per-batch data, still places each problem on its batch', () => {
    const report = fixtureReport();
    delete report.streams;
    const m = model(report);
    expect(m.per_batch).toBe(false);
    expect(m.streams.map((s) => s.batches.map((b) => [b.batch_no, b.state]))).toEqual([[[17, 'problem']], [[3, 'problem']]]);
    expect(text(renderReport(m))).toContain('did not list its batches one by one');
  });

  it('renders the same model to the same bytes', () => {
    expect(renderReport(model())).toBe(renderReport(model()));
  });
});

describe('durations in words', () => {
  it.each([
    ['P7Y', '7 years'],
    ['P1Y6M', '1 year 6 months'],
    ['P2W', '14 days'],
    ['PT3S', '3 seconds'],
    ['PT1H30M', '1 hour 30 minutes'],
  ])('%s is %s', (iso, words) => expect(durationWords(parseDuration(iso))).toBe(words));
});

describe('progress line', () => {
  const base = { label: 'verify', unit: 'batches', columns: 100 };
  it('shows the bar, percentage, counts, rate and ETA', () => {
    const line = formatProgress({ ...base, done: 40, total: 60, elapsedMs: 4000 });
    expect(line).toBe(`verify ${'█'.repeat(27)}${'░'.repeat(13)} 66% 40/60 batches · 10.0/s · ETA 0:02`);
  });
  it('says how long it took once done, and never exceeds the terminal width', () => {
    expect(formatProgress({ ...base, done: 60, total: 60, elapsedMs: 75_000 })).toMatch(/█{40} 100% 60\/60 batches · in 1:15$/);
    for (const columns of [20, 40, 60, 100, 200]) {
      expect(formatProgress({ ...base, columns, done: 3, total: 7000, elapsedMs: 1000 }).length).toBeLessThan(columns);
    }
    expect(formatProgress({ ...base, done: 0, total: 5, elapsedMs: 0 })).toContain('ETA --:--');
  });
});
