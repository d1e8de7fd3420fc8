import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Each file drives real engines and a real S3 server; minutes, not seconds.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
