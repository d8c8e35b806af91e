/**
 * The archive holds something other than what the registry says it should: never overwritten,
 * never skipped. The batch stays pending until a person has looked (DESIGN 5).
 */
export class SealAlarmError extends Error {
  override name = 'SealAlarmError';
}

/** The bucket is not safe to seal into (no Object Lock, versioning or default COMPLIANCE). */
export class UnsafeBucketError extends Error {
  override name = 'UnsafeBucketError';
}
