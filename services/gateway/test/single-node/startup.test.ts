import { describe, expect, it } from "vitest";
import { runGatewayUntilExit } from "../support/run-gateway.js";

/* A gateway that cannot run correctly refuses to start, and says why. */

describe("startup checks", () => {
  it("refuses the pure-JS uWS fallback with a non-zero exit and a message about the native binary", async () => {
    const run = await runGatewayUntilExit({ UWS_USE_FALLBACK: "1" });
    expect(run.timedOut).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.stderr).toMatch(/parley-gateway: .*native binary/);
    expect(`${run.stdout}${run.stderr}`).not.toContain("gateway listening");
  });

  it("reports every bad setting, one line each, and exits with code 2", async () => {
    const run = await runGatewayUntilExit({ PARLEY_IDLE_TIMEOUT_SECONDS: "5", PORT: "abc", LOG_LEVEL: "loud" });
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(2);
    const problems = run.stderr.split("\n").filter((line) => line.startsWith("  - "));
    expect(problems).toHaveLength(3);
    expect(problems.filter((l) => l.includes("PARLEY_IDLE_TIMEOUT_SECONDS=5"))).toHaveLength(1);
    expect(problems.filter((l) => l.includes('PORT="abc"'))).toHaveLength(1);
    expect(problems.filter((l) => l.includes("LOG_LEVEL=loud"))).toHaveLength(1);
    expect(run.stdout).not.toContain("gateway listening");
  });

  it("refuses a JWT secret too short for HS256 and out-of-range limits", async () => {
    const run = await runGatewayUntilExit({
      PARLEY_JWT_SECRET: "tiny-s3cr3t",
      PARLEY_MAX_BACKPRESSURE_BYTES: "100",
      PARLEY_RATE_PER_SECOND: "fast",
    });
    expect(run.code).toBe(2);
    const problems = run.stderr.split("\n").filter((line) => line.startsWith("  - "));
    expect(problems).toHaveLength(3);
    expect(problems.some((l) => l.includes("PARLEY_JWT_SECRET") && l.includes("32"))).toBe(true);
    expect(problems.some((l) => l.includes("PARLEY_MAX_BACKPRESSURE_BYTES=100"))).toBe(true);
    expect(problems.some((l) => l.includes("PARLEY_RATE_PER_SECOND"))).toBe(true);
    // The secret itself never reaches the output.
    expect(`${run.stdout}${run.stderr}`).not.toContain("tiny-s3cr3t");
  });
});
