import type { SealDeps } from '../seal/deps.js';
import { sealAll, type SealReport } from '../seal/seal.js';
import type { SigningKey } from './keys.js';
import { writeCheckpoint, type WrittenCheckpoint } from './write.js';

export interface SealAndCheckpointReport extends SealReport {
  /** The checkpoint this run wrote; null when no key is configured or no stream head moved. */
  checkpoint: WrittenCheckpoint | null;
  /** Why the checkpoint could not be written (the batches above are sealed regardless). */
  checkpoint_error?: string;
}

/**
 * A sealing run followed by a signed checkpoint of every stream head (DESIGN 9). Without a signing
 * key sealing still works, but nothing anchors the heads outside the database: the run warns, and
 * `wormseal doctor` says so. A checkpoint that fails is reported, not thrown: the batches are sealed.
 */
export async function sealAndCheckpoint(
  deps: SealDeps & { signingKey: SigningKey | undefined; tsaUrl?: string | undefined },
  opts: { namespace?: string } = {},
): Promise<SealAndCheckpointReport> {
  const report = await sealAll(deps, opts);
  if (!deps.signingKey) {
    deps.logger.warn('no signing key configured (WORMSEAL_SIGNING_KEY_FILE): stream heads are not checkpointed; see wormseal doctor');
    return { ...report, checkpoint: null };
  }
  try {
    const checkpoint = await writeCheckpoint({ ...deps, signingKey: deps.signingKey });
    return { ...report, checkpoint: checkpoint ?? null };
  } catch (e) {
    deps.logger.error(`checkpoint: ${(e as Error).message}`);
    return { ...report, checkpoint: null, checkpoint_error: (e as Error).message };
  }
}
