import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from '../support/store-contract.js';
import { setupHarness, type Harness } from './harness.js';

// The WORM evidence: the same contract as the in-memory store, against the real S3 server.
describe('S3ObjectStore on a real Object Lock bucket', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });
  storeContract(async () => {
    const h = await setupHarness('contract');
    harnesses.push(h);
    let skew = 0;
    const local = Date.now();
    skew = (await h.store.serverTime()).getTime() - local;
    return {
      store: h.store,
      now: () => new Date(Date.now() + skew),
      wait: (ms: number) => new Promise((r) => setTimeout(r, ms)),
    };
  });

  // getLock reads one HEAD when it names mode, retain-until and legal hold, and asks for each
  // otherwise: a version written without lock headers has only the bucket's default retention.
  it('reads the lock of a version written without lock headers', async () => {
    const h = await setupHarness('contract-default-lock');
    harnesses.push(h);
    const body = Buffer.from('{"b":2}\n');
    const put = await h.store.client.send(
      new PutObjectCommand({ Bucket: h.store.bucket, Key: 'c/default', Body: body, ContentMD5: createHash('md5').update(body).digest('base64') }),
    );
    const lock = await h.store.getLock('c/default', put.VersionId!);
    expect(lock.mode).toBe('COMPLIANCE');
    expect(lock.retainUntil!.getTime()).toBeGreaterThan((await h.store.serverTime()).getTime());
    expect(lock.legalHold).toBe(false);
  });
});
