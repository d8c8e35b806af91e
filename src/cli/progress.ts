/**
 * Progress bars on stderr for long runs (verify, export, verify-bundle). Drawn only when stderr is
 * a terminal; pipes, CI logs and cron mail get nothing, so they never fill with carriage returns.
 */

export interface Progress {
  /** Record progress. Redraws at most ten times a second, and always when done reaches total. */
  update(done: number, total: number): void;
  /** End the bar's line, if one was drawn. Call it in a finally, so an error starts on a new line. */
  done(): void;
}

export interface ProgressOptions {
  /** Draw at all. Usually `progressWanted()`. */
  enabled: boolean;
  /** What is counted: "batches", "objects". */
  unit: string;
  out?: NodeJS.WriteStream;
  now?: () => number;
}

const REDRAW_MS = 100;

/** A terminal that understands carriage returns and erase-line is on stderr. */
export function progressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

export function createProgress(label: string, opts: ProgressOptions): Progress {
  const out = opts.out ?? process.stderr;
  const now = opts.now ?? Date.now;
  const start = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      if (!opts.enabled) return;
      const t = now();
      if (t - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = t;
      drawn = true;
      // \r returns to the line start, ESC[K erases what a longer previous line left behind.
      out.write(`\r${formatProgress({ label, unit: opts.unit, done, total, elapsedMs: t - start, columns: out.columns || 80 })}\x1b[K`);
    },
    done() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

/**
 * One line of progress: `verify ████████░░░░ 66% 40/60 batches · 12.5/s · ETA 0:02`, fitted to the
 * terminal width (the bar shrinks first, then goes).
 */
export function formatProgress(p: { label: string; unit: string; done: number; total: number; elapsedMs: number; columns: number }): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.done / seconds : 0;
  const finished = p.done >= p.total;
  const timing = finished
    ? `in ${clock(seconds)}`
    : rate > 0
      ? `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)}/s · ETA ${clock((p.total - p.done) / rate)}`
      : 'ETA --:--';
  const text = `${Math.floor(fraction * 100)}% ${p.done}/${p.total} ${p.unit} · ${timing}`;
  const room = p.columns - 1 - p.label.length - text.length - 2;
  if (room < 10) return `${p.label} ${text}`.slice(0, Math.max(0, p.columns - 1));
  const width = Math.min(40, room);
  const filled = Math.round(fraction * width);
  return `${p.label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${text}`;
}

/** 75 → "1:15"; 3725 → "1:02:05". */
function clock(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
