import type { ObjectStore } from './store.js';

/** One bucket requirement (DESIGN 6), with what to do when it is not met. */
export interface BucketCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/**
 * Check that the bucket itself enforces WORM: Object Lock enabled, versioning on, and a default
 * COMPLIANCE retention (so that even an object written by another tool without lock headers is
 * locked). Sealing refuses a bucket that fails any of these.
 */
export async function checkBucket(store: ObjectStore): Promise<BucketCheck[]> {
  const p = await store.bucketProtection();
  const checks: BucketCheck[] = [];
  checks.push({
    name: 'object-lock',
    ok: p.objectLockEnabled,
    detail: p.objectLockEnabled ? 'Object Lock is enabled' : 'Object Lock is not enabled on the bucket',
    ...(p.objectLockEnabled
      ? {}
      : {
          fix: 'Object Lock can only be turned on when a bucket is created (or by AWS support): create a new bucket with `wormseal bucket create` and point WORMSEAL_BUCKET at it',
        }),
  });
  checks.push({
    name: 'versioning',
    ok: p.versioning === 'Enabled',
    detail: `versioning is ${p.versioning}`,
    ...(p.versioning === 'Enabled'
      ? {}
      : { fix: 'enable versioning (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled); Object Lock needs it' }),
  });
  const d = p.defaultRetention;
  const okDefault = d?.mode === 'COMPLIANCE';
  checks.push({
    name: 'default-retention',
    ok: okDefault,
    detail: d ? `default retention ${d.mode} ${d.years ? `${d.years} years` : `${d.days ?? 0} days`}` : 'no default retention',
    ...(okDefault
      ? {}
      : {
          fix: 'set a default COMPLIANCE retention so nothing lands unlocked: aws s3api put-object-lock-configuration --object-lock-configuration \'{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}\'',
        }),
  });
  return checks;
}

/** Local clock against the server's. Retain-until dates and expiry are judged by the server. */
export async function checkClockSkew(store: ObjectStore, localNow: () => Date, maxSkewMs = 30_000): Promise<BucketCheck> {
  const before = localNow().getTime();
  const server = (await store.serverTime()).getTime();
  const after = localNow().getTime();
  // The Date header has one-second resolution; compare against the middle of the round trip.
  const skew = server - (before + after) / 2;
  const ok = Math.abs(skew) <= maxSkewMs;
  return {
    name: 'clock-skew',
    ok,
    detail: `server clock is ${(skew / 1000).toFixed(1)} s ${skew >= 0 ? 'ahead of' : 'behind'} this host`,
    ...(ok ? {} : { fix: `synchronize this host's clock (NTP); skew over ${maxSkewMs / 1000} s shifts every retain-until date` }),
  };
}
