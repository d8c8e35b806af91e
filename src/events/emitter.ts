import { randomUUID } from 'node:crypto';
import type { IngestResult } from './ingest.js';

export interface EmitterOptions {
  /** Where events go: usually `wormseal.append`. */
  append: (events: unknown[]) => Promise<IngestResult>;
  /** Reports every event that did not land, with the reason. Must not throw; if it does, it is ignored. */
  onError: (failure: EmitFailure) => void;
  /** How long an event may wait in the buffer before a flush (ms). */
  flushIntervalMs?: number;
  /** Events per append call. */
  maxBatch?: number;
  /** Events held at most; beyond this, new events are reported as dropped rather than held. */
  maxBuffered?: number;
  /** Attempts per batch when the database is unreachable. */
  retries?: number;
}

export interface EmitFailure {
  kind: 'rejected' | 'unavailable' | 'overflow' | 'closed';
  event: unknown;
  reason: string;
}

export interface EmitterStats {
  emitted: number;
  written: number;
  failed: number;
  buffered: number;
}

export interface Emitter {
  /** Queue an event. Never throws and never blocks the caller. */
  emit(event: object): void;
  /** Resolve once everything emitted so far is written or reported. */
  flush(): Promise<void>;
  /** Flush, then refuse further events. */
  close(): Promise<void>;
  stats(): EmitterStats;
}

/**
 * The fire-and-forget emitter (seed 000): a service's request path calls emit() and moves on; an
 * audit outage never breaks the service, but every event that does not land is reported through
 * onError, never dropped silently. Each event gets its event_id here, so retries are idempotent.
 */
export function createEmitter(opts: EmitterOptions): Emitter {
  const interval = opts.flushIntervalMs ?? 200;
  const maxBatch = opts.maxBatch ?? 500;
  const maxBuffered = opts.maxBuffered ?? 50_000;
  const retries = opts.retries ?? 4;
  const buffer: object[] = [];
  const stats = { emitted: 0, written: 0, failed: 0 };
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let closed = false;

  const report = (f: EmitFailure) => {
    stats.failed++;
    try {
      opts.onError(f);
    } catch {
      /* a failing reporter must not break the caller either */
    }
  };

  const drain = async () => {
    while (buffer.length > 0) {
      const chunk = buffer.splice(0, maxBatch);
      let lastError: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        try {
          const res = await opts.append(chunk);
          for (const err of res.errors) report({ kind: 'rejected', event: chunk[err.index], reason: err.reason });
          stats.written += res.accepted;
          lastError = undefined;
          break;
        } catch (e) {
          lastError = e;
          if (attempt < retries) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        }
      }
      if (lastError !== undefined) {
        for (const event of chunk) report({ kind: 'unavailable', event, reason: (lastError as Error).message });
      }
    }
  };

  const schedule = () => {
    if (draining) return;
    draining = drain().finally(() => {
      draining = undefined;
      if (buffer.length > 0) schedule();
    });
  };

  return {
    emit(event) {
      stats.emitted++;
      if (closed) return report({ kind: 'closed', event, reason: 'emitter is closed' });
      if (typeof event !== 'object' || event === null) return report({ kind: 'rejected', event, reason: 'an event must be an object' });
      if (buffer.length >= maxBuffered) {
        return report({ kind: 'overflow', event, reason: `buffer full (${maxBuffered} events): the audit store is not keeping up` });
      }
      const withId = 'event_id' in event ? event : { ...event, event_id: randomUUID() };
      buffer.push(withId);
      if (buffer.length >= maxBatch) schedule();
      else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          schedule();
        }, interval);
        timer.unref();
      }
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      while (buffer.length > 0 || draining) {
        schedule();
        await draining;
      }
    },
    async close() {
      closed = true;
      await this.flush();
    },
    stats: () => ({ ...stats, buffered: buffer.length }),
  };
}
