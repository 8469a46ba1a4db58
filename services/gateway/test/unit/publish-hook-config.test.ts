import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

/* The publish hook's settings: off by default, fail closed, one line per bad value. */
describe("publish hook configuration", () => {
  it("is off by default, and fails closed within 1 s when set", () => {
    expect(loadConfig({}).publishHook).toEqual({ url: undefined, timeoutMs: 1000, failOpen: false, secret: undefined });
    const on = loadConfig({ PARLEY_PUBLISH_HOOK_URL: "https://app.example/hook", PARLEY_PUBLISH_HOOK_FAILURE: "open", PARLEY_PUBLISH_HOOK_TIMEOUT_MS: "250" });
    expect(on.publishHook).toMatchObject({ url: "https://app.example/hook", timeoutMs: 250, failOpen: true });
  });

  it("reports a bad URL, failure mode, timeout and secret, one line each", () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({
        PARLEY_PUBLISH_HOOK_URL: "ftp://app.example/hook",
        PARLEY_PUBLISH_HOOK_FAILURE: "maybe",
        PARLEY_PUBLISH_HOOK_TIMEOUT_MS: "0",
        PARLEY_PUBLISH_HOOK_SECRET: "not-a-secret",
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    for (const name of ["PARLEY_PUBLISH_HOOK_URL", "PARLEY_PUBLISH_HOOK_FAILURE", "PARLEY_PUBLISH_HOOK_TIMEOUT_MS", "PARLEY_PUBLISH_HOOK_SECRET"]) {
      expect(problems.filter((p) => p.includes(name)), name).toHaveLength(1);
    }
    expect(problems).toHaveLength(4);
  });
});
