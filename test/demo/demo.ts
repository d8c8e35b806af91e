/**
 * `npm run demo`: the life of an audit event on this machine, end to end. Starts a throwaway
 * Postgres and single-node Ceph RGW (localstack/stack.sh), creates an Object Lock bucket, ingests
 * generated events from several services, seals them under a signed checkpoint, shows the S3
 * refusing to delete what was sealed, verifies the archive, proves one event, exports one actor's
 * events to a bundle and verifies it offline, and stops everything.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLockedBucket } from '../../src/archive/bucket.js';
import { checkBucket } from '../../src/archive/protection.js';
import { createS3Client, S3ObjectStore } from '../../src/archive/s3.js';
import { LockRefusedError } from '../../src/archive/store.js';
import { systemClock } from '../../src/config/clock.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { appendEvents } from '../../src/events/ingest.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinSchedule } from '../../src/retention/builtin.js';
import { loadSigningKey } from '../../src/checkpoint/keys.js';
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { exportBundle } from '../../src/export/export.js';
import { encodeProof, verifyProofBytes } from '../../src/proof/proof.js';
import { createProver } from '../../src/proof/prove.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { verifyBundle } from '../../src/verify/bundle.js';
import { formatProblem } from '../../src/verify/problems.js';
import { generateEvents } from './generate.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const STACK = resolve(ROOT, 'localstack/stack.sh');
const say = (s = '') => process.stdout.write(s + '\n');
const head = (s: string) => say(`\n== ${s}`);

function startStack(): Record<string, string> {
  head('starting a throwaway Postgres and a single-node Ceph RGW on loopback (localstack/stack.sh)');
  const out = execFileSync('bash', [STACK, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1]!] = m[2]!;
  if (!env.DATABASE_URL || !env.WORMSEAL_S3_ENDPOINT) throw new Error(`stack.sh printed no endpoints:\n${out}`);
  return env;
}

async function main(): Promise<number> {
  const env = startStack();
  try {
    return await run(env);
  } finally {
    head('stopping the stack');
    spawnSync('bash', [STACK, 'stop', env.WORMSEAL_STACK_DIR!], { stdio: 'inherit' });
  }
}

async function run(env: Record<string, string>): Promise<number> {
  const pool = createPool(env.DATABASE_URL!);
  const client = createS3Client({
    region: env.AWS_REGION!,
    endpoint: env.WORMSEAL_S3_ENDPOINT!,
    accessKeyId: env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
  });
  const bucket = 'wormseal-demo';
  const store = new S3ObjectStore(client, bucket);
  const logger = createLogger({ level: 'warn' });
  const schedule = builtinSchedule();
  try {
    head('wormseal migrate');
    const m = await migrate(pool);
    say(`applied ${m.applied.join(', ')}`);

    head(`wormseal bucket create (s3://${bucket})`);
    await createLockedBucket(client, bucket, 1);
    for (const c of await checkBucket(store)) say(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);

    head('wormseal ingest: 2,000 generated events from five services, plus three bad ones');
    const events: unknown[] = generateEvents({ count: 2000, seed: 2026 });
    // Fresh copies of good events, each spoiled in one field (new ids: these are new events).
    const spoil = (i: number, patch: object) => {
      const { event_id: _old, ...rest } = events[i] as { event_id?: string };
      return { ...rest, ...patch };
    };
    events.push(
      spoil(0, { event_type: 'PaymentCreated' }),
      spoil(1, { occurred_at: '2026-02-30T10:00:00Z' }),
      spoil(2, { data: { amount: 2 ** 60 } }),
    );
    const ingest = await appendEvents({ pool, clock: systemClock, schedule, maxEventBytes: 65536 }, events);
    say(`accepted ${ingest.accepted}, rejected ${ingest.rejected}`);
    for (const e of ingest.errors) say(`  event ${e.index + 1}: ${e.reason}`);
    const again = await appendEvents({ pool, clock: systemClock, schedule, maxEventBytes: 65536 }, events.slice(0, 2000));
    say(`the same 2,000 again: accepted ${again.accepted}, of which already recorded ${again.duplicates} (nothing written)`);

    head('wormseal seal (batch size 400), with an Ed25519 key that signs a checkpoint of every stream head');
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const signingKey = loadSigningKey(pem, 'demo', null);
    const t0 = performance.now();
    const sealed = await sealAndCheckpoint({ pool, store, clock: systemClock, logger, config: { batchSize: 400, schedule, lagWarnSeconds: 300 }, signingKey });
    const ms = performance.now() - t0;
    const streams = new Set(sealed.batches.map((b) => `${b.stream.namespace}/${b.stream.retention_class}`));
    say(`${sealed.batches.length} batches in ${streams.size} streams, ${sealed.batches.reduce((n, b) => n + b.leaf_count, 0)} events, ${ms.toFixed(0)} ms`);
    for (const b of sealed.batches) {
      say(
        `  ${`${b.stream.namespace}/${b.stream.retention_class}`.padEnd(26)} #${b.batch_no}  ${String(b.leaf_count).padStart(4)} events  ` +
          `root ${b.root.slice(0, 16)}…  retain until ${b.retain_until.slice(0, 10)}`,
      );
      for (const o of b.objects) say(`      ${o.kind.padEnd(8)} ${o.key}  (version ${o.version_id})`);
    }
    if (!sealed.checkpoint) throw new Error(`no checkpoint: ${sealed.checkpoint_error ?? 'nothing sealed'}`);
    say(`checkpoint ${sealed.checkpoint.key}: ${sealed.checkpoint.heads.length} stream heads signed by ${sealed.checkpoint.signed_by}`);

    head('the S3 server enforces the lock');
    const first = sealed.batches[0]!;
    const data = first.objects[0]!;
    try {
      await store.delete(data.key, data.version_id);
      say(`!! the server deleted ${data.key}: this bucket does NOT enforce COMPLIANCE`);
      return 1;
    } catch (e) {
      if (!(e instanceof LockRefusedError)) throw e;
      say(`DeleteObject ${data.key} version ${data.version_id}: refused (${e.code})`);
    }
    try {
      await store.putRetention(data.key, data.version_id, { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 60_000) });
      say('!! the server shortened a COMPLIANCE retention');
      return 1;
    } catch (e) {
      if (!(e instanceof LockRefusedError)) throw e;
      say(`PutObjectRetention to one minute from now: refused (${e.code})`);
    }

    head('wormseal verify');
    const v = await verifyArchive({ pool, store, logger });
    for (const p of v.problems) say(formatProblem(p));
    say(`${v.batches_valid}/${v.batches_checked} batches valid, ${v.events_checked} events checked in ${v.streams_checked} streams: ${v.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    if (!v.ok) return 1;

    const sample = (await pool.query<{ event_id: string; actor_id: string }>(
        `SELECT event_id, actor_id FROM wormseal.events WHERE actor_id = (SELECT actor_id FROM wormseal.events
           WHERE actor_id LIKE 'u\\_%' GROUP BY actor_id ORDER BY count(*) DESC, actor_id LIMIT 1) ORDER BY txid, seq LIMIT 1`,
      )).rows[0]!;
    head(`wormseal prove ${sample.event_id}`);
    const proof = encodeProof(await createProver({ pool, store }).prove(sample.event_id));
    const pv = verifyProofBytes(proof);
    say(`${proof.length} bytes: leaf of ${pv.stream?.namespace}/${pv.stream?.retention_class} batch ${pv.batch_no}, chained to head ${pv.head_batch_no}, signed by ${pv.signed_by}: ${pv.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    const flipped = Buffer.from(proof);
    flipped[proof.length >> 1] = flipped[proof.length >> 1]! ^ 1;
    say(`the same proof with one bit flipped: ${verifyProofBytes(flipped).ok ? '!! VERIFIED' : 'NOT VERIFIED'}`);

    const out = join(mkdtempSync(join(tmpdir(), 'wormseal-demo-')), 'bundle');
    head(`wormseal export --actor ${sample.actor_id} --out ${out}`);
    const ex = await exportBundle({ pool, store, clock: systemClock, logger, schedule, maxEventBytes: 65536 }, { actor: sample.actor_id }, out, { id: 'demo-examiner', type: 'user' });
    say(`${ex.events} event(s) from ${ex.batches} batch(es); the export itself is audit event ${ex.audit_event_id}`);
    head(`wormseal verify-bundle ${out} (no database, no S3)`);
    const vb = await verifyBundle(out);
    for (const p of vb.problems) say(formatProblem(p));
    say(`${vb.batches_valid}/${vb.batches_checked} batches valid, ${vb.events_checked} event(s) checked: ${vb.ok ? 'VERIFIED' : 'NOT VERIFIED'}`);
    return vb.ok && pv.ok ? 0 : 1;
  } finally {
    await pool.end();
    client.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
