import { CloseCode } from "@parley/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { GatewayProcess } from "../../../services/gateway/test/support/gateway-process.js";
import { TestClient } from "../../../services/gateway/test/support/test-client.js";
import { WebhookReceiver } from "../../../services/gateway/test/support/webhook-receiver.js";
import { Cluster, newClient } from "../../client/test/support.js";
import { runCli } from "./run-cli.js";

/*
 * The server commands (publish, kick, ban, presence, history, replay) against 3 real gateways
 * on one real Redis, with a real webhook receiver for the dead letters: what the operator sees
 * on stdout, stderr and in the exit code, and what the chat users see because of it.
 */
const KEY = "cli-server-key-0123456789abcdef";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

let cluster: Cluster;
let receiver: WebhookReceiver;
const clients: TestClient[] = [];

beforeAll(async () => {
  receiver = await WebhookReceiver.start({ "/hook": SECRET });
  cluster = await Cluster.start(3, {
    PARLEY_API_KEYS: KEY,
    PARLEY_WEBHOOKS: JSON.stringify([{ id: "hook", url: receiver.url("/hook"), secret: SECRET, events: ["message.created"] }]),
    PARLEY_WEBHOOK_POLL_MS: "50",
    PARLEY_WEBHOOK_BACKOFF_MS: "100",
    PARLEY_WEBHOOK_BACKOFF_MAX_MS: "200",
    PARLEY_WEBHOOK_TIMEOUT_MS: "1000",
    PARLEY_WEBHOOK_RETRY_SECONDS: "1",
    // Persisted: the outage test restarts Redis and checks that what was stored is still there.
  }, { appendOnly: true });
});
afterAll(async () => {
  await cluster?.stop();
  await receiver?.stop();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** `parley <args>` against node `i` with the API key in the environment. */
const cli = (i: number, args: readonly string[], env: Record<string, string> = { PARLEY_API_KEY: KEY }) =>
  runCli([...args, "--url", cluster.url(i)], { env });

async function connect(i: number, name: string): Promise<TestClient> {
  const client = await TestClient.connect(cluster.url(i), { name });
  clients.push(client);
  return client;
}

describe("parley publish", () => {
  it("stores as the system or a named sender, in order with client sends, on every node; --key makes a retry store nothing", async () => {
    const room = "cli-publish";
    const reader = await connect(2, "reader");
    const writer = await connect(0, "writer");
    await reader.join(room);
    await writer.join(room);
    expect(await cli(1, ["publish", room, "from", "the", "system"])).toMatchObject({ code: 0, stdout: "1\n", stderr: "" });
    expect((await writer.post(room, "a client", "c1")).offset).toBe(2);
    const named = await cli(0, ["publish", room, "deploy done", "--from", "ci-bot", "--key", "build-812", "--json"], {});
    expect(named.code).toBe(1);
    expect(named.stderr).toBe("parley: publish talks to the server API: pass --api-key <key> (or set $PARLEY_API_KEY) (try 'parley publish --help')\n");
    const first = await cli(0, ["publish", room, "deploy done", "--from", "ci-bot", "--key", "build-812", "--json", "--api-key", KEY], {});
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ room, offset: 3, duplicate: false });
    const again = await cli(2, ["publish", room, "deploy done", "--from", "ci-bot", "--key", "build-812"]);
    expect(again).toMatchObject({ code: 0, stdout: "3\n", stderr: "parley: already stored with this --key; nothing new was published\n" });
    await waitUntil("the reader's three messages", () => reader.messages(room).length >= 3, 10_000);
    const seen = reader.messages(room);
    expect(seen.map((m) => [m.offset, m.from, m.text])).toEqual([
      [1, "system", "from the system"],
      [2, "writer", "a client"],
      [3, "ci-bot", "deploy done"],
    ]);
    expect(seen[2]?.cid).toBe("build-812");
  });

  it("--skip leaves out one tab: the SDK there takes the position from the ack, so the next message is no gap", async () => {
    const room = "cli-skip";
    const tab = newClient({ url: cluster.url(0), name: "sam" });
    const other = newClient({ url: cluster.url(2), name: "sam" });
    try {
      await tab.client.join(room);
      await other.client.join(room);
      const session = tab.client.welcome?.session ?? "";
      expect((await cli(1, ["publish", room, "shown already", "--from", "sam", "--skip", session])).stdout).toBe("1\n");
      expect((await cli(1, ["publish", room, "for all"])).stdout).toBe("2\n");
      await waitUntil("both tabs' messages", () => tab.rec.texts(room).length >= 1 && other.rec.texts(room).length >= 2, 10_000);
      expect(tab.rec.texts(room)).toEqual(["for all"]);
      expect(other.rec.texts(room)).toEqual(["shown already", "for all"]);
      expect(tab.rec.losses).toEqual([]);
      expect(tab.client.position(room)).toMatchObject({ offset: 2 });
    } finally {
      tab.client.close();
      other.client.close();
    }
  });

  it("sends a DM on a user's behalf with @user --from, and needs --from for it", async () => {
    const bob = await connect(1, "bob");
    const dm = await cli(0, ["publish", "@bob", "your ticket was answered", "--from", "support", "--json"]);
    expect(dm.code).toBe(0);
    expect(JSON.parse(dm.stdout)).toMatchObject({ room: "dm:bob:support", offset: 1 });
    await waitUntil("bob's DM", () => bob.messages("dm:bob:support").length === 1, 10_000);
    expect(bob.messages("dm:bob:support")[0]).toMatchObject({ from: "support", text: "your ticket was answered" });
    const noFrom = await cli(0, ["publish", "@bob", "hi"]);
    expect(noFrom).toMatchObject({ code: 1, stdout: "" });
    expect(noFrom.stderr).toContain("publish @bob: a direct message needs --from <user>");
  });
});

describe("parley kick and ban", () => {
  it("kick closes every tab of a user on every node: reconnect by default, give up with --give-up", async () => {
    const tabs = [await connect(0, "mallory"), await connect(2, "mallory")];
    await waitUntil("mallory online", async () => (await cli(1, ["presence"])).stdout.split("\n").includes("mallory"), 10_000, 200);
    const kicked = await cli(1, ["kick", "mallory"]);
    expect(kicked).toMatchObject({ code: 0, stdout: `mallory was disconnected on every node (close code ${CloseCode.serverDisconnect}: their clients reconnect)\n` });
    expect(await Promise.all(tabs.map((t) => t.waitClosed(10_000)))).toEqual([CloseCode.serverDisconnect, CloseCode.serverDisconnect]);

    const again = await connect(0, "mallory");
    await waitUntil("mallory back online", async () => (await cli(2, ["presence"])).stdout.split("\n").includes("mallory"), 10_000, 200);
    expect((await cli(2, ["kick", "mallory", "--give-up"])).code).toBe(0);
    expect(await again.waitClosed(10_000)).toBe(CloseCode.serverTerminate);

    await waitUntil("mallory offline", async () => !(await cli(2, ["presence"])).stdout.split("\n").includes("mallory"), 10_000, 200);
    const absent = await cli(0, ["kick", "mallory"]);
    expect(absent).toMatchObject({ code: 2, stdout: "" });
    expect(absent.stderr).toBe("parley: kick: mallory is not connected (404 unknown_user)\n");
  });

  it("kick --room takes a user out of one room; ban keeps them out until the time given", async () => {
    const room = "cli-moderated";
    const carol = await connect(1, "carol");
    await carol.join(room);
    await carol.join("elsewhere");
    await waitUntil("carol in the room", async () => (await cli(0, ["presence", room])).stdout === "carol\n", 10_000, 200);
    expect(await cli(0, ["kick", "carol", "--room", room])).toMatchObject({ code: 0, stdout: `carol was removed from ${room} on every node\n` });
    await waitUntil("carol gone from the room", async () => (await cli(2, ["presence", room])).stderr === `parley: nobody is in ${room}\n`, 10_000, 200);
    // Still connected, still in her other room.
    expect((await cli(2, ["presence", "elsewhere"])).stdout).toBe("carol\n");

    await carol.join(room);
    const banned = await cli(2, ["ban", room, "carol", "--for", "1h"]);
    expect(banned.code).toBe(0);
    expect(banned.stdout).toMatch(new RegExp(`^carol removed from ${room} on every node and banned until \\d{4}-\\d\\d-\\d\\dT`));
    await waitUntil("carol removed by the ban", async () => (await cli(0, ["presence", room])).stdout === "", 10_000, 200);
    carol.send({ type: "join", room });
    const refused = await carol.next((m) => m.type === "error" && m.room === room, 5000);
    expect(refused.code).toBe("forbidden");

    const future = await cli(0, ["ban", room, "dave", "--until", "2099-01-01T00:00Z", "--json"]);
    expect(future.code).toBe(0);
    expect(JSON.parse(future.stdout)).toEqual({ room, user: "dave", wasPresent: false, bannedUntil: Date.parse("2099-01-01T00:00Z") });
    for (const [args, message] of [
      [["ban", room, "dave"], "give exactly one of --for"],
      [["ban", room, "dave", "--for", "soon"], "--for soon: expected a duration"],
      [["ban", room, "dave", "--until", "2001-01-01"], "that time has passed"],
    ] as const) {
      const res = await cli(0, args);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.stderr).toContain(message);
    }
  });
});

describe("parley presence and history", () => {
  it("presence lists a room's users on any node, or everyone online; an unknown room is a sentence", async () => {
    const room = "cli-presence";
    const a = await connect(0, "pat");
    const b = await connect(2, "quinn");
    await a.join(room);
    await b.join(room);
    await waitUntil("both present", async () => (await cli(1, ["presence", room])).stdout === "pat\nquinn\n", 10_000, 200);
    const json = await cli(1, ["presence", room, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ room, users: ["pat", "quinn"], count: 2 });
    const online = await cli(0, ["presence", "--json"]);
    expect((JSON.parse(online.stdout) as { users: string[] }).users).toEqual(expect.arrayContaining(["pat", "quinn"]));
    const unknown = await cli(0, ["presence", "never-used-room"]);
    expect(unknown).toMatchObject({ code: 2, stdout: "", stderr: "parley: presence: no room never-used-room (never used, or expired) (404 unknown_room)\n" });
  });

  it("history prints a page oldest first and tells how to get the page before", async () => {
    const room = "cli-history";
    for (let i = 1; i <= 7; i++) expect((await cli(i % 3, ["publish", room, `line ${i}`, "--from", "hist"])).stdout).toBe(`${i}\n`);
    const last = await cli(1, ["history", room, "--limit", "3"]);
    expect(last.code).toBe(0);
    expect(last.stdout.trimEnd().split("\n").map((l) => l.replace(/^\d\d:\d\d:\d\d /, ""))).toEqual(["hist: line 5", "hist: line 6", "hist: line 7"]);
    expect(last.stderr).toBe(`parley: older messages exist: parley history ${room} --before 5\n`);
    const before = await cli(2, ["history", room, "--limit", "3", "--before", "5", "--json"]);
    expect(before.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { offset: number }).offset)).toEqual([2, 3, 4]);
    const first = await cli(0, ["history", room, "--before", "2"]);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toMatch(/^\d\d:\d\d:\d\d hist: line 1\n$/);
    expect((await cli(0, ["history", room, "--limit", "101"])).stderr).toContain("--limit 101: expected a whole number from 1 to 100");
    expect(await cli(0, ["history", "nothing-stored"])).toMatchObject({ code: 2, stderr: "parley: history: no room nothing-stored (never used, or expired) (404 unknown_room)\n" });
  });
});

describe("parley replay", () => {
  it("lists the dead letters of a receiver that failed, and delivers them again once it is back", async () => {
    receiver.setMode("/hook", "fail");
    const room = "cli-dead";
    expect((await cli(0, ["publish", room, "nobody hears this"])).code).toBe(0);
    let id = "";
    await waitUntil(
      "the message to be a dead letter",
      async () => {
        const listed = await cli(1, ["replay", "--list", "--json"]);
        const letter = listed.stdout
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as { id: string; data: { room?: string } })
          .find((l) => l.data.room === room);
        id = letter?.id ?? "";
        return letter !== undefined;
      },
      30_000,
      300,
    );
    const human = await cli(2, ["replay", "--list"]);
    expect(human.stdout).toMatch(new RegExp(`^${id} hook message.created \\d{4}-.* after \\d+ attempts: .+$`, "m"));
    receiver.setMode("/hook", "ok");
    const replayed = await cli(2, ["replay", id, "no-such-letter"]);
    expect(replayed).toMatchObject({ code: 0, stdout: "1 delivered, 0 still failing (kept as dead letters)\n" });
    expect(replayed.stderr).toBe("parley: 1 of the ids given are not dead letters (already delivered, or never were)\n");
    const got = receiver.events("/hook").filter((e) => e.data["room"] === room);
    expect(got.map((e) => [e.id, e.verified, e.data["text"]])).toEqual([[id, true, "nobody hears this"]]);
    expect((await cli(0, ["replay", "--list", "--json"])).stdout).not.toContain(id);
  });

  it("without ids, sweeps every dead letter in batches: once through while the receiver fails, delivering them all once it is back", async () => {
    receiver.setMode("/hook", "fail");
    const rooms = ["cli-sweep-1", "cli-sweep-2", "cli-sweep-3"];
    for (const room of rooms) expect((await cli(0, ["publish", room, `lost in ${room}`])).code).toBe(0);
    const dead = async () => (await cli(1, ["replay", "--list", "--json"])).stdout.split("\n").filter((l) => l !== "").length;
    await waitUntil("the 3 messages to be dead letters", async () => (await dead()) === 3, 30_000, 300);
    // Batches of 2: the second call goes on past the 2 that failed, and the sweep ends.
    expect(await cli(2, ["replay", "--batch", "2", "--json"])).toMatchObject({ code: 0, stdout: '{"replayed":0,"failed":3,"remaining":0}\n' });
    expect(await dead()).toBe(3);
    receiver.setMode("/hook", "ok");
    expect(await cli(2, ["replay", "--batch", "1"])).toMatchObject({ code: 0, stdout: "3 delivered, 0 still failing (kept as dead letters)\n" });
    expect(await dead()).toBe(0);
    const got = receiver.deliveries.filter((d) => d.path === "/hook" && rooms.includes(String(d.data["room"])));
    expect(got.map((d) => d.data["room"]).sort()).toEqual(rooms);
    expect(await cli(0, ["replay", "abc", "--batch", "2"])).toMatchObject({ code: 1, stderr: "parley: replay: --batch goes with replaying every dead letter (no ids, no --list) (try 'parley replay --help')\n" });
  });
});

describe("refusals, in sentences", () => {
  it("a wrong key is 401 (exit 2); a gateway without keys has no server API (exit 2)", async () => {
    const wrong = await cli(0, ["presence"], { PARLEY_API_KEY: "wrong-key-0123456789abcdef" });
    expect(wrong).toMatchObject({ code: 2, stdout: "" });
    expect(wrong.stderr).toBe(
      "parley: the server refused the API key (401 unauthorized): not a valid API key; check --api-key or $PARLEY_API_KEY against the gateways' PARLEY_API_KEYS\n",
    );
    const off = await GatewayProcess.start({ nodeId: "no-api" });
    try {
      const res = await runCli(["history", "lobby", "--url", off.url, "--api-key", KEY]);
      expect(res).toMatchObject({ code: 2, stdout: "" });
      expect(res.stderr).toContain("/server/v1/history has no server API (404 not_found): the server API is off: set PARLEY_API_KEYS");
    } finally {
      await off.stop();
    }
  });

  it("Redis down is unavailable (exit 3) and nothing is stored; it works again once Redis is back", async () => {
    const room = "cli-outage";
    expect((await cli(0, ["publish", room, "before"])).stdout).toBe("1\n");
    await cluster.redis.stop();
    try {
      const down = await cli(1, ["publish", room, "during", "--timeout", "15000"]);
      expect(down).toMatchObject({ code: 3, stdout: "" });
      expect(down.stderr).toMatch(/^parley: the server is unavailable \(503\): the message service is unavailable; retry shortly/);
    } finally {
      await cluster.redis.startProcess();
    }
    await waitUntil("publish works again", async () => (await cli(1, ["publish", room, "after"])).code === 0, 20_000, 300);
    const history = await cli(2, ["history", room, "--json"]);
    expect(history.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { text: string }).text)).toEqual(["before", "after"]);
  });
});
