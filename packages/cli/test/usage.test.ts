import { describe, expect, it } from "vitest";
import { freePort } from "../../../services/gateway/test/support/free-port.js";
import { runCli } from "./run-cli.js";

describe("parley usage", () => {
  it("prints help at top level and for every command, exit 0", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: parley <command>");
    for (const command of ["send", "tail", "export", "users"]) {
      const res = await runCli([command, "--help"]);
      expect(res.code, command).toBe(0);
      expect(res.stdout).toContain(`Usage: parley ${command}`);
      expect(res.stdout).toContain("--url");
      expect(res.stdout).toContain("Exit codes");
    }
    expect((await runCli(["-h"])).stdout).toContain("Commands:");
  });

  it.each([
    [[], "no command given"],
    [["fly"], "unknown command 'fly'"],
    [["send", "lobby"], "missing <text>"],
    [["send"], "missing <room>"],
    [["send", "no spaces allowed", "hi"], "is not a room name"],
    [["send", "@", "hi"], "is not @<user name>"],
    [["tail", "a", "b"], "exactly one"],
    [["users", "--bogus"], "Unknown option '--bogus'"],
    [["users", "--timeout", "soon"], "--timeout soon"],
    [["users", "--url", "ftp://x"], "--url ftp://x"],
    [["users", "--name", "bad name"], "--name bad name"],
  ])("exits 1 on bad usage: %j", async (args, message) => {
    const res = await runCli(args);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(message);
    expect(res.stderr).toMatch(/^parley: /);
    expect(res.stdout).toBe("");
  });

  it("exits 3 when the server is unreachable, within --timeout", async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const send = await runCli(["send", "lobby", "hi", "--url", url, "--timeout", "1500"]);
    expect(send.code).toBe(3);
    expect(send.stderr).toContain(`no connection to ${url} within 1500 ms`);
    expect(send.stderr).toContain("ECONNREFUSED");
    expect(send.ms).toBeLessThan(10_000);
    const users = await runCli(["users"], { env: { PARLEY_URL: url } });
    expect(users.code).toBe(3);
    expect(users.stderr).toContain("cannot reach");
  });
});
