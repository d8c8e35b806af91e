/**
 * `npm run bench [-- SCENARIO... [--events N] [--sizes A,B,C] [--json]]`
 *
 * Scenarios (all by default, in this order): ingest, seal, verify, prove, query, scaling. Every figure is
 * printed beside a baseline measured in the same run, as a ratio; what was ingested, sealed or
 * verified is checked and any invalid result exits non-zero. With --json the last line of stdout
 * is one JSON object with the headline figures.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { nativeAddonStatus } from '../../src/merkle/native.js';
import { startBackend, type Backend } from './backend.js';
import { ingestScenario } from './ingest.js';
import { proveScenario } from './prove.js';
import { queryScenario } from './query.js';
import { BenchFailure, formatFigure, met, rate, type Figure, type ScenarioResult } from './report.js';
import { fetchObjects, hashBaselines, sealBacklog, stageSplit, verifyBundleRun, verifyOffline, verifyOfflineChild, verifyOnline, type SealRun } from './seal.js';

const SCENARIOS = ['ingest', 'seal', 'verify', 'prove', 'query', 'scaling'] as const;
type Scenario = (typeof SCENARIOS)[number];

const DEFAULTS = { ingest: 50_000, seal: 1_000_000, verify: 1_000_000, prove: 1_000_000, query: 5_000_000, scaling: [100_000, 1_000_000, 3_000_000] };

function parseArgs(argv: string[]): { scenarios: Scenario[]; events?: number; sizes?: number[]; json: boolean } {
  const scenarios: Scenario[] = [];
  let events: number | undefined;
  let sizes: number[] | undefined;
  let json = false;
  const count = (v: string | undefined, flag: string) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 1) usage(`${flag} needs a positive whole number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--events') events = count(argv[++i], '--events');
    else if (a === '--sizes') sizes = (argv[++i] ?? '').split(',').map((s) => count(s, '--sizes'));
    else if ((SCENARIOS as readonly string[]).includes(a)) scenarios.push(a as Scenario);
    else usage(`unknown argument ${a}`);
  }
  return { scenarios: scenarios.length ? SCENARIOS.filter((s) => scenarios.includes(s)) : [...SCENARIOS], ...(events ? { events } : {}), ...(sizes ? { sizes } : {}), json };
}

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: npm run bench -- [${SCENARIOS.join('|')}]... [--events N] [--sizes 100000,1000000] [--json]\n`);
  process.exit(2);
}

const log = (m: string) => process.stderr.write(m + '\n');
const out = (m: string) => process.stdout.write(m + '\n');

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const cpu = cpus();
  out(`wormseal benchmark — ${new Date().toISOString()}`);
  out(`machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`);
  const addon = nativeAddonStatus();
  out(`native addon (hashing, gunzip): ${addon.loaded ? 'loaded' : `not in use, ${addon.detail}`}`);
  out('figures are noisy on a shared machine: compare the ratios to baselines measured in the same run');
  const backend = await startBackend(log);
  out(`backend: ${backend.source}`);
  const stopOnSignal = () => void backend.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const json: Record<string, number | null> = { native_addon_loaded: addon.loaded ? 1 : 0 };
  const figures: Figure[] = [];
  let seal: SealRun | undefined;
  try {
    for (const s of args.scenarios) {
      out(`\n== ${s}`);
      log(`[bench] ${s}`);
      const r = await runScenario(s, backend, args, seal, (run) => {
        if (seal && seal !== run) void seal.ws.close().catch(() => {});
        seal = run;
      });
      for (const f of r.figures) out(formatFigure(f));
      for (const n of r.notes) out(n);
      figures.push(...r.figures);
      Object.assign(json, r.json);
    }
  } finally {
    await (seal as SealRun | undefined)?.ws.close().catch(() => {});
    await backend.stop();
  }
  const missed = figures.filter((f) => met(f) === false).map((f) => f.name);
  out(`\ntargets: ${figures.filter((f) => met(f) === true).length} met, ${missed.length} not met${missed.length ? ` (${missed.join('; ')})` : ''}`);
  if (args.json) out(JSON.stringify(json));
  return 0;
}

async function runScenario(
  s: Scenario,
  b: Backend,
  args: ReturnType<typeof parseArgs>,
  shared: SealRun | undefined,
  keep: (run: SealRun) => void,
): Promise<ScenarioResult> {
  switch (s) {
    case 'ingest':
      return ingestScenario(b, args.events ?? DEFAULTS.ingest, log);
    case 'seal': {
      const run = await sealBacklog(b, args.events ?? DEFAULTS.seal, 2, log);
      keep(run);
      return sealFigures(run);
    }
    case 'verify': {
      const size = args.events ?? DEFAULTS.verify;
      let run = shared?.events === size ? shared : undefined;
      if (!run) {
        run = await sealBacklog(b, size, 3, log);
        keep(run);
      }
      return verifyFigures(run);
    }
    case 'prove': {
      const size = args.events ?? DEFAULTS.prove;
      let run = shared?.events === size ? shared : undefined;
      if (!run) {
        run = await sealBacklog(b, size, 6, log);
        keep(run);
      }
      return proveScenario(run, log);
    }
    case 'query':
      return queryScenario(b, args.events ?? DEFAULTS.query, log);
    case 'scaling':
      return scaling(b, args.sizes ?? (args.events ? [args.events] : DEFAULTS.scaling), shared);
  }
}

async function sealFigures(run: SealRun): Promise<ScenarioResult> {
  const objects = await fetchObjects(run);
  // The sealed archive is checked right away, offline, whatever scenarios follow.
  await verifyOffline(objects, run.events);
  const base = hashBaselines(objects, run.events, log);
  const sealRate = rate(run.events, run.wallMs);
  return {
    figures: [
      { name: `seal ${run.events / 1e6}M backlog, end to end`, value: sealRate, unit: 'ev/s', baseline: { name: 'SHA-256 limit', value: base.shaRate }, target: { op: '>=', value: 100_000 } },
      { name: `seal ${run.events / 1e6}M backlog, end to end`, value: sealRate, unit: 'ev/s', baseline: { name: `merkletreejs hashLeaves (${base.merkletreejsLeaves / 1000}k leaves)`, value: base.merkletreejsRate } },
      { name: 'seal peak RSS (sealer process)', value: run.maxRssMib, unit: 'MiB', better: 'lower', target: { op: '<=', value: 512 } },
    ],
    json: {
      seal_events_per_s: Math.round(sealRate),
      seal_peak_rss_mib: Math.round(run.maxRssMib),
      seal_vs_sha256_limit: +(sealRate / base.shaRate).toFixed(3),
      seal_vs_merkletreejs: +(sealRate / base.merkletreejsRate).toFixed(2),
      sha256_limit_events_per_s: Math.round(base.shaRate),
    },
    notes: [
      `  ${run.report.batches.length} batches; per-stage time (summed over ${run.report.batches.length} batches and concurrent streams): ${stageSplit(run.report)}`,
    ],
  };
}

async function verifyFigures(run: SealRun): Promise<ScenarioResult> {
  const onlineT = await verifyOnline(run);
  const { server } = onlineT;
  const objects = await fetchObjects(run);
  const offlineT = await verifyOfflineChild(run, objects);
  const bundleT = await verifyBundleRun(run);
  const base = hashBaselines(objects, run.events, () => {}, false);
  const bundleRate = rate(bundleT.lines, bundleT.ms);
  const online = rate(run.events, onlineT.ms);
  const offline = rate(run.events, offlineT.ms);
  // CPU per event, all threads of this process (Postgres and RGW not counted): steadier than
  // wall-clock rates on a shared machine, and comparable with the one-thread SHA-256 limit.
  const us = (t: { cpuMs: number }) => (t.cpuMs * 1000) / run.events;
  return {
    figures: [
      { name: `verify ${run.events / 1e6}M against S3 + hot rows`, value: online, unit: 'ev/s', baseline: { name: 'SHA-256 limit', value: base.shaRate }, target: { op: '>=', value: 300_000 } },
      // Part of verify-bundle's work, shown for the split: the target is the whole command's, below.
      { name: `verify ${run.events / 1e6}M offline (verify-bundle batch checks)`, value: offline, unit: 'ev/s', baseline: { name: 'SHA-256 limit', value: base.shaRate } },
      { name: `verify-bundle, one user's export (${(bundleT.lines / 1e6).toFixed(2)}M lines)`, value: bundleRate, unit: 'ev/s', baseline: { name: 'SHA-256 limit', value: base.shaRate }, target: { op: '>=', value: 300_000 } },
    ],
    json: {
      verify_events_per_s: Math.round(online),
      verify_offline_events_per_s: Math.round(offline),
      verify_vs_sha256_limit: +(online / base.shaRate).toFixed(3),
      verify_offline_vs_sha256_limit: +(offline / base.shaRate).toFixed(3),
      verify_cpu_us_per_event: +us(onlineT).toFixed(2),
      verify_offline_cpu_us_per_event: +us(offlineT).toFixed(2),
      verify_bundle_events_per_s: Math.round(bundleRate),
      verify_bundle_lines: bundleT.lines,
      verify_bundle_listed_events: bundleT.listed,
      verify_bundle_cpu_us_per_event: +((bundleT.cpuMs * 1000) / bundleT.lines).toFixed(2),
      verify_pg_cpu_us_per_event: server ? +us({ cpuMs: server.pgMs }).toFixed(2) : null,
      verify_pg_backends_cpu_us_per_event: server ? +us({ cpuMs: server.backendsMs }).toFixed(2) : null,
      verify_s3_server_cpu_us_per_event: server?.cephMs != null ? +us({ cpuMs: server.cephMs }).toFixed(2) : null,
    },
    notes: [
      `  CPU per event (this process, all threads): online ${us(onlineT).toFixed(2)} µs, offline ${us(offlineT).toFixed(2)} µs; ` +
        `SHA-256 limit ${(1e6 / base.shaRate).toFixed(2)} µs on one thread; ${availableParallelism()} threads available`,
      // The servers work for verify too, on the same cores: all of it must fit the target's budget.
      `  server CPU per event during online verify: Postgres ${server ? us({ cpuMs: server.pgMs }).toFixed(2) : 'n/a'} µs ` +
        `(its backends serving verify ${server ? us({ cpuMs: server.backendsMs }).toFixed(2) : 'n/a'} µs), ` +
        `Ceph RGW + OSD + mon ${server?.cephMs != null ? us({ cpuMs: server.cephMs }).toFixed(2) : 'n/a'} µs; ` +
        `all processes ${server?.cephMs != null ? us({ cpuMs: onlineT.cpuMs + server.pgMs + server.cephMs }).toFixed(2) : 'n/a'} µs ` +
        `(${availableParallelism()} cores at 300k ev/s allow ${((availableParallelism() * 1e6) / 300_000).toFixed(1)} µs)`,
      `  each verifier runs in a child process started as \`wormseal verify\` / \`verify-bundle\` start (src/cli/relaunch.ts): GLIBC_TUNABLES=${onlineT.glibcTunables || '(unset)'}`,
      '  offline = the per-batch checks `verify-bundle` runs on local bytes (manifest, digest, gunzip, RFC 6962 root), on its worker',
      '  threads, without the per-event proof checks of a bundle\'s selected events (a bundle of all 1M would carry 1M proofs)',
      `  verify-bundle = the command's whole check of an exported bundle, here of user ${bundleT.actor}: ${bundleT.batches} batches ` +
        `(${bundleT.lines} lines), ${bundleT.listed} listed events with their proofs, and the listing's completeness; ` +
        `CPU ${((bundleT.cpuMs * 1000) / bundleT.lines).toFixed(2)} µs per line`,
    ],
  };
}

async function scaling(b: Backend, sizes: number[], shared: SealRun | undefined): Promise<ScenarioResult> {
  const figures: Figure[] = [];
  const json: Record<string, number> = {};
  let first: number | undefined;
  for (const size of sizes) {
    let run = shared?.events === size ? shared : undefined;
    const own = !run;
    if (!run) {
      run = await sealBacklog(b, size, 5, log);
      // What was sealed is checked offline (digests, gunzip, RFC 6962 roots, counts): the full
      // `verify` of the seal/verify scenarios would double this scenario's time at 3M.
      await verifyOffline(await fetchObjects(run), size);
    }
    const usPerEvent = (run.wallMs * 1000) / size;
    first ??= usPerEvent;
    figures.push({
      name: `seal ${size.toLocaleString('en-US')}: cost per event (RSS ${Math.round(run.maxRssMib)} MiB)`,
      value: usPerEvent,
      unit: 'µs/ev',
      better: 'lower',
      baseline: { name: `${sizes[0]!.toLocaleString('en-US')}`, value: first },
    });
    json[`scaling_${size}_us_per_event`] = +usPerEvent.toFixed(2);
    if (own) await run.ws.close();
  }
  return { figures, json, notes: ['  flat cost means each ratio stays near 1.00x'] };
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof BenchFailure ? 'BENCHMARK FAILED' : 'benchmark error'}: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
