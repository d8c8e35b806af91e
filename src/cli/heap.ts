import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap growth for a process that seals: between two full collections the old generation may
 * grow to four times what survived the last one (V8's --heap-growing-percent=300).
 *
 * The sealer keeps a small heap (~20 MB, mostly code) and moves its data through Buffers, so its
 * old generation hardly grows and V8 sets the next limit at about the live size plus one new
 * space: exactly where its trigger for incremental marking lies. Marking then restarted as soon
 * as a mark-compact ended, one every ~200 ms (18 to 22 while sealing 500,000 events; 7 with
 * this setting), and sealing is CPU bound. Sealing 1M events, runs alternating with and without (npm run bench's
 * seal child): 98.8k, 95.6k, 92.0k against 92.9k, 88.7k, 84.4k events/s; the sealer's CPU
 * 12.8, 13.3, 13.2 against 13.6, 14.5, 14.4 µs/event; peak RSS ~300 MiB against ~280.
 *
 * Process-wide, and read by V8 at each collection, so it holds from the call on. `wormseal seal`
 * and `wormseal worker` call it; a service that seals in its own process can start node with
 * --heap-growing-percent=300 instead. Verify, measured the same way, gained nothing from it.
 */
export function tuneHeapForSealing(): void {
  setFlagsFromString('--heap-growing-percent=300');
}
