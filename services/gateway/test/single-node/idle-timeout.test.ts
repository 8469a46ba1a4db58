import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { RawWsClient, WebSocketOpcode } from "../support/raw-socket.js";
import { TestClient } from "../support/test-client.js";

/*
 * A peer that vanished without closing (it never answers pings) is dropped after the idle
 * timeout; a live client that answers pings stays connected however quiet it is.
 */

const IDLE_SECONDS = 8;

describe("idle timeout", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await GatewayProcess.start({ env: { PARLEY_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS) } });
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("closes a client that never answers pings and keeps one that does", async () => {
    const started = Date.now();
    const dead = await RawWsClient.connect(gw.port, { path: "/ws?name=ghost", answerPings: false });
    const live = await TestClient.connect(gw.url, { name: "quiet" });
    await live.join("idle");

    await dead.waitEnded(25_000);
    const elapsed = (dead.endedAt ?? Date.now()) - started;
    // uWS checks timeouts with a granularity of about 4 s.
    expect(elapsed).toBeGreaterThanOrEqual(4_000);
    // The server pinged it before giving up.
    expect(dead.frames.some((f) => f.opcode === WebSocketOpcode.ping)).toBe(true);

    // The quiet client outlives twice the timeout and still chats.
    const remaining = 2 * IDLE_SECONDS * 1000 - (Date.now() - started);
    if (remaining > 0) await sleep(remaining);
    expect(live.closeCode).toBeUndefined();
    expect(await live.post("idle", "still here", "q1")).toMatchObject({ type: "ack", offset: 1 });
    expect(await gw.metric("parley_connections")).toBe(1);
    live.terminate();
  });
});
