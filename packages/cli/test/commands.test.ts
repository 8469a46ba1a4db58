import type { ConversationInfo, MsgEnvelope } from "@parley/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { Cluster, newClient } from "../../client/test/support.js";
import { GatewayProcess } from "../../../services/gateway/test/support/gateway-process.js";
import { CliProcess, runCli } from "./run-cli.js";

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const HISTORY = 250;

describe("parley against a 2-node cluster", () => {
  let cluster: Cluster;
  const at = (i: number): string[] => ["--url", cluster.url(i)];
  const members = async (room: string): Promise<string[]> =>
    (await cluster.gateways[1]!.getJson<{ members: string[] }>(`/api/rooms/${room}/members`)).body.members;

  beforeAll(async () => {
    cluster = await Cluster.start(2, { PARLEY_HISTORY_SIZE: String(HISTORY) });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("send prints the stored offset; DMs with @user; --json prints the ack", async () => {
    const first = await runCli(["send", "lobby", "hello", "world", ...at(0), "--name", "alice"]);
    expect(first).toMatchObject({ code: 0, stdout: "1\n" });
    const second = await runCli(["send", "lobby", "again", ...at(1)], { env: { PARLEY_NAME: "bob" } });
    expect(second).toMatchObject({ code: 0, stdout: "2\n" });
    const dm = await runCli(["send", "@bob", "psst", ...at(0), "--name", "alice", "--json"]);
    expect(dm.code).toBe(0);
    expect(JSON.parse(dm.stdout)).toMatchObject({ room: "dm:alice:bob", offset: 1 });
    const history = newClient({ url: cluster.url(1), name: "reader" });
    try {
      await waitUntil("reader connected", () => history.client.state === "connected", 10_000);
      const page = await history.client.history("lobby");
      expect(page.messages.map((m) => [m.from, m.text])).toEqual([
        ["alice", "hello world"],
        ["bob", "again"],
      ]);
    } finally {
      history.client.close();
    }
  });

  it("send refuses a message longer than the server announces, in a sentence", async () => {
    const short = await GatewayProcess.start({ nodeId: "short-texts", env: { PARLEY_MAX_TEXT_LENGTH: "10" } });
    try {
      const res = await runCli(["send", "lobby", "eleven chars", "--url", short.url]);
      expect(res).toMatchObject({ code: 1, stdout: "" });
      expect(res.stderr).toContain("send: the message is too long: at most 10 characters (it has 12)");
    } finally {
      await short.stop();
    }
  });

  it("users says so when nobody is online (stdout stays empty)", async () => {
    const empty = await GatewayProcess.start({ nodeId: "nobody-home" });
    try {
      expect(await runCli(["users", "--url", empty.url])).toMatchObject({ code: 0, stdout: "", stderr: "parley: nobody is online\n" });
      expect(await runCli(["users", "--json", "--url", empty.url])).toMatchObject({ code: 0, stdout: '{"users":[]}\n', stderr: "" });
    } finally {
      await empty.stop();
    }
  });

  it("send exits 2 when the server refuses: a token on a guest server, someone else's DM room", async () => {
    const token = await runCli(["send", "lobby", "hi", ...at(0), "--token", "not-a-jwt"]);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain("HTTP 401");
    expect(token.stderr).toContain("tokens are not accepted");
    const dm = await runCli(["send", "dm:carol:dave", "hi", ...at(0), "--name", "eve"]);
    expect(dm.code).toBe(2);
    expect(dm.stderr).toContain("forbidden");
  });

  it("tail follows live and resumes across a restart of its node: no gap, no duplicate", async () => {
    const tail = CliProcess.start(["tail", "follow", "--json", ...at(0), "--name", "tailer"]);
    const writer = newClient({ url: cluster.url(1), name: "writer" });
    try {
      await waitUntil("tail to join", async () => (await members("follow")).includes("tailer"), 10_000);
      await writer.client.join("follow");
      await Promise.all(range(1, 40).map((i) => writer.client.send("follow", `live ${i}`)));
      await waitUntil("40 lines", () => tail.lines.length >= 40, 10_000);
      await cluster.gateways[0]!.stop("SIGKILL");
      await Promise.all(range(41, 100).map((i) => writer.client.send("follow", `missed ${i}`)));
      await cluster.restart(0);
      await waitUntil("100 lines", () => tail.lines.length >= 100, 20_000);
      await writer.client.send("follow", "after");
      await waitUntil("101 lines", () => tail.lines.length >= 101, 10_000);
      const msgs = tail.lines.map((l) => JSON.parse(l) as MsgEnvelope);
      expect(msgs.map((m) => m.offset)).toEqual(range(1, 101));
      expect(msgs.every((m) => m.type === "msg" && m.room === "follow")).toBe(true);
      expect(tail.stderr).toContain("connection lost; reconnecting");
      expect(tail.stderr).toContain("reconnected to");
      expect(tail.stderr).not.toContain("could not be recovered");
      expect(await tail.stop("SIGINT")).toBe(0);
    } finally {
      writer.client.close();
      if (tail.proc.exitCode === null) await tail.stop("SIGKILL");
    }
  });

  it("tail prints one line per message and reports a loss when history no longer covers the gap", async () => {
    const tail = CliProcess.start(["tail", "lossy", ...at(0), "--name", "watcher"]);
    const writer = newClient({ url: cluster.url(1), name: "writer2" });
    try {
      await waitUntil("tail to join", async () => (await members("lossy")).includes("watcher"), 10_000);
      await writer.client.join("lossy");
      await writer.client.send("lossy", "line one\nstill one");
      await waitUntil("1 line", () => tail.lines.length >= 1, 10_000);
      expect(tail.lines[0]).toMatch(/^\d\d:\d\d:\d\d writer2: line one\\nstill one$/);
      await cluster.gateways[0]!.stop("SIGKILL");
      await Promise.all(range(1, HISTORY + 20).map((i) => writer.client.send("lossy", `gone ${i}`)));
      await cluster.restart(0);
      await waitUntil("the loss notice", () => tail.stderr.includes("could not be recovered"), 20_000);
      expect(tail.stderr).toContain("some messages of lossy could not be recovered (history-gone)");
      await writer.client.send("lossy", "fresh");
      await waitUntil("the fresh line", () => tail.lines.some((l) => l.endsWith("writer2: fresh")), 10_000);
      expect(tail.lines).toHaveLength(2);
      expect(await tail.stop("SIGTERM")).toBe(0);
    } finally {
      writer.client.close();
      if (tail.proc.exitCode === null) await tail.stop("SIGKILL");
    }
  });

  it("export writes all stored history oldest first as NDJSON, across pages", async () => {
    const writer = newClient({ url: cluster.url(1), name: "archivist" });
    try {
      await writer.client.join("archive");
      for (let i = 1; i <= 400; i += 50) await Promise.all(range(i, i + 49).map((n) => writer.client.send("archive", `entry ${n}`)));
      const res = await runCli(["export", "archive", ...at(0)]);
      expect(res.code).toBe(0);
      const lines = res.stdout.trimEnd().split("\n");
      const msgs = lines.map((l) => JSON.parse(l) as MsgEnvelope);
      // History keeps the newest 250 of 400.
      expect(msgs.map((m) => m.offset)).toEqual(range(151, 400));
      expect(msgs.map((m) => m.text)).toEqual(range(151, 400).map((n) => `entry ${n}`));
      expect(msgs.every((m) => m.type === "msg" && m.room === "archive" && m.from === "archivist")).toBe(true);
      expect(res.stderr).toBe("");

      const empty = await runCli(["export", "nothing-here", ...at(0)]);
      expect(empty).toEqual(
        expect.objectContaining({ code: 4, stdout: "", stderr: "parley: nothing-here has no stored messages: there is no such room, or its history expired\n" }),
      );

      const dm = await runCli(["send", "@zed", "secret", ...at(1), "--name", "yan"]);
      expect(dm.code).toBe(0);
      const dmExport = await runCli(["export", "@yan", ...at(0), "--name", "zed"]);
      expect(dmExport.code).toBe(0);
      expect(JSON.parse(dmExport.stdout)).toMatchObject({ room: "dm:yan:zed", from: "yan", text: "secret", offset: 1 });
    } finally {
      writer.client.close();
    }
  });

  it("users lists who is online anywhere in the cluster", async () => {
    const uma = newClient({ url: cluster.url(0), name: "uma" });
    const victor = newClient({ url: cluster.url(1), name: "victor" });
    try {
      await waitUntil("both online", () => uma.client.state === "connected" && victor.client.state === "connected", 10_000);
      await waitUntil(
        "presence",
        async () => {
          const res = await runCli(["users", ...at(0)]);
          return res.code === 0 && res.stdout.split("\n").includes("uma") && res.stdout.split("\n").includes("victor");
        },
        10_000,
        200,
      );
      const json = await runCli(["users", "--json", ...at(1)]);
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as { users: string[] }).users).toEqual(expect.arrayContaining(["uma", "victor"]));
      victor.client.close();
      await waitUntil("victor offline", async () => !(await runCli(["users", ...at(0)])).stdout.split("\n").includes("victor"), 10_000, 200);
    } finally {
      uma.client.close();
      victor.client.close();
    }
    await sleep(0);
  });
  it("conversations lists a user's rooms and DMs newest first with unread, mentions and the last message; read clears a room", async () => {
    const as = (name: string, node = 0): string[] => [...at(node), "--name", name];
    expect(await runCli(["send", "cv-team", "hi", ...as("cvalice")])).toMatchObject({ code: 0, stdout: "1\n" });
    const bob = newClient({ url: cluster.url(1), name: "cvbob" });
    try {
      await bob.client.join("cv-team");
      await bob.client.send("cv-team", "standup in 5");
      await bob.client.send("cv-team", "@cvalice can you review my PR?");
    } finally {
      bob.client.close();
    }
    expect(await runCli(["send", "@cvalice", "lunch?", ...as("cvcarol", 1)])).toMatchObject({ code: 0, stdout: "1\n" });
    // alice's own message counts as read once her read position is written (coalesced, within a second).
    const listed = async (): Promise<ConversationInfo[]> => {
      const res = await runCli(["conversations", "--json", ...as("cvalice", 1)]);
      expect(res.code).toBe(0);
      return res.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as ConversationInfo);
    };
    await waitUntil("alice's own send read", async () => (await listed()).find((c) => c.room === "cv-team")?.read === 1, 10_000, 200);
    expect((await listed()).map((c) => [c.room, c.kind, c.unread, c.mentions, c.last?.text])).toEqual([
      ["dm:cvalice:cvcarol", "dm", 1, 0, "lunch?"],
      ["cv-team", "room", 2, 1, "@cvalice can you review my PR?"],
    ]);
    const text = await runCli(["conversations", ...as("cvalice")]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout.split("\n").map((line) => line.replace(/ +/g, " "))).toEqual([
      "dm @cvcarol 1 unread cvcarol: lunch?",
      "room cv-team 2 unread 1 mention cvbob: @cvalice can you review my PR?",
      "",
    ]);

    // read: up to the newest message by default; the stored offset never goes back.
    expect(await runCli(["read", "cv-team", ...as("cvalice", 1)])).toMatchObject({ code: 0, stdout: "3\n" });
    expect(await runCli(["read", "cv-team", "1", ...as("cvalice")])).toMatchObject({ code: 0, stdout: "3\n" });
    expect(await runCli(["read", "@cvcarol", "--json", ...as("cvalice")])).toMatchObject({ code: 0, stdout: '{"room":"dm:cvalice:cvcarol","offset":1}\n' });
    const cleared = await runCli(["conversations", ...as("cvalice", 1)]);
    expect(cleared.stdout.split("\n").map((line) => line.replace(/ +/g, " "))).toEqual([
      "dm @cvcarol read cvcarol: lunch?",
      "room cv-team read cvbob: @cvalice can you review my PR?",
      "",
    ]);
  });

  it("conversations and read refuse in sentences: no name, nothing to read, a bad offset, someone else's DM, a name held by another browser", async () => {
    const noName = await runCli(["conversations", ...at(0)]);
    expect(noName).toMatchObject({ code: 1, stdout: "" });
    expect(noName.stderr).toContain("conversations: whose? give --name <you>");
    expect(await runCli(["conversations", ...at(0), "--name", "cv-nobody"])).toMatchObject({
      code: 0,
      stdout: "",
      stderr: "parley: cv-nobody has no conversations yet (join a room or send a DM)\n",
    });
    const empty = await runCli(["read", "cv-never-used", ...at(0), "--name", "cvalice"]);
    expect(empty).toMatchObject({ code: 4, stdout: "" });
    expect(empty.stderr).toContain("read: cv-never-used stores no messages");
    const badOffset = await runCli(["read", "cv-team", "last", ...at(0), "--name", "cvalice"]);
    expect(badOffset).toMatchObject({ code: 1, stdout: "" });
    expect(badOffset.stderr).toContain("read: 'last' is not a message offset");
    const foreign = await runCli(["read", "dm:carol:dave", "1", ...at(0), "--name", "eve"]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain("the server refused the request: you may not use the room dm:carol:dave (forbidden)");
    const holder = newClient({ url: cluster.url(1), name: "cvheld", guestKey: "holder-browser-key-1" });
    try {
      await waitUntil("holder connected", () => holder.client.state === "connected", 10_000);
      const taken = await runCli(["conversations", ...at(0), "--name", "cvheld"]);
      expect(taken).toMatchObject({ code: 2, stdout: "" });
      expect(taken.stderr).toContain("the name cvheld is in use in another browser");
    } finally {
      holder.client.close();
    }
  });
});
