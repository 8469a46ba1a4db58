import { defineConfig } from "vitest/config";

/*
 * The compose stack suite (deploy/stack/test), apart from the root config: it needs the images,
 * Docker Compose, k6 and a container engine that deploy/stack/run.sh prepares, and takes minutes,
 * so `pnpm test` does not run it: `bash deploy/stack/run.sh test` does.
 */
export default defineConfig({
  test: {
    name: "stack",
    root: import.meta.dirname,
    include: ["test/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    retry: 0,
    reporters: ["default"],
  },
});
