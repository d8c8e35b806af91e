import { createS3Client, S3ObjectStore } from '../archive/s3.js';
import { systemClock } from '../config/clock.js';
import { loadConfig, type Config, type Needs } from '../config/config.js';
import { createPool, type Pool } from '../db/pool.js';
import { createLogger, type Logger } from '../log/logger.js';

/** Everything a command needs, built once from the environment. */
export interface Context {
  config: Config;
  pool: Pool;
  logger: Logger;
  store(): S3ObjectStore;
  close(): Promise<void>;
}

export function createContext(needs: Needs, opts: { verbose?: boolean } = {}): Context {
  const config = loadConfig(process.env, needs);
  const logger = createLogger({ level: opts.verbose ? 'debug' : 'info', json: process.env.WORMSEAL_LOG_FORMAT === 'json' });
  const pool = createPool(config.databaseUrl);
  let store: S3ObjectStore | undefined;
  return {
    config,
    pool,
    logger,
    store() {
      store ??= new S3ObjectStore(
        createS3Client({
          region: config.region,
          endpoint: config.s3Endpoint,
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
        }),
        config.bucket,
      );
      return store;
    },
    async close() {
      await pool.end();
      store?.client.destroy();
    },
  };
}

export const clock = systemClock;
