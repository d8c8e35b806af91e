/** What a scenario hands back, and how the benchmark prints it. */

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** A figure measured in the same run that this one is compared with. */
  baseline?: { name: string; value: number };
  /** Whether a larger value is better (rates) or a smaller one (latencies, memory). */
  better?: 'higher' | 'lower';
  /** The target, e.g. { op: '>=', value: 100000 } (on value, or on the ratio when onRatio). */
  target?: { op: '>=' | '<='; value: number; onRatio?: boolean };
}

export interface ScenarioResult {
  figures: Figure[];
  /** Keys for the final JSON line. */
  json: Record<string, number | null>;
  /** Free text lines (e.g. the per-stage split). */
  notes: string[];
}

/** Thrown when what a benchmark sealed, ingested or verified is not valid: the run exits non-zero. */
export class BenchFailure extends Error {
  override name = 'BenchFailure';
}

export function check(cond: boolean, what: string): void {
  if (!cond) throw new BenchFailure(what);
}

const fmt = (v: number) =>
  Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);

export function met(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  const x = f.target.onRatio ? (f.baseline ? f.value / f.baseline.value : NaN) : f.value;
  return f.target.op === '>=' ? x >= f.target.value : x <= f.target.value;
}

export function formatFigure(f: Figure): string {
  let line = `  ${f.name.padEnd(44)} ${fmt(f.value).padStart(12)} ${f.unit}`;
  if (f.baseline) {
    line += `   vs ${f.baseline.name} ${fmt(f.baseline.value)}: ${(f.value / f.baseline.value).toFixed(2)}x`;
  }
  if (f.target) {
    line += `   [target ${f.target.onRatio ? 'ratio ' : ''}${f.target.op} ${fmt(f.target.value)}: ${met(f) ? 'met' : 'NOT met'}]`;
  }
  return line;
}

export function rate(events: number, ms: number): number {
  return events / (ms / 1000);
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
