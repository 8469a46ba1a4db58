import { defineConfig } from "vitest/config";

/*
 * One vitest run over every package. Tests talk to real processes (gateways, redis-server,
 * haproxy, chromium), so waits are long-bounded but never unbounded, and there are no retries:
 * a flaky test is a bug to fix, not to hide.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "protocol",
          root: "packages/protocol",
          include: ["test/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "gateway",
          root: "services/gateway",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
    retry: 0,
    reporters: ["default"],
  },
});
