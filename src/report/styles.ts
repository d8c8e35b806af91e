/**
 * The report's only stylesheet, inlined into the page. Status colours are from the Okabe–Ito
 * palette (distinguishable with the common colour-vision deficiencies), and every status also
 * carries an icon, a word and, in the chain strip, a fill pattern — colour is never the only cue.
 */
export const STYLES = `
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --paper: #fff; --wash: #f6f8fa;
  --valid: #0072b2; --valid-bg: #e6f1f8; --valid-ink: #005183;
  --problem: #d55e00; --problem-bg: #fbece2; --problem-ink: #9a4400;
  --pending: #e69f00; --pending-bg: #fdf4e0; --pending-ink: #7a5400;
  --tomb: #6e7781; --tomb-bg: #eef0f2; --tomb-ink: #424a53;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; background: var(--wash); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
  font-variant-numeric: tabular-nums;
}
.page { max-width: 1120px; margin: 0 auto; padding: 32px 28px 48px; }
.u { unicode-bidi: isolate; }
.mono { font-family: var(--mono); font-size: 0.86em; overflow-wrap: anywhere; }
a { color: var(--valid-ink); }
h1, h2, h3 { line-height: 1.25; margin: 0; }
h2 { font-size: 1.25rem; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.08rem; }
.eyebrow { text-transform: uppercase; letter-spacing: 0.08em; font-size: 0.78rem; color: var(--muted); margin: 0 0 4px; font-weight: 600; }
header.top h1 { font-size: 1.45rem; font-weight: 650; overflow-wrap: anywhere; }
header.top .meta { color: var(--muted); margin: 6px 0 0; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; }

.verdict { display: flex; gap: 20px; align-items: center; margin: 24px 0 16px; padding: 20px 24px; border-left-width: 10px; }
.verdict.ok { border-color: var(--valid); background: var(--valid-bg); }
.verdict.bad { border-color: var(--problem); background: var(--problem-bg); }
.verdict .icon { flex: none; width: 56px; height: 56px; border-radius: 50%; display: grid; place-items: center;
  font-size: 30px; font-weight: 700; color: #fff; }
.verdict.ok .icon { background: var(--valid); }
.verdict.bad .icon { background: var(--problem); }
.verdict .word { font-size: 1.6rem; font-weight: 750; letter-spacing: 0.02em; margin: 0; }
.verdict.ok .word { color: var(--valid-ink); }
.verdict.bad .word { color: var(--problem-ink); }
.verdict .line { margin: 2px 0 0; font-size: 1.05rem; }

.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0; }
.stats > div { padding: 12px 16px; display: flex; flex-direction: column; justify-content: space-between; }
.stats dt { color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.05em; font-weight: 600; }
.stats dd { margin: 2px 0 0; font-size: 1.45rem; font-weight: 650; }
.stats dd small { font-size: 0.8rem; font-weight: 400; color: var(--muted); }
.stats .warn dd { color: var(--problem-ink); }

table { width: 100%; border-collapse: collapse; background: var(--paper); }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); font-weight: 600; background: var(--wash); }
td.n, th.n { text-align: right; }
.table-wrap { border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.table-wrap table tr:last-child td { border-bottom: 0; }

.badge { display: inline-flex; gap: 5px; align-items: center; padding: 1px 9px 1px 7px; border-radius: 999px;
  border: 1px solid; font-size: 0.82rem; font-weight: 600; white-space: nowrap; }
.badge .i { font-weight: 700; }
.st-valid { color: var(--valid-ink); background: var(--valid-bg); border-color: var(--valid); }
.st-problem, .st-absent { color: var(--problem-ink); background: var(--problem-bg); border-color: var(--problem); }
.st-absent { border-style: dashed; }
.st-pending { color: var(--pending-ink); background: var(--pending-bg); border-color: var(--pending); }
.st-tombstoned { color: var(--tomb-ink); background: var(--tomb-bg); border-color: var(--tomb); }
.reason { font-family: var(--mono); font-size: 0.8rem; color: var(--problem-ink); background: var(--problem-bg);
  border: 1px solid var(--problem); border-radius: 4px; padding: 0 6px; white-space: nowrap; text-decoration: none; }

.legend::before { content: "Legend"; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 0 0 16px; color: var(--muted); font-size: 0.9rem; }
.stream { margin: 0 0 24px; padding: 18px 20px 8px; break-inside: avoid-page; }
.stream > header { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 6px 16px; align-items: baseline; }
.stream > header p { margin: 0; color: var(--muted); }
.stream .kept { margin: 2px 0 0; color: var(--muted); font-size: 0.9rem; }
.stream h3 .cls { color: var(--muted); font-weight: 500; }

.strip { display: flex; flex-wrap: wrap; gap: 3px; margin: 14px 0 16px; }
.strip a { display: block; width: 16px; height: 22px; border-radius: 3px; border: 1px solid; }
.strip .c-valid { background: var(--valid); border-color: var(--valid); }
.strip .c-problem { border-color: var(--problem);
  background: repeating-linear-gradient(45deg, var(--problem) 0 3px, var(--problem-bg) 3px 6px); }
.strip .c-absent { border: 2px dashed var(--problem); background: var(--paper); }
.strip .c-pending { border-color: var(--pending);
  background: repeating-linear-gradient(90deg, var(--pending) 0 2px, var(--pending-bg) 2px 5px); }
.strip .c-tombstoned { border-color: var(--tomb); background: var(--tomb-bg); }

table.timeline td { vertical-align: middle; }
table.timeline td.chain { position: relative; width: 44px; padding: 0; }
table.timeline td.chain::before { content: ""; position: absolute; left: 21px; top: 0; bottom: 0; border-left: 3px solid #8c959f; }
table.timeline tr:first-child td.chain::before { top: 50%; }
table.timeline tr:last-child td.chain::before { bottom: 50%; }
table.timeline tr.broken td.chain::before { border-left: 3px dotted var(--problem); }
.node { position: relative; z-index: 1; display: grid; place-items: center; width: 24px; height: 24px; margin: 0 auto 0 11px;
  border-radius: 50%; border: 2px solid; font-size: 13px; font-weight: 700; background: var(--paper); }
.node.st-valid { background: var(--valid); color: #fff; }
.node.st-problem { background: var(--problem); color: #fff; }
.node.st-run { border-style: double; border-width: 4px; }
.node.st-run.st-valid { color: var(--valid-ink); background: var(--valid-bg); }
table.timeline tr.problem-row td { background: #fff6ef; }
table.timeline .bno { font-weight: 650; white-space: nowrap; }
.finds { display: flex; flex-wrap: wrap; gap: 4px; }
.finds .reason { white-space: normal; }

ol.problems { margin: 12px 0 12px; padding: 0; list-style: none; counter-reset: none; }
ol.problems li { margin: 0 0 8px; padding: 10px 14px; border: 1px solid var(--line); border-left: 4px solid var(--problem);
  border-radius: 6px; background: var(--paper); break-inside: avoid; }
ol.problems li:target { outline: 3px solid var(--valid); }
ol.problems .head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
ol.problems .detail { margin: 4px 0 0; }
ol.problems .obj { margin: 2px 0 0; color: var(--muted); }
.d, .t { white-space: nowrap; }
.cname { white-space: nowrap; font-weight: 600; }
.pattern { background: var(--wash); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; white-space: nowrap; }
.none { color: var(--muted); font-style: italic; margin: 8px 0; }
.note { padding: 12px 16px; color: var(--muted); }

footer { margin-top: 44px; padding-top: 14px; border-top: 1px solid var(--line); color: var(--muted); font-size: 0.88rem; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 8px 0 12px; }
footer dt { font-weight: 600; }
footer dd { margin: 0; }

@media print {
  body { background: #fff; font-size: 10.5pt; }
  .page { max-width: none; padding: 0; }
  .card, .table-wrap { border-color: #bbb; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  tr, .stats > div { break-inside: avoid; }
  .stats { grid-template-columns: repeat(6, 1fr); gap: 6px; }
  .stats > div { padding: 8px 10px; }
}
@page { margin: 14mm 12mm; }
`;
