import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/**
 * Create a bucket fit for sealing: Object Lock on from birth (it cannot be added later on most
 * servers), versioning, and a default COMPLIANCE retention so nothing ever lands unlocked.
 * An existing bucket we own is left as it is and reported; `doctor` says whether it is fit.
 */
export async function createLockedBucket(
  client: S3Client,
  bucket: string,
  defaultRetentionDays: number,
): Promise<{ created: boolean }> {
  let created = true;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
    created = false;
  }
  if (created) {
    // Object Lock implies versioning on AWS; some servers want it said explicitly.
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: defaultRetentionDays } },
        },
      }),
    );
  }
  return { created };
}
