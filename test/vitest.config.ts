import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration files each get their own database but share one RGW; two at a time fits 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
