import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../support/server-api-client.js";
import { TestCluster, waitCount } from "../support/test-cluster.js";
import { sleep } from "../support/free-port.js";

/*
 * The publish hook against real gateways and a real HTTP receiver (the application): it is asked
 * about every client message before it is stored, and allows it, rejects it (the sender gets a
 * coded error, nothing is stored), or rewrites its text. Without an answer in time, or with the
 * receiver down, a fail-closed cluster refuses the message `unavailable` and a fail-open one
 * stores it as sent.
 */
const SECRET = "whsec_cHVibGlzaC1ob29rLXRlc3Qtc2VjcmV0";
const KEY = "publish-hook-key-0123456789abcdef";
const TIMEOUT_MS = 300;

interface HookCall {
  readonly body: { room: string; from: string; text: string; cid: string };
  readonly verified: boolean;
}

/** The application's hook: its verdict depends on the text, like a moderation service's. */
class HookReceiver {
  readonly calls: HookCall[] = [];
  private readonly verifier = new Webhook(SECRET);
  private constructor(private readonly server: Server) {}

  static async start(): Promise<HookReceiver> {
    const server = createServer();
    const receiver = new HookReceiver(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  texts(): string[] {
    return this.calls.map((c) => c.body.text);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let verified = false;
      try {
        this.verifier.verify(raw, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const body = JSON.parse(raw) as HookCall["body"];
      this.calls.push({ body, verified });
      const answer = (status: number, json?: unknown): void => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json" }).end(json === undefined ? "" : JSON.stringify(json));
      };
      if (body.text.startsWith("spam")) answer(200, { action: "reject", reason: "no advertising here" });
      else if (body.text.includes("darn")) answer(200, { action: "replace", text: body.text.replaceAll("darn", "****") });
      else if (body.text.startsWith("slow")) setTimeout(() => answer(200, { action: "allow" }), 3000);
      else if (body.text.startsWith("broken")) answer(500);
      else if (body.text.startsWith("quiet")) answer(204);
      else answer(200, { action: "allow" });
    });
  }
}

let receiver: HookReceiver;
let closed: TestCluster;
let open: TestCluster;

beforeAll(async () => {
  receiver = await HookReceiver.start();
  const hook = { PARLEY_PUBLISH_HOOK_URL: receiver.url, PARLEY_PUBLISH_HOOK_TIMEOUT_MS: String(TIMEOUT_MS), PARLEY_API_KEYS: KEY };
  [closed, open] = await Promise.all([
    TestCluster.start({ name: "hook-closed", nodes: 2, env: { ...hook, PARLEY_PUBLISH_HOOK_FAILURE: "closed", PARLEY_PUBLISH_HOOK_SECRET: SECRET } }),
    TestCluster.start({ name: "hook-open", nodes: 1, env: { ...hook, PARLEY_PUBLISH_HOOK_FAILURE: "open" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([closed?.stop(), open?.stop()]);
  await receiver?.stop();
});
afterEach(() => {
  closed.closeClients();
  open.closeClients();
});

async function storedTexts(cluster: TestCluster, room: string): Promise<string[]> {
  const page = await callApi<{ messages?: { text: string }[] }>(cluster.node(0).httpUrl, "history", { room }, KEY);
  return page.status === 404 ? [] : (page.body.messages ?? []).map((m) => m.text);
}

const hookMetric = (cluster: TestCluster, outcome: string): Promise<number> =>
  Promise.all(cluster.nodes.map((n) => n.metric("parley_publish_hook_calls_total", { outcome }))).then((v) => v.reduce((a, b) => a + b, 0));

describe("the publish hook decides", () => {
  it("allows: the message is stored and delivered as sent; the call carries room, sender, text and cid, signed", async () => {
    const room = "hook-allow";
    const sender = await closed.connect(0, "ana");
    const reader = await closed.connect(1, "ben");
    await sender.join(room);
    await reader.join(room);
    expect(await sender.post(room, "hello there", "c-allow")).toMatchObject({ type: "ack", offset: 1 });
    expect(await sender.post(room, "quiet please", "c-quiet")).toMatchObject({ type: "ack", offset: 2 });
    await waitCount(reader, room, 2);
    expect(reader.messages(room).map((m) => m.text)).toEqual(["hello there", "quiet please"]);
    const call = receiver.calls.find((c) => c.body.cid === "c-allow");
    expect(call).toEqual({ body: { room, from: "ana", text: "hello there", cid: "c-allow" }, verified: true });
  });

  it("rejects: the sender gets a coded error with the reason, nothing is stored or delivered", async () => {
    const room = "hook-reject";
    const sender = await closed.connect(1, "cy");
    const reader = await closed.connect(0, "di");
    await sender.join(room);
    await reader.join(room);
    const before = await hookMetric(closed, "reject");
    const refused = await sender.post(room, "spam: buy now", "c-spam");
    expect(refused).toMatchObject({ type: "error", code: "forbidden", ref: "c-spam", room, message: "the message was rejected: no advertising here" });
    expect(await sender.post(room, "a real one", "c-real")).toMatchObject({ type: "ack", offset: 1 });
    await waitCount(reader, room, 1);
    expect(reader.messages(room).map((m) => m.text)).toEqual(["a real one"]);
    expect(await storedTexts(closed, room)).toEqual(["a real one"]);
    expect(await hookMetric(closed, "reject")).toBe(before + 1);
  });

  it("replaces: the application's text is what is stored and what every member reads", async () => {
    const room = "hook-replace";
    const sender = await closed.connect(0, "ed");
    const reader = await closed.connect(1, "flo");
    await sender.join(room);
    await reader.join(room);
    expect(await sender.post(room, "darn it, darn", "c-darn")).toMatchObject({ type: "ack", offset: 1 });
    await waitCount(reader, room, 1);
    expect(reader.messages(room)[0]).toMatchObject({ text: "**** it, ****", from: "ed", cid: "c-darn" });
    expect(await storedTexts(closed, room)).toEqual(["**** it, ****"]);
  });
});

describe("without a verdict", () => {
  it("fail-closed refuses `unavailable` within the timeout (a hang, a 500); the same cid goes through once the hook answers", async () => {
    const room = "hook-closed";
    const sender = await closed.connect(0, "gus");
    await sender.join(room);
    const before = await hookMetric(closed, "timeout");
    const started = Date.now();
    const slow = await sender.post(room, "slow thoughts", "c-slow");
    expect(slow).toMatchObject({ type: "error", code: "unavailable", ref: "c-slow" });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2000);
    expect(await hookMetric(closed, "timeout")).toBe(before + 1);
    expect(await sender.post(room, "broken answer", "c-500")).toMatchObject({ type: "error", code: "unavailable", ref: "c-500" });
    expect(await storedTexts(closed, room)).toEqual([]);
    // The resend with the same cid (post() would find the first answer to c-slow).
    const resent = sender.waitNew((m) => (m.type === "ack" || m.type === "error") && (m.cid === "c-slow" || m.ref === "c-slow"));
    sender.send({ type: "send", room, text: "fine now", cid: "c-slow" });
    expect(await resent).toMatchObject({ type: "ack", offset: 1 });
    expect(await storedTexts(closed, room)).toEqual(["fine now"]);
  });

  it("fail-open stores the message as sent when the hook hangs or fails", async () => {
    const room = "hook-open";
    const sender = await open.connect(0, "hal");
    await sender.join(room);
    expect(await sender.post(room, "slow but sure", "c-open-slow")).toMatchObject({ type: "ack", offset: 1 });
    expect(await sender.post(room, "broken but sure", "c-open-500")).toMatchObject({ type: "ack", offset: 2 });
    expect(await storedTexts(open, room)).toEqual(["slow but sure", "broken but sure"]);
    expect(await hookMetric(open, "error")).toBeGreaterThanOrEqual(1);
  });

  it("with the receiver down: fail-closed refuses every message, fail-open stores them", async () => {
    await receiver.stop();
    // Let the gateways' pooled connections to it notice.
    await sleep(100);
    const a = await closed.connect(1, "ivy");
    const b = await open.connect(0, "jon");
    await a.join("hook-down");
    await b.join("hook-down");
    expect(await a.post("hook-down", "anyone there?", "c-down-1")).toMatchObject({ type: "error", code: "unavailable", ref: "c-down-1" });
    expect(await b.post("hook-down", "anyone there?", "c-down-2")).toMatchObject({ type: "ack", offset: 1 });
    expect(await storedTexts(closed, "hook-down")).toEqual([]);
    expect(await storedTexts(open, "hook-down")).toEqual(["anyone there?"]);
    expect(closed.errorLines()).toEqual([]);
  });
});
