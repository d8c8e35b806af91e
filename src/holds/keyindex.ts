import { buildBloom } from './bloom.js';

/** The columns of one hot row the index needs (the sealer reads them with the window). */
export interface IndexRow {
  actor_id: string;
  resource_type: string | null;
  resource_id: string | null;
  subject_id: string | null;
  event_type: string;
  /** occurred_at in whole milliseconds since the epoch, floored (scope matching allows 1 ms of slack). */
  occurred_ms: number;
}

/**
 * What a hold needs to know about a batch once its hot rows may be gone: the occurred_at range,
 * the exact event types, and a Bloom filter per key kind (null when the batch has no key of it).
 */
export interface BatchIndex {
  occurred_min: Date;
  occurred_max: Date;
  event_types: string[];
  actors: Buffer | null;
  resources: Buffer | null;
  subjects: Buffer | null;
}

/** Resource keys are TYPE and ID joined by NUL, which neither can contain (Postgres text). */
export function resourceKey(type: string, id: string): string {
  return `${type}\u0000${id}`;
}

/**
 * Incremental index of one batch: `add` per row as the sealer reads the window, `finish` once.
 * Keys are deduplicated in Sets first so each filter is sized from the distinct count.
 */
export class BatchIndexBuilder {
  private readonly actors = new Set<string>();
  private readonly resources = new Set<string>();
  private readonly subjects = new Set<string>();
  private readonly types = new Set<string>();
  private min = Infinity;
  private max = -Infinity;

  add(row: IndexRow): void {
    this.actors.add(row.actor_id);
    if (row.resource_type !== null && row.resource_id !== null) this.resources.add(resourceKey(row.resource_type, row.resource_id));
    if (row.subject_id !== null) this.subjects.add(row.subject_id);
    this.types.add(row.event_type);
    const t = row.occurred_ms;
    if (t < this.min) this.min = t;
    if (t > this.max) this.max = t;
  }

  finish(): BatchIndex {
    if (this.types.size === 0) throw new Error('BatchIndexBuilder.finish: a batch has at least one event');
    const bloom = (s: Set<string>) => (s.size ? buildBloom(s, s.size) : null);
    return {
      occurred_min: new Date(this.min),
      occurred_max: new Date(this.max),
      event_types: [...this.types].sort(),
      actors: bloom(this.actors),
      resources: bloom(this.resources),
      subjects: bloom(this.subjects),
    };
  }
}
