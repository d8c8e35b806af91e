import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap growth for a process that seals (or verifies against S3, below): between two full collections the old generation may
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
 * Process-wide (worker threads started later included), and read by V8 at each collection, so
 * it holds from the call on. `wormseal seal` and `wormseal worker` call it; a service that seals
 * in its own process can start node with --heap-growing-percent=300 instead.
 */
export function tuneHeapForSealing(): void {
  setFlagsFromString('--heap-growing-percent=300');
}

/**
 * The same for `wormseal verify`. Once verifying stopped holding whole decompressed objects
 * (2026-12-07), its main thread's heap stayed as small as the sealer's, and V8 started marking
 * it a dozen times per 1M events ("Start (task)" in --trace-incremental-marking), at the
 * allocation limit rather than for external memory. 1M events, the benchmark's verify child,
 * four rounds alternating: 3.72–3.84 s against 3.80–4.12 s, Node 3.96–4.14 against
 * 4.22–4.57 µs of CPU per event. (Measured before that change, it had gained nothing.)
 */
export function tuneHeapForVerifying(): void {
  setFlagsFromString('--heap-growing-percent=300');
}
