import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataKey, manifestKey } from '../../src/archive/layout.js';
import { decodeManifest } from '../../src/archive/manifest.js';
import { signCheckpoint, decodeCheckpointBody } from '../../src/checkpoint/checkpoint.js';
import { encodeKeyDocument, loadSigningKey, type SigningKey } from '../../src/checkpoint/keys.js';
import { parseNote } from '../../src/checkpoint/note.js';
import { sealAndCheckpoint } from '../../src/checkpoint/run.js';
import { systemClock } from '../../src/config/clock.js';
import { canonicalBytes } from '../../src/events/canonical.js';
import { appendEvents } from '../../src/events/ingest.js';
import { objectPath, type Bundle } from '../../src/export/format.js';
import { createProver } from '../../src/proof/prove.js';
import { verifyProofBytes, encodeProof } from '../../src/proof/proof.js';
import { verifyArchive } from '../../src/verify/archive.js';
import { verifyBundle } from '../../src/verify/bundle.js';
import { generateEvents } from '../demo/generate.js';
import { ROOT, runCli, setupHarness, TEST_SCHEDULE, waitUntilSealable, type Harness } from './harness.js';

/** The manual procedure of docs/FORMAT.md §17, exactly as printed there. */
function manualScript(): string {
  const doc = readFileSync(join(ROOT, 'docs/FORMAT.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 17.'));
  return section.slice(section.indexOf('```sh\n') + 6, section.indexOf('\n```', section.indexOf('```sh')));
}

const newKey = (name = 'wormseal'): { key: SigningKey; pem: string } => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { key: loadSigningKey(pem, name, null), pem };
};

describe('examiner toolkit: checkpoints, proofs, bundles', () => {
  let h: Harness;
  let signer: { key: SigningKey; pem: string };
  let env: Record<string, string>;
  const tmp = mkdtempSync(join(tmpdir(), 'wormseal-examine-'));
  const bundleDir = join(tmp, 'bundle');
  const ingest = () => ({ pool: h.pool, clock: systemClock, schedule: h.schedule, maxEventBytes: 65536 });
  const seal = () => sealAndCheckpoint({ ...h.sealDeps({ batchSize: 3 }), signingKey: signer.key });

  beforeAll(async () => {
    h = await setupHarness('examine', { schedule: TEST_SCHEDULE });
    signer = newKey();
    writeFileSync(join(tmp, 'signing.pem'), signer.pem);
    env = { ...h.env, WORMSEAL_SIGNING_KEY_FILE: join(tmp, 'signing.pem') };
    const payments = generateEvents({ count: 14, seed: 7 }).map((e, i) => ({
      ...e,
      namespace: 'exam',
      event_type: 'payment.created',
      actor: { id: i % 2 ? 'u_ana' : 'u_bob', type: 'user' as const },
    }));
    const logins = generateEvents({ count: 5, seed: 8 }).map((e) => ({ ...e, namespace: 'exam', event_type: 'user.login' }));
    expect((await appendEvents(ingest(), [...payments, ...logins])).accepted).toBe(19);
    await waitUntilSealable(h.pool);
    const first = await seal();
    expect(first.failures).toEqual([]);
    expect(first.checkpoint?.heads).toHaveLength(2);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('seal signs a checkpoint of every stream head, and writes none when no head moved', async () => {
    const again = await seal();
    expect(again.checkpoint).toBeNull();
    const more = generateEvents({ count: 4, seed: 9 }).map((e) => ({ ...e, namespace: 'exam', event_type: 'payment.created', actor: { id: 'u_ana', type: 'user' as const } }));
    await appendEvents(ingest(), more);
    await waitUntilSealable(h.pool);
    const next = await seal();
    const heads = next.checkpoint!.heads;
    expect(heads.find((x) => x.retention_class === 'sox-7y')?.batch_no).toBe(7); // 14 payments in batches 1-5 (3,3,3,3,2), then 4 in batches 6-7
    expect(heads.find((x) => x.retention_class === 'soc2-1y')?.batch_no).toBe(2);
    const lock = await h.store.getLock(next.checkpoint!.key, next.checkpoint!.version_id);
    expect(lock.mode).toBe('COMPLIANCE');
    const clean = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    expect(clean.problems).toEqual([]);
  });

  it('prove gives a proof that verify-proof accepts, and any single changed byte makes it fail', async () => {
    const { rows } = await h.pool.query(
      `SELECT event_id FROM wormseal.events WHERE namespace = 'exam' AND retention_class = 'sox-7y' ORDER BY txid, seq OFFSET 13 LIMIT 1`,
    );
    const id = rows[0].event_id as string;
    expect((await runCli(['prove', 'not-a-uuid'], { env })).code).toBe(2);
    const unknown = await runCli(['prove', '00000000-0000-4000-8000-000000000000'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/neither in the hot store nor in any batch/);
    const cli = await runCli(['prove', id], { env });
    expect(cli.stderr).not.toMatch(/error/i);
    expect(cli.code).toBe(0);
    const file = join(tmp, 'proof.json');
    writeFileSync(file, cli.stdout);
    const ok = await runCli(['verify-proof', file], { env: {} });
    expect(ok.stdout).toContain('VERIFIED');
    expect(ok.code).toBe(0);

    // Batch 5 of 7: the proof carries two following manifests, so every part of the format is flipped.
    const bytes = encodeProof(await createProver({ pool: h.pool, store: h.store }).prove(id));
    expect(bytes.equals(Buffer.from(cli.stdout))).toBe(true);
    expect(verifyProofBytes(bytes).ok).toBe(true);
    const passed: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x20]) {
        const changed = Buffer.from(bytes);
        changed[i] = changed[i]! ^ mask;
        if (verifyProofBytes(changed).ok) passed.push(i);
      }
    }
    expect(passed).toEqual([]);
    const flipped = Buffer.from(bytes);
    flipped[100] = flipped[100]! ^ 0x01;
    writeFileSync(file, flipped);
    const bad = await runCli(['verify-proof', file], { env: {} });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('NOT VERIFIED');
  });

  it('export writes a bundle that verify-bundle accepts with no database or S3 settings, and records the export', async () => {
    const out = await runCli(['export', '--out', bundleDir, '--namespace', 'exam', '--by', 'examiner@test', '--json'], { env });
    expect(out.stderr).not.toMatch(/error/i);
    expect(out.code).toBe(0);
    const res = JSON.parse(out.stdout);
    expect(res.events).toBe(23);
    const v = await runCli(['verify-bundle', bundleDir, '--json'], { env: {} });
    const report = JSON.parse(v.stdout);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, batches_checked: 9, batches_valid: 9, events_checked: 23 });
    expect(v.code).toBe(0);
    const text = await runCli(['verify-bundle', bundleDir], { env: {} });
    expect(text.stdout).toContain('9/9 batches valid');
    // An examiner who pins the operator's key document: accepted; pinning another key: rejected.
    const keyDoc = join(bundleDir, objectPath(JSON.parse(readFileSync(join(bundleDir, 'bundle.json'), 'utf8')).keys[0].key));
    expect((await runCli(['verify-bundle', bundleDir, '--key', keyDoc], { env: {} })).code).toBe(0);
    const other = join(tmp, 'other-key.note');
    writeFileSync(other, encodeKeyDocument(newKey().key, new Date()));
    const pinned = await runCli(['verify-bundle', bundleDir, '--key', other], { env: {} });
    expect(pinned.code).toBe(1);
    expect(pinned.stdout).toMatch(/^SIGNATURE_INVALID exam\/sox-7y /m);
    const audit = await h.pool.query(`SELECT event_type, actor_id, convert_from(canonical, 'UTF8') AS c FROM wormseal.events WHERE event_id = $1`, [res.audit_event_id]);
    expect(audit.rows[0]).toMatchObject({ event_type: 'audit_export.created', actor_id: 'examiner@test' });
    expect(JSON.parse(audit.rows[0].c).data.events).toBe(23);

    // An export that cannot be recorded as an audit event does not exist either.
    const unrecorded = join(tmp, 'unrecorded');
    const refused = await runCli(['export', '--out', unrecorded, '--namespace', 'exam', '--by', 'x'.repeat(300)], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/recording the export as an audit event failed, so the bundle was removed: actor\.id/);
    expect(readdirSync(unrecorded)).toEqual([]);

    const byActor = join(tmp, 'by-actor');
    const ana = await runCli(['export', '--out', byActor, '--actor', 'u_ana', '--json'], { env });
    expect(ana.code).toBe(0);
    const listed = readFileSync(join(byActor, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(listed).toHaveLength(11); // 7 of the first 14 and the 4 later ones
    expect(listed.every((e) => e.actor.id === 'u_ana')).toBe(true);
    expect((await verifyBundle(byActor)).problems).toEqual([]);
  });

  describe('tamper corpus on the exported bundle', () => {
    const bundle = (): Bundle => JSON.parse(readFileSync(join(bundleDir, 'bundle.json'), 'utf8'));
    const pay = { namespace: 'exam', retention_class: 'sox-7y' };
    const variant = (name: string, mutate: (dir: string) => void) => {
      const dir = join(tmp, `tamper-${name}`);
      cpSync(bundleDir, dir, { recursive: true });
      mutate(dir);
      return verifyBundle(dir);
    };
    const editData = (dir: string, batchNo: number, edit: (lines: string[]) => string[]) => {
      const p = join(dir, objectPath(dataKey(pay, batchNo)));
      const lines = gunzipSync(readFileSync(p)).toString('utf8').split('\n').slice(0, -1);
      writeFileSync(p, gzipSync(edit(lines).join('\n') + '\n'));
    };
    const findings = (r: Awaited<ReturnType<typeof verifyBundle>>) => [...new Set(r.problems.map((p) => `${p.reason}@${p.batch_no}`))].sort();

    it('the untouched copy verifies', async () => {
      expect((await variant('none', () => {})).problems).toEqual([]);
    });

    it.each([
      ['byte flipped in one line', (d: string) => editData(d, 2, (l) => [l[0]!, l[1]!.replace('"success"', '"succesS"'), l[2]!])],
      ['line removed', (d: string) => editData(d, 2, (l) => l.slice(1))],
      ['two lines swapped', (d: string) => editData(d, 2, (l) => [l[1]!, l[0]!, l[2]!])],
      ['line appended', (d: string) => editData(d, 2, (l) => [...l, l[0]!.replace(/"event_id":"[0-9a-f]/, '"event_id":"0')])],
      ['extra gzip member appended', (d: string) => {
        const p = join(d, objectPath(dataKey(pay, 2)));
        writeFileSync(p, Buffer.concat([readFileSync(p), gzipSync('{"forged":true}\n')]));
      }],
    ])('%s: content_changed on the data object', async (name, mutate) => {
      const r = await variant(name.replace(/ /g, '-'), mutate);
      expect(r.ok).toBe(false);
      expect(r.problems.filter((p) => p.reason !== 'content_changed')).toEqual([]);
      expect(r.problems.some((p) => p.batch_no === 2 && p.object === dataKey(pay, 2))).toBe(true);
    });

    it('manifest field edited: content_changed on that manifest only', async () => {
      const r = await variant('manifest-field', (d) => {
        const p = join(d, objectPath(manifestKey(pay, 3)));
        const m = decodeManifest(readFileSync(p));
        writeFileSync(p, canonicalBytes({ ...m, sealed_at: '2020-01-01T00:00:00.000Z' }));
      });
      expect(findings(r)).toEqual(['content_changed@3']);
      expect(r.problems[0]!.object).toBe(manifestKey(pay, 3));
    });

    it('a batch removed: missing; two consecutive batches removed: two findings; the last one removed: truncated', async () => {
      const rm = (d: string, n: number) => rmSync(join(d, objectPath(manifestKey(pay, n))).replace(/manifest\.json$/, ''), { recursive: true });
      expect(findings(await variant('one-batch', (d) => rm(d, 3)))).toEqual(['missing@3']);
      const two = await variant('two-batches', (d) => (rm(d, 3), rm(d, 4)));
      expect(findings(two)).toEqual(['missing@3', 'missing@4']);
      expect(two.batches_valid).toBe(7);
      // Timelines for the HTML report: the batches the bundle holds; the removed ones only as findings.
      const pays = two.streams.find((x) => x.stream.retention_class === 'sox-7y')!.batches;
      expect(pays.map((b) => b.batch_no)).toEqual([1, 2, 5, 6, 7]);
      expect(pays.find((b) => b.batch_no === 2)).toMatchObject({ leaf_count: 3, state: 'valid' });
      expect(findings(await variant('tail', (d) => rm(d, 7)))).toEqual(['truncated@7']);
    });

    it('checkpoint signature altered, or signed by an unknown key: signature_invalid', async () => {
      const cp = (d: string) => join(d, objectPath(bundle().checkpoint.key));
      const altered = await variant('cp-sig', (d) => {
        const text = readFileSync(cp(d), 'utf8');
        const at = text.length - 12; // inside the signature, past the 4-byte key id
        writeFileSync(cp(d), text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
      });
      expect(findings(altered)).toEqual(['signature_invalid@null']);
      const forged = await variant('cp-unknown', (d) => {
        const body = parseNote(readFileSync(cp(d), 'utf8')).body;
        writeFileSync(cp(d), signCheckpoint(decodeCheckpointBody(body), newKey().key));
      });
      expect(findings(forged)).toEqual(['signature_invalid@null']);
      expect(forged.problems[0]!.detail).toMatch(/unknown key/);
      expect(forged.checkpoint).toBeNull();
    });

    it('a proof path edited: proof_invalid', async () => {
      const r = await variant('proof', (d) => {
        const p = join(d, 'proofs.ndjson');
        const lines = readFileSync(p, 'utf8').split('\n');
        const first = JSON.parse(lines[0]!);
        first.audit_path[0] = (first.audit_path[0][0] === '0' ? '1' : '0') + first.audit_path[0].slice(1);
        lines[0] = JSON.stringify(first);
        writeFileSync(p, lines.join('\n'));
      });
      expect(findings(r)).toEqual([`proof_invalid@${JSON.parse(readFileSync(join(bundleDir, 'proofs.ndjson'), 'utf8').split('\n')[0]!).batch_no}`]);
    });

    it('a selected event dropped from the listing (with its proof and the count): missing', async () => {
      const r = await variant('dropped-event', (d) => {
        const drop = (f: string) => {
          const lines = readFileSync(join(d, f), 'utf8').split('\n');
          lines.splice(4, 1);
          writeFileSync(join(d, f), lines.join('\n'));
        };
        drop('events.ndjson');
        drop('proofs.ndjson');
        const b = bundle();
        b.events.count--;
        writeFileSync(join(d, 'bundle.json'), JSON.stringify(b));
      });
      const proof = JSON.parse(readFileSync(join(bundleDir, 'proofs.ndjson'), 'utf8').split('\n')[4]!);
      expect(findings(r)).toEqual([`missing@${proof.batch_no}`]);
      expect(r.problems[0]!.detail).toMatch(/matches the selection but is not listed/);
    });

    it('events dropped from the first and the last batch of a stream (past the batches read ahead): both missing, in batch order', async () => {
      const proofs = readFileSync(join(bundleDir, 'proofs.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const at = (no: number) => proofs.findIndex((p) => p.namespace === 'exam' && p.retention_class === 'sox-7y' && p.batch_no === no);
      const head = Math.max(...proofs.filter((p) => p.retention_class === 'sox-7y').map((p) => p.batch_no));
      expect(head).toBeGreaterThan(4); // more batches than verify-bundle reads ahead on two cores
      const drop = [at(1), at(head)].sort((a, b) => b - a);
      expect(drop.every((i) => i >= 0)).toBe(true);
      const r = await variant('first-and-last', (d) => {
        for (const f of ['events.ndjson', 'proofs.ndjson']) {
          const lines = readFileSync(join(d, f), 'utf8').split('\n');
          for (const i of drop) lines.splice(i, 1);
          writeFileSync(join(d, f), lines.join('\n'));
        }
        const b = bundle();
        b.events.count -= 2;
        writeFileSync(join(d, 'bundle.json'), JSON.stringify(b));
      });
      expect(r.problems.map((p) => `${p.reason}@${p.stream.retention_class}/${p.batch_no}`)).toEqual(['missing@sox-7y/1', `missing@sox-7y/${head}`]);
      expect(r.events_checked).toBe(bundle().events.count - 2);
    });

    it('a lock recorded weaker than COMPLIANCE: lock_weaker', async () => {
      const r = await variant('lock', (d) => {
        const b = bundle();
        b.streams.find((s) => s.retention_class === 'sox-7y')!.batches[0]!.data!.lock.mode = 'GOVERNANCE';
        writeFileSync(join(d, 'bundle.json'), JSON.stringify(b));
      });
      expect(findings(r)).toEqual(['lock_weaker@1']);
    });

    it('the manual procedure of FORMAT.md (sha256sum, gzip, openssl) accepts intact batches and rejects tampered ones', () => {
      const run = (dir: string, n: number, next?: number) => {
        const cwd = mkdtempSync(join(tmp, 'manual-'));
        const pad = (x: number) => String(x).padStart(12, '0');
        return spawnSync('bash', ['-c', manualScript()], {
          cwd,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', B: dir, NS: 'exam', CLASS: 'sox-7y', N: pad(n), NEXT: next ? pad(next) : '' },
        });
      };
      const head = run(bundleDir, 7);
      expect(head.status, head.stderr).toBe(0);
      expect(head.stdout).toContain('Signature Verified Successfully');
      expect(head.stdout).toContain('batch 000000000007 of exam/sox-7y verified');
      expect(run(bundleDir, 2, 3).status).toBe(0);
      expect(run(join(tmp, 'tamper-byte-flipped-in-one-line'), 2, 3).status).not.toBe(0);
      expect(run(join(tmp, 'tamper-manifest-field'), 3, 4).status).not.toBe(0);
      expect(run(join(tmp, 'tamper-cp-sig'), 7).status).not.toBe(0);
      // The bundle's VERIFY.md carries the same script.
      expect(readFileSync(join(bundleDir, 'VERIFY.md'), 'utf8')).toContain(manualScript());
    });

    it('verify-bundle names every finding on its own line and exits 1', async () => {
      const dir = join(tmp, 'tamper-two-batches');
      const html = join(tmp, 'tamper-two-batches.html');
      const v = await runCli(['verify-bundle', dir, '--report', html], { env: {} });
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(/^MISSING exam\/sox-7y batch 3 v1\/streams\/exam\/sox-7y\/000000000003\/manifest\.json: /m);
      expect(v.stdout).toMatch(/^MISSING exam\/sox-7y batch 4 /m);
      expect(v.stdout).toContain('7/9 batches valid');
      // The same verdict as an HTML page, offline: the two absent batches marked on the timeline.
      const page = readFileSync(html, 'utf8');
      expect(page).toMatch(/<title>NOT VERIFIED/);
      expect(page).toContain('7/9 batches valid');
      expect(page).toContain('No holds registry');
      expect(page.match(/class="[^"]*st-absent/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    });
  });

  it('after the hot rows of a batch are purged, prove and export fall back to its sealed data object', async () => {
    const { rows } = await h.pool.query(
      `SELECT e.event_id FROM wormseal.events e JOIN wormseal.batches b ON b.namespace = e.namespace AND b.retention_class = e.retention_class
         AND b.batch_no = 1 AND (e.txid, e.seq) >= (b.first_txid, b.first_seq) AND (e.txid, e.seq) <= (b.last_txid, b.last_seq)
       WHERE e.namespace = 'exam' AND e.retention_class = 'sox-7y' ORDER BY e.txid, e.seq`,
    );
    expect(rows).toHaveLength(3);
    // Purging is the retention job's (issue 3); a superuser stands in for it here.
    await h.pool.query('ALTER TABLE wormseal.events DISABLE TRIGGER events_no_update_delete');
    await h.pool.query('DELETE FROM wormseal.events WHERE event_id = ANY($1::uuid[])', [rows.map((r) => r.event_id)]);
    await h.pool.query('ALTER TABLE wormseal.events ENABLE TRIGGER events_no_update_delete');
    const proof = await createProver({ pool: h.pool, store: h.store }).prove(rows[1].event_id);
    expect(proof.leaf_index).toBe(1);
    expect(verifyProofBytes(encodeProof(proof)).ok).toBe(true);
    const dir = join(tmp, 'after-purge');
    const ana = await runCli(['export', '--out', dir, '--actor', 'u_ana', '--json'], { env });
    expect(ana.code).toBe(0);
    expect(JSON.parse(ana.stdout).events).toBe(11);
    expect((await verifyBundle(dir)).problems).toEqual([]);
  });

  it('doctor warns without a signing key and shows the published one with it; a bad key file is a config error', async () => {
    const without = JSON.parse((await runCli(['doctor', '--json'], { env: h.env })).stdout);
    expect(without.checks.find((c: { name: string }) => c.name === 'signing-key')).toMatchObject({ ok: true, detail: /no signing key/, fix: /openssl genpkey/ });
    const withKey = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout);
    expect(withKey.checks.find((c: { name: string }) => c.name === 'signing-key')).toMatchObject({ ok: true, detail: new RegExp(`${signer.key.keyId} published`) });
    const bad = await runCli(['seal'], { env: { ...h.env, WORMSEAL_SIGNING_KEY_FILE: join(tmp, 'absent.pem') } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/WORMSEAL_SIGNING_KEY_FILE: cannot read/);
  });

  it('verify checks the checkpoints in the bucket: a head beyond the registry is a cut tail', async () => {
    await h.pool.query(`DELETE FROM wormseal.batches WHERE namespace = 'exam' AND retention_class = 'soc2-1y' AND batch_no = 2`);
    // A checkpoint forged with a key that was never published.
    // The next run must not sign the shortened chain.
    const after = await seal();
    expect(after.checkpoint).toBeNull();
    expect(after.checkpoint_error).toMatch(/refusing to sign: exam\/soc2-1y ends at batch 1 in the registry/);
    const forged = signCheckpoint({ origin: h.store.name, time: new Date(), heads: [] }, newKey().key);
    await h.store.put('v1/checkpoints/29991231T000000.000Z-forged.note', Buffer.from(forged), {
      lock: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() + 86_400_000) },
      legalHold: false,
      contentType: 'text/plain; charset=utf-8',
    });
    const r = await verifyArchive({ pool: h.pool, store: h.store, logger: h.logger });
    const cut = r.problems.filter((p) => p.stream.retention_class === 'soc2-1y');
    expect(cut.map((p) => `${p.reason}@${p.batch_no}`)).toEqual(['truncated@2']);
    expect(r.problems.filter((p) => p.reason === 'signature_invalid').map((p) => p.object)).toEqual(['v1/checkpoints/29991231T000000.000Z-forged.note']);
  });
});
