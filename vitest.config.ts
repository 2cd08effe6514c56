import { defineConfig } from 'vitest/config';

// Native code (the addon, Dawn) runs in child processes, not worker threads: `forks`.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: true,
  },
});
