import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgradeRequest } from "../support/raw-socket.js";
import { TestClient, type Received } from "../support/test-client.js";
import { INVALID_NAMES, NASTY_TEXTS, VALID_AWKWARD_NAMES } from "./support/hostile-strings.js";
import { HostileNode } from "./support/hostile-node.js";

/*
 * Payloads built to break renderers, logs and object lookups. Names: refused everywhere they are
 * invalid (upgrade, join, dm, /api), and names that merely look like object keys (constructor,
 * toString, ...) work like any other. Texts: stored and delivered byte for byte — control and
 * bidi characters, zero-width, 3,000 combining marks on one letter, ZWJ emoji, lone surrogates,
 * markup, forged log lines — and the gateway's log stays one JSON object per line.
 */

describe("hostile: names and texts", () => {
  let node: HostileNode;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    node = await HostileNode.start("payloads", { PARLEY_RATE_PER_SECOND: "1000", PARLEY_ERRORS_PER_SECOND: "1000" });
  });
  afterAll(async () => {
    for (const c of clients) c.terminate();
    await node?.stop();
  });
  const connect = async (name: string): Promise<TestClient> => {
    const c = await TestClient.connect(node.gw.url, { name });
    clients.push(c);
    return c;
  };

  it("refuses invalid names at the upgrade, in envelopes and in /api, and counts every refusal", async () => {
    const before = await node.snapshot();
    for (const name of INVALID_NAMES) {
      const res = await upgradeRequest(node.port, { path: `/ws?name=${encodeURIComponent(name)}` });
      expect({ name, status: res.status }).toEqual({ name, status: name === "" ? 401 : 400 });
    }
    const probe = await connect("probe");
    const replies: Received[] = [];
    for (const name of INVALID_NAMES) {
      for (const request of [{ type: "join", room: name }, { type: "dm", to: name, text: "hi", cid: "c1" }]) {
        const at = probe.received.length;
        probe.send(request);
        replies.push(await probe.next((m) => probe.received.indexOf(m) >= at && m.type === "error"));
      }
    }
    expect(new Set(replies.map((r) => r.code))).toEqual(new Set(["bad_request"]));
    for (const name of INVALID_NAMES.filter((n) => n !== "")) {
      const res = await fetch(`${node.gw.httpUrl}/api/rooms/${encodeURIComponent(name)}/members`);
      expect({ name, status: res.status }).toEqual({ name, status: [".", ".."].includes(name) ? 404 : 400 });
    }
    probe.terminate();
    const after = await node.checkAfter(before);
    const delta = (n: string, labels: Record<string, string>): number => after.value(n, labels) - before.value(n, labels);
    expect(delta("parley_upgrades_rejected_total", { reason: "auth" })).toBe(INVALID_NAMES.length);
    expect(delta("parley_protocol_errors_total", { code: "bad_request" })).toBe(2 * INVALID_NAMES.length);
    expect(delta("parley_api_rejected_total", { reason: "bad_request" })).toBe(INVALID_NAMES.length - 1);
  });

  it("treats names that look like object keys as ordinary names", async () => {
    const [a, b] = VALID_AWKWARD_NAMES as [string, string];
    const [one, two] = await Promise.all([connect(a), connect(b)]);
    for (const room of VALID_AWKWARD_NAMES) {
      await one.join(room);
      await two.join(room);
      expect(await one.post(room, `hello ${room}`, `c-${room}`)).toMatchObject({ type: "ack", offset: 1 });
      await two.next((m) => m.type === "msg" && m.room === room && m.text === `hello ${room}`);
    }
    expect(await one.post(`dm:${[a, b].sort().join(":")}`, "direct", "dm-1")).toMatchObject({ type: "ack" });
    await two.next((m) => m.type === "msg" && m.text === "direct");
    const members = (await (await fetch(`${node.gw.httpUrl}/api/rooms/constructor/members`)).json()) as { members: string[] };
    expect(members.members.sort()).toEqual([a, b].sort());
    const users = (await (await fetch(`${node.gw.httpUrl}/api/users`)).json()) as { users: string[] };
    expect(users.users).toEqual(expect.arrayContaining([a, b]));
    one.terminate();
    two.terminate();
  });

  it("delivers hostile texts byte for byte, in order, and keeps the log parseable", async () => {
    const before = await node.snapshot();
    const [writer, reader] = await Promise.all([connect("writer"), connect("reader")]);
    await writer.join("rendering");
    await reader.join("rendering");
    for (const [i, text] of NASTY_TEXTS.entries()) {
      expect(await writer.post("rendering", text, `t${i}`)).toMatchObject({ type: "ack", offset: i + 1 });
    }
    const tooLong = await writer.post("rendering", "x".repeat(4001), "t-long");
    expect(tooLong).toMatchObject({ type: "error" });
    await expect.poll(() => reader.messages("rendering").length, { timeout: 5000 }).toBe(NASTY_TEXTS.length);
    const messages = reader.messages("rendering");
    expect(messages.map((m) => m.text)).toEqual(NASTY_TEXTS);
    expect(messages.map((m) => m.offset)).toEqual(NASTY_TEXTS.map((_, i) => i + 1));
    // History gives back the very same texts.
    reader.send({ type: "history", room: "rendering", limit: 100 });
    const history = await reader.next((m) => m.type === "history" && m.room === "rendering");
    expect((history.messages as Received[]).map((m) => m.text)).toEqual(NASTY_TEXTS);
    writer.terminate();
    reader.terminate();
    await node.checkAfter(before);
    node.checkLogs();
    // No forged line made it into the log as a line of its own.
    expect(node.gw.lines.some((l) => l.includes("forged log line") && !l.startsWith('{"level":'))).toBe(false);
  });
});
