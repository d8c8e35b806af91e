/**
 * ISO 8601 durations (P7Y, P90D, PT8S, P1Y6M, P2W) added in UTC calendar arithmetic.
 * Years and months move the calendar date (clamped to the month's last day), so P7Y from
 * 29 Feb lands on 28 Feb: a retain-until never comes out earlier than the duration promises
 * by more than the clamp, and never later than needed by more than a day.
 */
export interface Duration {
  text: string;
  years: number;
  months: number;
  days: number;
  seconds: number;
}

const PATTERN =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function parseDuration(text: string): Duration {
  const m = PATTERN.exec(text);
  if (!m) throw new Error(`not an ISO 8601 duration: ${JSON.stringify(text)} (examples: P7Y, P90D, PT8S)`);
  const n = (i: number) => (m[i] ? Number(m[i]) : 0);
  return {
    text,
    years: n(1),
    months: n(2),
    days: n(3) * 7 + n(4),
    seconds: n(5) * 3600 + n(6) * 60 + n(7),
  };
}

export function addDuration(from: Date, d: Duration): Date {
  const y = from.getUTCFullYear() + d.years;
  const mo = from.getUTCMonth() + d.months;
  const targetYear = y + Math.floor(mo / 12);
  const targetMonth = ((mo % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  const day = Math.min(from.getUTCDate(), lastDay);
  const base = Date.UTC(
    targetYear,
    targetMonth,
    day,
    from.getUTCHours(),
    from.getUTCMinutes(),
    from.getUTCSeconds(),
    from.getUTCMilliseconds(),
  );
  return new Date(base + d.days * 86_400_000 + Math.round(d.seconds * 1000));
}


/**
 * retain-until of a batch sealed at `sealedAt` under a class of duration `d`. Rounded up to the
 * whole second: Object Lock stores whole seconds on some servers, and a lock read back must never
 * look weaker than the one asked for by a fraction of a second.
 */
export function retainUntilFor(sealedAt: Date, d: Duration): Date {
  return new Date(Math.ceil(addDuration(sealedAt, d).getTime() / 1000) * 1000);
}
