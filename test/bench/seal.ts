/**
 * Scenarios 2 (seal a backlog), 3 (verify it) and 5 (scaling). The backlog is loaded by this
 * process with COPY; the sealer runs in a child process (seal-child.ts, configured like
 * `wormseal seal`) so that its peak RSS is its own. Whatever was sealed is verified before any
 * figure is printed.
 */
import { hash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MerkleTree } from 'merkletreejs';
import { parseDataObject } from '../../src/archive/batchfile.js';
import { systemClock } from '../../src/config/clock.js';
import { listBatches, listStreams } from '../../src/db/batches.js';
import { exportBundle } from '../../src/export/export.js';
import { createLogger } from '../../src/log/logger.js';
import type { SealReport } from '../../src/seal/seal.js';
import { hostFacts, hugePagesEnv } from '../../src/cli/relaunch.js';
import { BatchChecker } from '../../src/verify/threads.js';
import { createWorkspace, type Backend, type Workspace } from './backend.js';
import { preload, SCHEDULE } from './data.js';
import { BenchFailure, check, rate } from './report.js';
import { runJsonChild } from './backends.js';
import type { VerifyChildResult } from './verify-child.js';

export interface SealRun {
  ws: Workspace;
  events: number;
  wallMs: number;
  maxRssMib: number;
  report: SealReport;
}

const CHILD = fileURLToPath(new URL('./seal-child.js', import.meta.url));

/** Preload `events` (COPY), seal them in a child process, check every event was sealed. */
export async function sealBacklog(b: Backend, events: number, seed: number, log: (m: string) => void): Promise<SealRun> {
  const ws = await createWorkspace(b, `seal_${events}`);
  await preload(ws.pool, events, seed, log);
  const out = await runChild(ws.env);
  check(out.report.failures.length === 0, `seal: ${out.report.failures.map((f) => f.error).join('; ')}`);
  const sealed = out.report.batches.reduce((n, x) => n + x.leaf_count, 0);
  check(sealed === events, `seal: ${events} events preloaded, ${sealed} sealed`);
  log(`  sealed ${events} events in ${out.report.batches.length} batches, ${(out.wall_ms / 1000).toFixed(1)} s, peak RSS ${out.max_rss_mib.toFixed(0)} MiB`);
  const perEvent = (ms: number | null) => (ms === null ? 'n/a' : `${((ms * 1000) / events).toFixed(1)} µs/event`);
  log(`  CPU: sealer process ${perEvent(out.cpu_ms)}, its Postgres backends ${perEvent(out.server_cpu_ms)} (2 cores: 10 µs/event of CPU in all is 200k ev/s at best)`);
  return { ws, events, wallMs: out.wall_ms, maxRssMib: out.max_rss_mib, report: out.report };
}

function runChild(
  env: Record<string, string>,
): Promise<{ wall_ms: number; max_rss_mib: number; cpu_ms: number; server_cpu_ms: number | null; report: SealReport }> {
  const childEnv = { PATH: process.env.PATH ?? '', ...env, WORMSEAL_LAG_WARN_SECONDS: '86400', NODE_OPTIONS: process.env.BENCH_SEAL_NODE_OPTIONS ?? '' };
  return runJsonChild(CHILD, [], childEnv, 'seal child');
}

/** Wall time and CPU time of this process, all threads (the verifier's workers included). */
export interface Timing {
  ms: number;
  cpuMs: number;
}

/** CPU milliseconds of the servers on this machine: the Postgres cluster and the Ceph daemons of its stack. */
export interface ServerCpu {
  /** The whole cluster: autovacuum (which a fresh backlog wakes), checkpointer and all. */
  pgMs: number;
  /** Of it, this database's client backends (the bench's own connections). */
  backendsMs: number;
  /** radosgw, OSD and monitor; null when the S3 server is not a localstack/stack.sh Ceph next to the cluster. */
  cephMs: number | null;
}

/**
 * Bench-only accounting from /proc: the postmaster with its live children and those it reaped
 * (utime, stime, cutime, cstime), each client backend of this database (by pid), and the Ceph
 * daemons whose command line names the same stack
 * directory as the cluster's data directory (stack.sh puts both in one). Null when the server is
 * not on this machine. The difference of two snapshots is what the servers spent in between,
 * whoever asked (the benchmark runs alone on its stack).
 */
async function serverCpu(run: SealRun): Promise<{ pgMs: number; cephMs: number | null; backends: Map<number, number> } | null> {
  try {
    const { rows } = await run.ws.pool.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
    );
    const clients = new Set(rows.map((r) => r.pid));
    const backends = new Map<number, number>();
    const postmaster = Number((await procStat(rows[0]!.pid))[1]); // ppid
    const args = (await readFile(`/proc/${postmaster}/cmdline`, 'utf8')).split('\0');
    const stackDir = dirname(args[args.indexOf('-D') + 1] ?? '');
    let pgTicks = 0;
    let cephTicks: number | null = null;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const f = await procStat(Number(entry)).catch(() => undefined);
      if (!f) continue;
      const own = Number(f[11]) + Number(f[12]); // utime, stime
      if (Number(entry) === postmaster) pgTicks += own + Number(f[13]) + Number(f[14]); // + cutime, cstime
      else if (Number(f[1]) === postmaster) {
        pgTicks += own;
        if (clients.has(Number(entry))) backends.set(Number(entry), own * 10);
      } else if (stackDir !== '/' && /^\((radosgw|ceph-osd|ceph-mon)\)$/.test(f.comm)) {
        const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes(`${stackDir}/ceph/`)) cephTicks = (cephTicks ?? 0) + own;
      }
    }
    return { pgMs: pgTicks * 10, cephMs: cephTicks === null ? null : cephTicks * 10, backends }; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** The fields of /proc/PID/stat after the command name (field 3 is index 0), and the name. */
async function procStat(pid: number): Promise<string[] & { comm: string }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Object.assign(fields, { comm: stat.slice(stat.indexOf('('), stat.lastIndexOf(')') + 1) });
}

function timer(): () => Timing {
  const t = performance.now();
  const c = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(c);
    return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
  };
}

const VERIFY_CHILD = fileURLToPath(new URL('./verify-child.js', import.meta.url));

/**
 * Run verify-child.js with `args` in the environment of `run`'s workspace, started as the
 * `wormseal` command starts verify and verify-bundle (huge-page malloc where it helps: the same
 * hugePagesEnv() as src/cli/bin.ts). Fails the benchmark unless every check came out valid.
 */
async function verifyChild(run: SealRun, args: string[]): Promise<VerifyChildResult> {
  const base = { PATH: process.env.PATH ?? '', ...run.ws.env };
  const r = await runJsonChild<VerifyChildResult>(VERIFY_CHILD, args, hugePagesEnv(base, hostFacts()) ?? base, `verify child (${args[0]})`);
  if (!r.ok) throw new BenchFailure(`verify child (${args[0]}): ${r.problems} problems, first: ${r.firstProblem}`);
  return r;
}

/** `verify` against S3 and the hot rows: must find every event valid. Also the servers' CPU meanwhile. */
export async function verifyOnline(run: SealRun): Promise<Timing & { server: ServerCpu | null; glibcTunables: string }> {
  const before = await serverCpu(run);
  const r = await verifyChild(run, ['online']);
  const after = await serverCpu(run);
  check(r.events === run.events, `verify: checked ${r.events} of ${run.events} events`);
  const server =
    before && after
      ? {
          pgMs: after.pgMs - before.pgMs,
          backendsMs: r.backendsMs ?? NaN,
          cephMs: before.cephMs === null || after.cephMs === null ? null : after.cephMs - before.cephMs,
        }
      : null;
  return { ms: r.ms, cpuMs: r.cpuMs, server, glibcTunables: r.glibcTunables };
}

/**
 * The batch checks of verify-bundle (manifest, digest, gunzip, RFC 6962 root, on its worker
 * threads) over `objects` written to files, in a verify child. Must find every batch valid.
 */
export async function verifyOfflineChild(run: SealRun, objects: LocalObjects): Promise<Timing> {
  const dir = await mkdtemp(join(tmpdir(), 'wormseal-bench-objects-'));
  try {
    for (const [i, o] of objects.batches.entries()) {
      const name = String(i).padStart(5, '0');
      await writeFile(join(dir, `${name}.manifest`), o.manifest);
      await writeFile(join(dir, `${name}.data`), o.data);
    }
    const r = await verifyChild(run, ['offline', dir]);
    check(r.events === run.events, `offline check: ${r.events} of ${run.events} events`);
    return { ms: r.ms, cpuMs: r.cpuMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface LocalObjects {
  batches: { manifest: Buffer; data: Buffer }[];
}

/** Every sealed batch's manifest and data object, read once from S3 (the offline verifier's input). */
export async function fetchObjects(run: SealRun): Promise<LocalObjects> {
  const batches: LocalObjects['batches'] = [];
  for (const s of await listStreams(run.ws.pool)) {
    for (const x of await listBatches(run.ws.pool, s)) {
      batches.push({
        manifest: await run.ws.store.get(x.manifest_key, x.manifest_version_id!),
        data: await run.ws.store.get(x.data_key, x.data_version_id!),
      });
    }
  }
  return { batches };
}

/**
 * The offline path: the batch checks of verify-bundle (checkBatchBytes on its pool of worker
 * threads, started inside the timing) over local bytes. Must find every batch valid.
 */
export async function verifyOffline(objects: LocalObjects, events: number): Promise<Timing> {
  const done = timer();
  const checker = new BatchChecker();
  let n = 0;
  try {
    const checks = await Promise.all(objects.batches.map((o) => checker.check(o.manifest, o.data)));
    for (const r of checks) {
      if (r.findings.length > 0) throw new BenchFailure(`offline check: ${r.findings[0]!.detail}`);
      n += r.lines!.count;
    }
  } finally {
    await checker.close();
  }
  const timing = done();
  check(n === events, `offline check: ${n} of ${events} events`);
  return timing;
}

/**
 * `verify-bundle` end to end, as an examiner runs it: on the export of one user's events (seed
 * 001's "all actions by a user"), a bundle holding every batch of the streams the user acted in,
 * with the user's events and their proofs. Beyond the batch checks it checks each listed event's
 * proof and that the listing is complete (every line of the included batches matching the
 * selection is listed). The rate counts the lines of the batches it checked. Must find all valid.
 */
export async function verifyBundleRun(run: SealRun): Promise<Timing & { lines: number; listed: number; batches: number; actor: string }> {
  // The user who acted in the most streams (ties: the first by id): the largest bundle a one-user export makes here.
  const { actor } = (
    await run.ws.pool.query<{ actor: string }>(
      `SELECT actor_id AS actor FROM wormseal.events WHERE actor_type = 'user'
       GROUP BY actor_id ORDER BY count(DISTINCT (namespace, retention_class)) DESC, actor_id LIMIT 1`,
    )
  ).rows[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'wormseal-bench-bundle-'));
  try {
    const out = join(dir, 'bundle');
    const deps = { pool: run.ws.pool, store: run.ws.store, clock: systemClock, logger: createLogger({ level: 'error' }), schedule: SCHEDULE, maxEventBytes: 64 * 1024 };
    const exported = await exportBundle(deps, { actor }, out, { id: 'bench', type: 'system' });
    const r = await verifyChild(run, ['bundle', out]);
    check(r.events === exported.events, `verify-bundle: checked ${r.events} of ${exported.events} listed events`);
    const timing = { ms: r.ms, cpuMs: r.cpuMs };
    const lines = r.lines ?? 0;
    const report = { events_checked: r.events, batches_checked: r.batches ?? 0 };
    return { ...timing, lines, listed: report.events_checked, batches: report.batches_checked, actor };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Baselines on the same leaves: the plain SHA-256 limit, and merkletreejs as its README shows. */
export function hashBaselines(
  objects: LocalObjects,
  events: number,
  log: (m: string) => void,
  withMerkletreejs = true,
): { shaRate: number; merkletreejsRate: number; merkletreejsLeaves: number } {
  const lines: Buffer[] = [];
  for (const o of objects.batches) lines.push(...parseDataObject(o.data));
  check(lines.length === events, 'baseline: lines');
  // Two SHA-256 per leaf (leaf hash, its share of the node hashes) with node:crypto, in its fastest
  // one-shot form (reused inputs, latin1 string results; see Digest in src/merkle/hash.ts): the
  // floor any RFC 6962 implementation on one thread pays.
  let t = performance.now();
  const leaf = Buffer.alloc(64 * 1024 + 1); // leaf[0] stays 0x00
  const node = Buffer.alloc(65, 1);
  for (const l of lines) {
    leaf.set(l, 1);
    node.write(hash('sha256', leaf.subarray(0, l.length + 1), 'binary'), 1, 32, 'latin1');
    hash('sha256', node, 'binary');
  }
  const shaRate = rate(lines.length, performance.now() - t);
  // merkletreejs with its README's usage (hashLeaves, default hash): on at most 200,000 leaves of
  // the same data (its layers of crypto-js hashes take minutes and gigabytes beyond that).
  const sample = withMerkletreejs ? lines.slice(0, 200_000) : [];
  if (sample.length === 0) return { shaRate, merkletreejsRate: NaN, merkletreejsLeaves: 0 };
  t = performance.now();
  const tree = new MerkleTree(sample, undefined, { hashLeaves: true });
  check(tree.getRoot().length === 32, 'merkletreejs root');
  const merkletreejsRate = rate(sample.length, performance.now() - t);
  log(`  baselines: SHA-256 limit ${Math.round(shaRate)} ev/s, merkletreejs ${Math.round(merkletreejsRate)} ev/s on ${sample.length} leaves`);
  return { shaRate, merkletreejsRate, merkletreejsLeaves: sample.length };
}

export function stageSplit(report: SealReport): string {
  const s = report.stage_ms;
  const total = Object.values(s).reduce((a, b) => a + b, 0);
  return Object.entries(s)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s (${((100 * v) / total).toFixed(0)}%)`)
    .join(', ');
}
