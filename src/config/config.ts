import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadSigningKey, type SigningKey } from '../checkpoint/keys.js';
import { builtinSchedule } from '../retention/builtin.js';
import { parseDuration } from '../retention/duration.js';
import { loadScheduleFile, type RetentionSchedule } from '../retention/schedule.js';
import { ConfigError } from './errors.js';

/**
 * Configuration, read from the environment once at start-up (by the CLI only) and validated with
 * zod. Every error names the variable and says what a valid value looks like.
 */
export interface Config {
  databaseUrl: string;
  bucket: string;
  region: string;
  s3Endpoint: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  batchSize: number;
  sealConcurrency: number;
  maxEventBytes: number;
  sealCron: string | undefined;
  lagWarnSeconds: number;
  schedule: RetentionSchedule;
  /** ISO 8601 duration sealed hot rows stay in Postgres before `retention apply` purges them. */
  hotWindow: string;
  retentionCron: string | undefined;
  /** Ed25519 key that signs checkpoints; undefined when none is configured (doctor warns). */
  signingKey: SigningKey | undefined;
  /** RFC 3161 time-stamping authority that stamps each checkpoint (optional). */
  tsaUrl: string | undefined;
}

const positiveInt = (name: string, dflt: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

const urlLike = (name: string, protocols: string[]) =>
  z.string({ error: `${name} is not set` }).refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `${name} must be a ${protocols.join(' or ')} URL` },
  );

const envSchema = z.object({
  DATABASE_URL: urlLike('DATABASE_URL', ['postgres:', 'postgresql:']),
  WORMSEAL_BUCKET: z
    .string({ error: 'WORMSEAL_BUCKET is not set (the Object Lock bucket to seal into)' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'WORMSEAL_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)'),
  WORMSEAL_S3_ENDPOINT: urlLike('WORMSEAL_S3_ENDPOINT', ['http:', 'https:']).optional(),
  AWS_REGION: z.string({ error: 'AWS_REGION is not set (e.g. us-east-1)' }).min(1, 'AWS_REGION is empty'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  WORMSEAL_BATCH_SIZE: positiveInt('WORMSEAL_BATCH_SIZE', 100_000, 10_000_000),
  // Two streams at once keep both the thread pool (gzip) and the network busy; more mostly adds memory.
  WORMSEAL_SEAL_CONCURRENCY: positiveInt('WORMSEAL_SEAL_CONCURRENCY', 2, 64),
  WORMSEAL_MAX_EVENT_BYTES: positiveInt('WORMSEAL_MAX_EVENT_BYTES', 64 * 1024, 16 * 1024 * 1024),
  WORMSEAL_SEAL_CRON: z.string().min(1).optional(),
  WORMSEAL_LAG_WARN_SECONDS: positiveInt('WORMSEAL_LAG_WARN_SECONDS', 300, 86_400 * 30),
  WORMSEAL_RETENTION_FILE: z.string().min(1).optional(),
  WORMSEAL_HOT_WINDOW: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseDuration(v ?? 'P30D').text;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `WORMSEAL_HOT_WINDOW: ${(e as Error).message}` });
        return z.NEVER;
      }
    }),
  WORMSEAL_RETENTION_CRON: z.string().min(1).optional(),
  WORMSEAL_SIGNING_KEY_FILE: z.string().min(1).optional(),
  WORMSEAL_SIGNING_KEY: z.string().min(1).optional(),
  WORMSEAL_SIGNING_KEY_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'WORMSEAL_SIGNING_KEY_NAME must be 1-64 letters, digits, dots, underscores or hyphens').optional(),
  WORMSEAL_SIGNING_KEY_VALID_UNTIL: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'WORMSEAL_SIGNING_KEY_VALID_UNTIL must be a UTC instant like 2027-12-31T23:59:59Z')
    .optional(),
  WORMSEAL_TSA_URL: urlLike('WORMSEAL_TSA_URL', ['http:', 'https:']).optional(),
});

/** What each command needs; `migrate` needs no bucket, `ingest` no S3 at all. */
export type Needs = 'db' | 'db+s3';

export function loadConfig(env: NodeJS.ProcessEnv, needs: Needs = 'db+s3'): Config {
  const input = { ...env };
  if (needs === 'db') {
    // Commands that never touch S3 must not fail on missing S3 settings.
    input.WORMSEAL_BUCKET ??= 'unused-bucket';
    input.AWS_REGION ??= 'unused';
  }
  for (const k of Object.keys(input)) if (input[k] === '') delete input[k];
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.message.startsWith(String(i.path[0])) ? '' : `${String(i.path[0])}: `}${i.message}`);
    throw new ConfigError(`configuration error:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError('configuration error:\n  set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (to use the SDK credential chain)');
  }
  return {
    databaseUrl: e.DATABASE_URL,
    bucket: e.WORMSEAL_BUCKET,
    region: e.AWS_REGION,
    s3Endpoint: e.WORMSEAL_S3_ENDPOINT,
    accessKeyId: e.AWS_ACCESS_KEY_ID,
    secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
    batchSize: e.WORMSEAL_BATCH_SIZE,
    sealConcurrency: e.WORMSEAL_SEAL_CONCURRENCY,
    maxEventBytes: e.WORMSEAL_MAX_EVENT_BYTES,
    sealCron: e.WORMSEAL_SEAL_CRON,
    lagWarnSeconds: e.WORMSEAL_LAG_WARN_SECONDS,
    schedule: e.WORMSEAL_RETENTION_FILE ? loadScheduleFile(e.WORMSEAL_RETENTION_FILE) : builtinSchedule(),
    hotWindow: e.WORMSEAL_HOT_WINDOW,
    retentionCron: e.WORMSEAL_RETENTION_CRON,
    signingKey: signingKeyFrom(e),
    tsaUrl: e.WORMSEAL_TSA_URL,
  };
}

/** The checkpoint signing key, from a PEM file or the PEM text itself (one of the two). */
function signingKeyFrom(e: z.infer<typeof envSchema>): SigningKey | undefined {
  if (e.WORMSEAL_SIGNING_KEY_FILE && e.WORMSEAL_SIGNING_KEY) {
    throw new ConfigError('configuration error:\n  set WORMSEAL_SIGNING_KEY_FILE or WORMSEAL_SIGNING_KEY, not both');
  }
  let pem = e.WORMSEAL_SIGNING_KEY;
  if (e.WORMSEAL_SIGNING_KEY_FILE) {
    try {
      pem = readFileSync(e.WORMSEAL_SIGNING_KEY_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`configuration error:\n  WORMSEAL_SIGNING_KEY_FILE: cannot read ${e.WORMSEAL_SIGNING_KEY_FILE}: ${(err as Error).message}`);
    }
  }
  if (!pem) return undefined;
  try {
    const until = e.WORMSEAL_SIGNING_KEY_VALID_UNTIL ? new Date(e.WORMSEAL_SIGNING_KEY_VALID_UNTIL) : null;
    return loadSigningKey(pem, e.WORMSEAL_SIGNING_KEY_NAME ?? 'wormseal', until);
  } catch (err) {
    const source = e.WORMSEAL_SIGNING_KEY_FILE ? 'WORMSEAL_SIGNING_KEY_FILE' : 'WORMSEAL_SIGNING_KEY';
    throw new ConfigError(`configuration error:\n  ${source}: ${(err as Error).message}`);
  }
}
