import { esc, num, plural, reasonLabel, reasonMeaning, when } from './html.js';
import type { HoldEntry, ProblemEntry, ReportModel, StreamTimeline, TimelineBatch, TimelineState } from './model.js';
import { STYLES } from './styles.js';

/**
 * Render a verification as one self-contained HTML page: inline CSS, no scripts, no external
 * resources (a Content-Security-Policy forbids them, should escaping ever fail), readable and
 * printable as it is. Pure: the same model gives the same bytes.
 */
export function renderReport(model: ReportModel): string {
  const s = model.summary;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${s.ok ? 'VERIFIED' : 'NOT VERIFIED'} — ${esc(model.title)}: ${esc(model.subject)}</title>
<style>${STYLES}</style>
</head>
<body>
<div class="page">
<header class="top">
  <p class="eyebrow">${esc(model.title)}</p>
  <h1 class="u">${esc(model.subject)}</h1>
  <p class="meta">Generated ${when(model.generated_at)}</p>
</header>
<main>
${summary(model)}
${streams(model)}
${holds(model.holds)}
${retention(model)}
</main>
${footer()}
</div>
</body>
</html>
`;
}

const STATES: Record<TimelineState, { icon: string; word: string }> = {
  valid: { icon: '✓', word: 'valid' },
  problem: { icon: '✗', word: 'problem' },
  absent: { icon: '∅', word: 'absent' },
  pending: { icon: '…', word: 'pending' },
  tombstoned: { icon: '†', word: 'tombstoned' },
};

function badge(state: TimelineState): string {
  const { icon, word } = STATES[state];
  return `<span class="badge st-${state}"><span class="i" aria-hidden="true">${icon}</span>${word}</span>`;
}

function summary(model: ReportModel): string {
  const s = model.summary;
  const verdictLine =
    `${num(s.batches_valid)}/${num(s.batches_checked)} batches valid` +
    (s.problem_count ? ` · ${plural(s.problem_count, 'problem')}` : ' · no problems found') +
    (s.pending_batches ? ` · ${plural(s.pending_batches, 'batch', 'batches')} pending sealing` : '');
  const stat = (label: string, value: string, warn = false) => `<div class="card${warn ? ' warn' : ''}"><dt>${label}</dt><dd>${value}</dd></div>`;
  const reasons = s.by_reason.length
    ? `<h2>Problems by reason</h2>
<div class="table-wrap"><table>
<thead><tr><th>Reason</th><th class="n">Findings</th><th>Meaning</th></tr></thead>
<tbody>${s.by_reason
        .map(
          (r) =>
            `<tr><td><span class="reason">${esc(reasonLabel(r.reason))}</span></td>` +
            `<td class="n">${num(r.count)}</td><td>${esc(reasonMeaning(r.reason))}</td></tr>`,
        )
        .join('\n')}</tbody>
</table></div>`
    : '';
  return `<section class="verdict card ${s.ok ? 'ok' : 'bad'}" aria-label="Verdict">
  <div class="icon" aria-hidden="true">${s.ok ? '✓' : '✗'}</div>
  <div><p class="word">${s.ok ? 'VERIFIED' : 'NOT VERIFIED'}</p><p class="line">${verdictLine}</p></div>
</section>
<dl class="stats">
${stat('Batches valid', `${num(s.batches_valid)}<small> / ${num(s.batches_checked)}</small>`, s.batches_valid < s.batches_checked)}
${stat('Events checked', num(s.events_checked))}
${stat('Streams', num(s.streams_checked))}
${stat('Pending sealing', num(s.pending_batches))}
${stat('Tombstoned', num(s.tombstoned_batches))}
${stat('Problems', num(s.problem_count), s.problem_count > 0)}
</dl>
${reasons}`;
}

function streams(model: ReportModel): string {
  const legend = (Object.keys(STATES) as TimelineState[]).map(badge).join(' ');
  const body = model.streams.length
    ? model.streams.map((st, i) => stream(st, `s${i + 1}`, model.retention)).join('\n')
    : '<p class="none">No streams: nothing has been sealed yet.</p>';
  const partial = model.per_batch
    ? ''
    : '<p class="card note">This verification did not list its batches one by one: the timelines show only the batches a problem names.</p>';
  return `<h2 id="streams">Streams and their chains</h2>
<div class="legend">${legend}</div>
${partial}
${body}`;
}

/** A run of this many valid (or tombstoned) batches or more collapses into one timeline row. */
const RUN = 4;
const COLLAPSIBLE: TimelineState[] = ['valid', 'tombstoned'];
/** The chain strip draws at most this many cells per stream; beyond, each cell covers several batches. */
const STRIP_CELLS = 480;

type Row = { kind: 'batch'; batch: TimelineBatch } | { kind: 'run'; batches: TimelineBatch[] };

function rows(batches: TimelineBatch[]): Row[] {
  const out: Row[] = [];
  let run: TimelineBatch[] = [];
  const flush = () => {
    if (run.length >= RUN) out.push({ kind: 'run', batches: run });
    else for (const b of run) out.push({ kind: 'batch', batch: b });
    run = [];
  };
  for (const b of batches) {
    if (run.length && run[0]!.state !== b.state) flush();
    if (COLLAPSIBLE.includes(b.state)) run.push(b);
    else {
      flush();
      out.push({ kind: 'batch', batch: b });
    }
  }
  flush();
  return out;
}

/** Whether the link into this batch cannot be trusted: drawn as a broken connector above it. */
function linkBroken(b: TimelineBatch, problems: ProblemEntry[]): boolean {
  if (b.state === 'absent') return true;
  // Numbering findings (a gap, a cut tail) name no object; chain findings name the manifest.
  return problems.some(
    (p) => p.reason === 'chain_broken' || p.reason === 'reordered' || (p.object === null && (p.reason === 'missing' || p.reason === 'truncated')),
  );
}

function stream(st: StreamTimeline, sid: string, retention: ReportModel['retention']): string {
  const cls = retention?.classes.find((c) => c.name === st.retention_class);
  const kept = cls ? `<p class="kept">Kept ${esc(cls.duration_words)} from sealing · <span class="u">${esc(cls.citation)}</span></p>` : '';
  const byId = new Map(st.problems.map((p) => [p.id, p]));
  const bad = st.batches.filter((b) => b.state === 'problem' || b.state === 'absent').length;
  const known = st.batches.filter((b) => b.state !== 'absent').length;
  const status = st.problems.length ? badge('problem') : badge('valid');
  const tableRows = rows(st.batches)
    .map((r) => (r.kind === 'run' ? runRow(r.batches, sid) : batchRow(r.batch, sid, byId)))
    .join('\n');
  const table = st.batches.length
    ? `<div class="table-wrap"><table class="timeline">
<thead><tr><th></th><th>Batch</th><th>State</th><th class="n">Events</th><th>Sealed at</th><th>Retain until</th><th>Findings</th></tr></thead>
<tbody>
${tableRows}
</tbody></table></div>`
    : '<p class="none">No batches.</p>';
  const problems = st.problems.length
    ? `<ol class="problems">${st.problems.map((p) => problemItem(p, sid)).join('\n')}</ol>`
    : '<p class="none">No problems in this stream.</p>';
  return `<article class="stream card" id="${sid}">
<header>
  <h3><span class="u">${esc(st.namespace)}</span> <span class="cls">/ <span class="u">${esc(st.retention_class)}</span></span></h3>
  <p>${plural(known, 'batch', 'batches')} · ${plural(st.events, 'event')}${bad ? ` · ${plural(bad, 'batch', 'batches')} with problems` : ''} ${status}</p>
</header>
${kept}
${strip(st.batches, sid)}
${table}
${problems}
</article>`;
}

const SEVERITY: TimelineState[] = ['valid', 'tombstoned', 'pending', 'problem', 'absent'];

function strip(batches: TimelineBatch[], sid: string): string {
  if (batches.length === 0) return '';
  const per = Math.ceil(batches.length / STRIP_CELLS);
  const cells: string[] = [];
  for (let i = 0; i < batches.length; i += per) {
    const group = batches.slice(i, i + per);
    const worst = group.reduce((w, b) => (SEVERITY.indexOf(b.state) > SEVERITY.indexOf(w) ? b.state : w), 'valid' as TimelineState);
    const first = group[0]!;
    const last = group[group.length - 1]!;
    const label = per === 1 ? `batch ${first.batch_no}: ${STATES[worst].word}` : `batches ${first.batch_no}–${last.batch_no}: ${STATES[worst].word}`;
    cells.push(`<a class="c-${worst}" href="#${sid}-b${first.batch_no}" title="${esc(label)}" aria-label="${esc(label)}"></a>`);
  }
  return `<nav class="strip" aria-label="chain of ${batches.length} batches, one cell per batch">${cells.join('')}</nav>`;
}

function batchRow(b: TimelineBatch, sid: string, byId: Map<string, ProblemEntry>): string {
  const problems = b.problem_ids.flatMap((id) => byId.get(id) ?? []);
  const classes = [b.state === 'problem' || b.state === 'absent' ? 'problem-row' : '', linkBroken(b, problems) ? 'broken' : '']
    .filter(Boolean)
    .join(' ');
  const finds = problems.map((p) => `<a class="reason" href="#${esc(p.id)}">${esc(reasonLabel(p.reason))}</a>`).join('');
  return `<tr id="${sid}-b${b.batch_no}"${classes ? ` class="${classes}"` : ''}>
<td class="chain"><span class="node st-${b.state}" aria-hidden="true">${STATES[b.state].icon}</span></td>
<td class="bno">#${num(b.batch_no)}</td><td>${badge(b.state)}</td>
<td class="n">${b.leaf_count === null ? '—' : num(b.leaf_count)}</td><td>${when(b.sealed_at)}</td><td>${when(b.retain_until)}</td>
<td><div class="finds">${finds}</div></td></tr>`;
}

function runRow(run: TimelineBatch[], sid: string): string {
  const first = run[0]!;
  const last = run[run.length - 1]!;
  const events = run.reduce((n, b) => n + (b.leaf_count ?? 0), 0);
  // A range of days reads better than two full instants; one instant stays whole.
  const day = (iso: string | null) => `<span class="d">${esc(iso?.slice(0, 10) ?? '—')}</span>`;
  const span = (a: string | null, b: string | null) => (a === b ? when(a) : a?.slice(0, 10) === b?.slice(0, 10) ? day(a) : `${day(a)} → ${day(b)}`);
  // An anchor for every batch of the run, so that strip cells and problem links still land here.
  const anchors = run.slice(1).map((b) => `<span id="${sid}-b${b.batch_no}"></span>`).join('');
  return `<tr id="${sid}-b${first.batch_no}" class="run">
<td class="chain"><span class="node st-run st-${first.state}" aria-hidden="true">⋮</span></td>
<td class="bno">#${num(first.batch_no)}–#${num(last.batch_no)}</td><td>${badge(first.state)} <small>${plural(run.length, 'batch', 'batches')}</small></td>
<td class="n">${num(events)}</td><td>${span(first.sealed_at, last.sealed_at)}</td><td>${span(first.retain_until, last.retain_until)}</td>
<td>${anchors}</td></tr>`;
}

function problemItem(p: ProblemEntry, sid: string): string {
  const where = p.batch_no === null ? 'stream' : `<a href="#${sid}-b${p.batch_no}">batch ${num(p.batch_no)}</a>`;
  return `<li id="${esc(p.id)}">
<div class="head"><span class="reason">${esc(reasonLabel(p.reason))}</span> <strong>${where}</strong></div>
<p class="detail u">${esc(p.detail)}</p>
${p.object ? `<p class="obj">object <span class="mono u">${esc(p.object)}</span></p>` : ''}
</li>`;
}

function holds(list: HoldEntry[] | null): string {
  const head = '<h2 id="holds">Legal holds</h2>';
  if (list === null) {
    return `${head}<p class="card note">No holds registry: this verification had no legal-hold data to show.</p>`;
  }
  if (list.length === 0) return `${head}<p class="card note">No legal holds have been placed.</p>`;
  const row = (h: HoldEntry) => `<tr>
<td class="u"><strong>${esc(h.matter)}</strong></td><td class="u">${esc(h.scope)}</td>
<td>${when(h.placed_at)}<br><small>by <span class="u">${esc(h.placed_by)}</span></small></td>
<td class="u">${esc(h.reason)}</td><td class="n">${num(h.batches_covered)}</td>
<td>${
    h.active
      ? '<span class="badge st-problem"><span class="i" aria-hidden="true">●</span>active</span>'
      : '<span class="badge st-tombstoned"><span class="i" aria-hidden="true">○</span>released</span>' + released(h)
  }</td></tr>`;
  const active = list.filter((h) => h.active).length;
  return `${head}<p>${plural(active, 'active hold')}, ${plural(list.length - active, 'released hold')}.</p>
<div class="table-wrap"><table>
<thead><tr><th>Matter</th><th>Scope</th><th>Placed</th><th>Reason</th><th class="n">Batches covered</th><th>Status</th></tr></thead>
<tbody>${list.map(row).join('\n')}</tbody></table></div>`;
}

function released(h: HoldEntry): string {
  if (!h.released_at) return '';
  return `<br><small>${when(h.released_at)}${h.released_by ? ` by <span class="u">${esc(h.released_by)}</span>` : ''}</small>`;
}

function retention(model: ReportModel): string {
  const head = '<h2 id="retention">Retention schedule in force</h2>';
  const r = model.retention;
  if (r === null) return `${head}<p class="card note">The retention schedule was not available to this verification.</p>`;
  const rulesOf = (cls: string) => r.rules.filter((x) => x.class === cls).map((x) => `<span class="pattern mono u">${esc(x.match)}</span>`);
  const classes = r.classes
    .map((c) => {
      const patterns = rulesOf(c.name);
      if (c.name === r.default_class) patterns.push('<em>any other event type</em>');
      return `<tr><td><span class="mono u cname">${esc(c.name)}</span>${c.description ? `<br><small class="u">${esc(c.description)}</small>` : ''}</td>
<td><strong class="t">${esc(c.duration_words)}</strong><br><small class="mono">${esc(c.duration)}</small></td><td class="u">${esc(c.citation)}</td>
<td><div class="finds">${patterns.join(' ') || '<span class="none">no rule</span>'}</div></td><td class="n">${num(c.streams)}</td></tr>`;
    })
    .join('\n');
  return `${head}<p>Source: <span class="mono u">${esc(r.source)}</span>. Each event type goes to the class of the most specific rule
that matches it, else to <span class="mono u">${esc(r.default_class)}</span>. Retain-until is fixed when a batch is sealed: it is the
sealing time plus the class's duration.</p>
<div class="table-wrap"><table>
<thead><tr><th>Class</th><th>Duration</th><th>Citation</th><th>Event types</th><th class="n">Streams</th></tr></thead>
<tbody>${classes}</tbody></table></div>`;
}

function footer(): string {
  return `<footer>
<p><strong>How to read this report.</strong> Each stream (namespace / retention class) is a chain of numbered batches; each
batch names the SHA-256 of its predecessor's manifest.</p>
<dl>
<dt>${badge('valid')}</dt><dd>both objects read back at their recorded versions, digests and Merkle root recomputed, chain link and COMPLIANCE lock checked</dd>
<dt>${badge('problem')}</dt><dd>at least one finding names this batch; the findings are listed under the stream</dd>
<dt>${badge('absent')}</dt><dd>the chain expects this batch number (or the bucket holds it) but the registry has no entry</dd>
<dt>${badge('pending')}</dt><dd>claimed but not yet sealed: a run in progress, or a crash the next run resumes</dd>
<dt>${badge('tombstoned')}</dt><dd>deleted after its retention ran out; its tombstone keeps the chain verifiable</dd>
</dl>
<p>Self-contained page: no scripts, no external resources. Generated by <span class="mono">wormseal</span>; the same
verification is available as JSON with <span class="mono">--json</span>.</p>
</footer>`;
}
