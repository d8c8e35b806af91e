import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/config/clock.js';
import { appendEvents } from '../../src/events/ingest.js';
import { sealAll } from '../../src/seal/seal.js';
import { generateEvents } from '../demo/generate.js';
import { readPng, runChromium } from '../support/chromium.js';
import { ROOT, runCli, setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

// A citation is free text from an operator's schedule file: here it tries to break out of the page.
const HOSTILE = `SOX § 802 </style><script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">`;
const SCHEDULE = { ...TEST_SCHEDULE, classes: TEST_SCHEDULE.classes.map((c) => (c.name === 'sox-7y' ? { ...c, citation: HOSTILE } : c)) };

/** The rendered DOM as text: tags out, entities decoded, whitespace folded. */
function domText(dom: string): string {
  return dom
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('verify --report and progress', () => {
  let h: Harness;
  let dir: string;
  let overwrittenKey: string;

  beforeAll(async () => {
    h = await setupHarness('report', { schedule: SCHEDULE });
    dir = mkdtempSync(join(tmpdir(), 'wormseal-report-'));
    const ingest = { pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 };
    const billing = generateEvents({ count: 12, seed: 7 }).map((e) => ({ ...e, namespace: 'billing', event_type: 'payment.created' }));
    const identity = generateEvents({ count: 8, seed: 8 }).map((e) => ({ ...e, namespace: 'identity', event_type: 'user.login' }));
    expect((await appendEvents(ingest, [...billing, ...identity])).accepted).toBe(20);
    await waitUntilSealable(h.pool);
    expect((await sealAll(h.sealDeps({ batchSize: 4 }))).failures).toEqual([]);
    // Tamper with one object: another version written over billing batch 2's data object.
    const row = (await h.pool.query(`SELECT data_key FROM wormseal.batches WHERE namespace = 'billing' AND batch_no = 2`)).rows[0];
    overwrittenKey = row.data_key;
    await h.store.put(overwrittenKey, Buffer.from('forged'), {
      lock: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 3_600_000) },
      legalHold: false,
      contentType: 'application/gzip',
    });
    const hold = await runCli(
      ['hold', 'place', '--matter', 'MATTER-7', '--reason', 'litigation hold', '--by', 'legal@example.com', '--namespace', 'identity'],
      { env: h.env },
    );
    expect(hold.code, hold.stderr).toBe(0);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('writes one self-contained page that headless Chromium renders with the verdict, the timeline and the problem', async () => {
    const out = join(dir, 'report.html');
    const cli = await runCli(['verify', '--report', out], { env: h.env });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('NOT VERIFIED');
    expect(cli.stdout).toContain(`report written to ${out}`);
    const html = readFileSync(out, 'utf8');
    // Self-contained: no scripts, no external resources; the hostile citation is text, not markup.
    expect(html).not.toMatch(/<(script|img|link|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/<[^>]+\s(src|srcset|action)=/i);
    expect(html).not.toMatch(/<[^>]+\shref="(?!#)/i); // in-page anchors only
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    expect(html.slice(html.indexOf('<style>'), html.indexOf('</style>'))).not.toMatch(/url\(|@import/);

    const dom = await runChromium(['--dump-dom', `file://${out}`]);
    expect(dom).toMatch(/<title>NOT VERIFIED/);
    expect(dom).not.toMatch(/<script|<img/i);
    const text = domText(dom);
    expect(text).toContain('NOT VERIFIED');
    expect(text).toContain('4/5 batches valid · 1 problem');
    expect(text).toMatch(/Events checked 20 Streams 2 Pending sealing 0/);
    expect(text).toMatch(/billing \/ sox-7y 3 batches · 12 events · 1 batch with problems/);
    expect(text).toMatch(/identity \/ soc2-1y 2 batches · 8 events/);
    // Batch 2 of billing is marked on the timeline and linked to its finding, which names the object.
    expect(dom).toMatch(/<tr id="s1-b2" class="problem-row">[\s\S]*?<a class="reason" href="#p1">overwritten<\/a>/);
    expect(dom).toMatch(/<tr id="s1-b1">[\s\S]*?st-valid/);
    expect(text).toContain(`overwritten batch 2`);
    expect(text).toContain(`object ${overwrittenKey}`);
    // The holds registry feeds the holds section: the matter, its scope and the batches it covers.
    expect(text).toMatch(/1 active hold, 0 released holds\./);
    expect(text).toMatch(/MATTER-7 namespace=identity[\s\S]*?litigation hold 2 ● active/);
    expect(text).toContain(HOSTILE);
    expect(text).toMatch(/short 3 seconds PT3S test: expires in seconds temp\.\*/);

    const png = join(dir, 'report.png');
    await runChromium([`--screenshot=${png}`, '--window-size=1280,1800', `file://${out}`]);
    expect(existsSync(png)).toBe(true);
    expect(statSync(png).size).toBeGreaterThan(20_000);
    const info = readPng(readFileSync(png));
    expect(info).toMatchObject({ width: 1280, height: 1800 });
    expect(info.distinctBytes).toBeGreaterThan(64);
  });

  it('refuses a report path it cannot write before verifying (exit 2)', async () => {
    const cli = await runCli(['verify', '--report', join(dir, 'no-such-dir', 'r.html')], { env: h.env });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/--report .*no-such-dir.*cannot write into/);
    expect(cli.stdout).toBe('');
  });

  it('draws no progress bar when stderr is not a terminal', async () => {
    for (const args of [['verify'], ['verify', '--json']]) {
      const cli = await runCli(args, { env: h.env });
      expect(cli.code).toBe(1);
      expect(cli.stderr).not.toMatch(/[\r█░]|\x1b\[K/);
      expect(cli.stdout).not.toMatch(/[\r█░]/);
    }
  });

  it('verify --json lists every batch with its state', async () => {
    const cli = await runCli(['verify', '--json'], { env: h.env });
    const streams = JSON.parse(cli.stdout).streams as { stream: { namespace: string }; batches: { batch_no: number; state: string }[] }[];
    expect(streams.map((s) => [s.stream.namespace, s.batches.map((b) => `${b.batch_no}:${b.state}`).join(' ')])).toEqual([
      ['billing', '1:valid 2:problem 3:valid'],
      ['identity', '1:valid 2:valid'],
    ]);
  });

  it('draws a progress bar with counts on a terminal (util-linux script gives the CLI a pty)', async () => {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // A known terminal width, whatever terminal (if any) the tests themselves run in.
    const command = `stty cols 100 && exec ${[process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'verify'].map(quote).join(' ')}`;
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color', ...h.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code).toBe(1);
    // The final redraw always happens: all five sealed batches, a full bar, then a newline.
    expect(result.out).toMatch(/\rverify █+ 100% 5\/5 batches · in \d+:\d\d\x1b\[K\r?\n/);
    expect(result.out).toContain('NOT VERIFIED');
  });
});
