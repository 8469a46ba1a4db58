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
          exclude: ["test/hostile/**"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // `pnpm test:hostile`: fuzzers and hostile payloads against real gateways (SECURITY.md).
        test: {
          name: "hostile",
          root: "services/gateway",
          include: ["test/hostile/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "client",
          root: "packages/client",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "cli",
          root: "packages/cli",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "deploy",
          root: "deploy",
          include: ["test/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          name: "web",
          root: "services/web",
          include: ["test/**/*.test.ts"],
          // Chromium + HAProxy + 3 gateways + Redis on a 2-core machine: bounded, but generously.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "scripts",
          root: "scripts",
          include: ["test/**/*.test.ts"],
          // Starts whole local clusters (3 gateways + Redis) the way `pnpm start` does.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The load generator's scenarios, tiny, against real gateways (and the peers); the shared
        // k6/lib protocol modules. Runs the built loadtest/dist (pnpm build).
        test: {
          name: "loadtest",
          root: "loadtest",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
    retry: 0,
    reporters: ["default"],
  },
});
