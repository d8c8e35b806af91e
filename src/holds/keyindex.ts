import type { RowView } from '../db/copy.js';
import { SEAL_COLUMN } from '../db/events.js';
import { BloomKeys } from './bloom.js';

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
 * Incremental index of one batch: `add` per row as the sealer reads the window (or `addRaw`, the
 * same from the row's bytes), `finish` once. Keys are deduplicated first so each filter is sized
 * from the distinct count.
 */
export class BatchIndexBuilder {
  private readonly actors = new BloomKeys();
  private readonly resources = new BloomKeys();
  private readonly subjects = new BloomKeys();
  private readonly types = new Set<string>();
  private min = Infinity;
  private max = -Infinity;

  add(row: IndexRow): void {
    this.actors.add(row.actor_id);
    if (row.resource_type !== null && row.resource_id !== null) this.resources.add(resourceKey(row.resource_type, row.resource_id));
    if (row.subject_id !== null) this.subjects.add(row.subject_id);
    this.addTypeAndTime(row.event_type, row.occurred_ms);
  }

  /**
   * add() for a row as the sealer reads it (fields numbered by SEAL_COLUMN): the keys are hashed
   * from their bytes, with no string made of them. Gives the index add() gives for the decoded row.
   */
  addRaw(row: RowView, occurredMs: number): void {
    const C = SEAL_COLUMN;
    const { buf, start, length } = row;
    this.actors.addUtf8(buf, start[C.actor_id]!, length[C.actor_id]!);
    if (length[C.resource_type]! >= 0 && length[C.resource_id]! >= 0) {
      this.resources.addUtf8(buf, start[C.resource_type]!, length[C.resource_type]!, start[C.resource_id]!, length[C.resource_id]!);
    }
    if (length[C.subject_id]! >= 0) this.subjects.addUtf8(buf, start[C.subject_id]!, length[C.subject_id]!);
    this.addTypeAndTime(row.text(C.event_type)!, occurredMs);
  }

  private addTypeAndTime(type: string, t: number): void {
    this.types.add(type);
    if (t < this.min) this.min = t;
    if (t > this.max) this.max = t;
  }

  finish(): BatchIndex {
    if (this.types.size === 0) throw new Error('BatchIndexBuilder.finish: a batch has at least one event');
    return {
      occurred_min: new Date(this.min),
      occurred_max: new Date(this.max),
      event_types: [...this.types].sort(),
      actors: this.actors.build(),
      resources: this.resources.build(),
      subjects: this.subjects.build(),
    };
  }
}
