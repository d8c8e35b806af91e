// Manual check that the S3 endpoint in the environment really enforces Object Lock (DESIGN.md
// decision 6: emulators often store lock settings without enforcing them).
//
//   eval "$(bash localstack/stack.sh env DIR)" && node localstack/check-worm.mjs
//
// Needs @aws-sdk/client-s3 from the repo's node_modules. Creates one bucket per run whose
// objects stay locked for up to 2 hours: only point it at a throwaway stack.
import { createHash, randomBytes } from 'node:crypto';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectLockConfigurationCommand,
  GetObjectLockConfigurationCommand,
  GetBucketVersioningCommand,
  PutObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  PutObjectRetentionCommand,
  GetObjectRetentionCommand,
  PutObjectLegalHoldCommand,
  GetObjectLegalHoldCommand,
} from '@aws-sdk/client-s3';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const s3 = new S3Client({
  endpoint: env('WORMSEAL_S3_ENDPOINT'),
  region: env('AWS_REGION'),
  credentials: { accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY') },
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

const Bucket = `worm-check-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const md5 = (b) => createHash('md5').update(b).digest('base64');
const inSeconds = (s) => new Date(Date.now() + s * 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let failures = 0;
const results = [];
function record(name, ok, detail) {
  results.push({ check: name, ok: ok ? 'yes' : 'NO', detail });
  if (!ok) failures++;
}
const errInfo = (e) => `${e.name} (HTTP ${e.$metadata?.httpStatusCode}): ${e.message}`;

async function expectOk(name, fn, check = () => true) {
  try {
    const out = await fn();
    const verdict = check(out);
    record(name, verdict === true, verdict === true ? 'ok' : String(verdict));
    return out;
  } catch (e) {
    record(name, false, `unexpected error ${errInfo(e)}`);
    return undefined;
  }
}

async function expectRefused(name, fn) {
  try {
    await fn();
    record(name, false, 'ACCEPTED (should have been refused)');
  } catch (e) {
    record(name, true, `refused: ${errInfo(e)}`);
  }
}

async function put(Key, Body, extra = {}) {
  return s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentMD5: md5(Body), ...extra }));
}

const t0 = Date.now();
await expectOk('CreateBucket ObjectLockEnabledForBucket', () =>
  s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true })),
);
await expectOk('PutObjectLockConfiguration COMPLIANCE 1 day', () =>
  s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
    }),
  ),
);
await expectOk(
  'GetObjectLockConfiguration reads back',
  () => s3.send(new GetObjectLockConfigurationCommand({ Bucket })),
  (o) => {
    const r = o.ObjectLockConfiguration?.Rule?.DefaultRetention;
    return (r?.Mode === 'COMPLIANCE' && r?.Days === 1) || JSON.stringify(o.ObjectLockConfiguration);
  },
);
await expectOk(
  'GetBucketVersioning = Enabled',
  () => s3.send(new GetBucketVersioningCommand({ Bucket })),
  (o) => o.Status === 'Enabled' || `Status=${o.Status}`,
);

// Default retention applies to a PUT without lock headers.
const plain = await expectOk('PutObject without lock headers', () => put('plain', Buffer.from('plain')));
await expectOk(
  'default retention applied (COMPLIANCE, ~1 day)',
  () => s3.send(new HeadObjectCommand({ Bucket, Key: 'plain', VersionId: plain?.VersionId })),
  (o) => {
    const hours = (new Date(o.ObjectLockRetainUntilDate).getTime() - Date.now()) / 3.6e6;
    return (o.ObjectLockMode === 'COMPLIANCE' && hours > 23 && hours <= 24.1) ||
      `mode=${o.ObjectLockMode} until=${o.ObjectLockRetainUntilDate?.toISOString?.()}`;
  },
);

const body = Buffer.from(`locked ${new Date().toISOString()}\n`);
const locked = await expectOk(
  'PutObject COMPLIANCE + RetainUntilDate + ContentMD5 returns VersionId',
  () => put('locked', body, { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inSeconds(3600) }),
  (o) => Boolean(o.VersionId) || 'no VersionId',
);
const VersionId = locked?.VersionId;

await expectRefused('PutObject with wrong ContentMD5', () =>
  s3.send(new PutObjectCommand({ Bucket, Key: 'badmd5', Body: body, ContentMD5: md5(Buffer.from('x')) })),
);
await expectRefused('DeleteObject locked version', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'locked', VersionId })),
);
await expectRefused('DeleteObject locked version with BypassGovernanceRetention', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'locked', VersionId, BypassGovernanceRetention: true })),
);
await expectRefused('PutObjectRetention to an earlier date', () =>
  s3.send(
    new PutObjectRetentionCommand({
      Bucket, Key: 'locked', VersionId,
      Retention: { Mode: 'COMPLIANCE', RetainUntilDate: inSeconds(1800) },
    }),
  ),
);
await expectRefused('PutObjectRetention COMPLIANCE -> GOVERNANCE', () =>
  s3.send(
    new PutObjectRetentionCommand({
      Bucket, Key: 'locked', VersionId,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: inSeconds(7200) },
    }),
  ),
);
const extended = inSeconds(7200);
await expectOk('PutObjectRetention extend', () =>
  s3.send(
    new PutObjectRetentionCommand({
      Bucket, Key: 'locked', VersionId,
      Retention: { Mode: 'COMPLIANCE', RetainUntilDate: extended },
    }),
  ),
);
await expectOk(
  'GetObjectRetention shows extension',
  () => s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'locked', VersionId })),
  (o) =>
    Math.abs(new Date(o.Retention.RetainUntilDate).getTime() - extended.getTime()) < 2000 ||
    `until=${o.Retention?.RetainUntilDate?.toISOString?.()}`,
);
await expectOk('PutObjectLegalHold ON', () =>
  s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'locked', VersionId, LegalHold: { Status: 'ON' } })),
);
await expectOk(
  'GetObjectLegalHold = ON',
  () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'locked', VersionId })),
  (o) => o.LegalHold?.Status === 'ON' || `Status=${o.LegalHold?.Status}`,
);
await expectOk('PutObjectLegalHold OFF', () =>
  s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'locked', VersionId, LegalHold: { Status: 'OFF' } })),
);
await expectOk(
  'GetObjectLegalHold = OFF',
  () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'locked', VersionId })),
  (o) => o.LegalHold?.Status === 'OFF' || `Status=${o.LegalHold?.Status}`,
);
// A plain DELETE (no version) is allowed: it only adds a delete marker; the version stays.
const marker = await expectOk(
  'DeleteObject without VersionId adds a delete marker',
  () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'locked' })),
  (o) => o.DeleteMarker === true || JSON.stringify(o),
);
await expectOk(
  'locked version still readable after delete marker',
  () => s3.send(new HeadObjectCommand({ Bucket, Key: 'locked', VersionId })),
  (o) => o.ContentLength === body.length || `len=${o.ContentLength}`,
);
if (marker?.VersionId) {
  await expectOk('delete marker itself can be removed', () =>
    s3.send(new DeleteObjectCommand({ Bucket, Key: 'locked', VersionId: marker.VersionId })),
  );
}

// Short retention: refused while running, allowed once expired; a legal hold still blocks.
const shortUntil = inSeconds(5);
const short = await expectOk('PutObject COMPLIANCE retain 5 s', () =>
  put('short', Buffer.from('short'), { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: shortUntil }),
);
const held = await expectOk('PutObject COMPLIANCE retain 5 s + legal hold ON', () =>
  put('held', Buffer.from('held'), {
    ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: shortUntil, ObjectLockLegalHoldStatus: 'ON',
  }),
);
await expectRefused('DeleteObject short version before expiry', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'short', VersionId: short?.VersionId })),
);
await sleep(Math.max(0, shortUntil.getTime() - Date.now()) + 2000);
await expectOk('DeleteObject short version after expiry', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'short', VersionId: short?.VersionId })),
);
await expectRefused('DeleteObject expired version under legal hold', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: held?.VersionId })),
);
await expectOk('release legal hold', () =>
  s3.send(new PutObjectLegalHoldCommand({
    Bucket, Key: 'held', VersionId: held?.VersionId, LegalHold: { Status: 'OFF' },
  })),
);
await expectOk('DeleteObject expired version after hold released', () =>
  s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: held?.VersionId })),
);

console.table(results);
console.log(`bucket ${Bucket}; ${results.length} checks, ${failures} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);
