import { describe, expect, it } from "vitest";
import { freePort } from "../../../services/gateway/test/support/free-port.js";
import { runCli } from "./run-cli.js";

describe("parley usage", () => {
  it("prints help at top level and for every command, exit 0", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: parley <command>");
    for (const command of ["send", "tail", "export", "users", "conversations", "read", "publish", "kick", "ban", "presence", "history", "replay"]) {
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
    [["publish", "lobby", "hi"], "publish talks to the server API: pass --api-key <key> (or set $PARLEY_API_KEY)"],
    [["publish", "lobby", "--api-key", "k"], "publish: missing <text>"],
    [["publish", "lobby", "hi", "--key", "no spaces", "--api-key", "k"], "--key no spaces: an idempotency key is"],
    [["kick", "--api-key", "k"], "kick: expected exactly one <user>"],
    [["kick", "bob", "--room", "lobby", "--give-up", "--api-key", "k"], "--give-up closes connections"],
    [["ban", "lobby", "bob", "--for", "2h", "--until", "2099-01-01", "--api-key", "k"], "give exactly one of --for"],
    [["history", "lobby", "--before", "0", "--api-key", "k"], "--before 0: expected a whole number"],
    [["replay", "abc", "--list", "--api-key", "k"], "--list takes no ids"],
    [["conversations", "extra", "--name", "alice"], "conversations: takes no arguments"],
    [["conversations"], "conversations: whose? give --name <you>"],
    [["read", "--name", "alice"], "read: missing <room>"],
    [["read", "lobby", "1.5", "--name", "alice"], "read: '1.5' is not a message offset"],
    [["read", "lobby", "1", "2", "--name", "alice"], "read: expected <room|@user> and at most one <offset>"],
  ])("exits 1 on bad usage: %j", async (args, message) => {
    const res = await runCli(args);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(message);
    expect(res.stderr).toMatch(/^parley: /);
    expect(res.stdout).toBe("");
  });

  it("exits 1 with a sentence for a message longer than the protocol allows, before connecting", async () => {
    const res = await runCli(["send", "lobby", "x".repeat(4001), "--url", "ws://127.0.0.1:9"]);
    expect(res).toMatchObject({ code: 1, stdout: "" });
    expect(res.stderr).toContain("parley: send: the message is too long: at most 4000 characters (it has 4001)");
  });

  it("exits 3 at once when nothing listens at --url, without waiting for --timeout", async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    // runCli fails the test if parley is still running after 20 s: far below this --timeout.
    for (const command of [["send", "lobby", "hi"], ["tail", "lobby"], ["export", "lobby"]]) {
      const res = await runCli([...command, "--url", url, "--timeout", "120000"]);
      expect(res.code, command[0]).toBe(3);
      expect(res.stderr).toMatch(new RegExp(`^parley: cannot connect to ${url}: connect ECONNREFUSED .* \\(is a Parley server running there\\?\\)\n$`));
      expect(res.stdout).toBe("");
    }
    const host = await runCli(["send", "lobby", "hi", "--url", "ws://no-such-host.invalid:8080", "--timeout", "120000"]);
    expect(host.code).toBe(3);
    expect(host.stderr).toContain("cannot connect to ws://no-such-host.invalid:8080");
    expect(host.stderr).toMatch(/ENOTFOUND|EAI_AGAIN/);
    const publish = await runCli(["publish", "lobby", "hi", "--url", url], { env: { PARLEY_API_KEY: "some-key-0123456789abcdef" } });
    expect(publish).toMatchObject({ code: 3, stdout: "" });
    expect(publish.stderr).toBe(`parley: cannot reach ${url.replace("ws:", "http:")}/server/v1/publish: ECONNREFUSED (is a Parley server running there?)\n`);
    const users = await runCli(["users"], { env: { PARLEY_URL: url } });
    expect(users.code).toBe(3);
    expect(users.stderr).toContain("cannot reach");
  });
});
