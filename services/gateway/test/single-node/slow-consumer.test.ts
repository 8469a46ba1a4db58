import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { RawWsClient } from "../support/raw-socket.js";
import { TestClient } from "../support/test-client.js";

/*
 * A member that stops reading must be cut off (DESIGN guarantee 8, close 1013) instead of making
 * the node buffer without bound, and its stalling must cost the other members nothing.
 */

describe("slow consumer", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await GatewayProcess.start({
      env: { PARLEY_MAX_BACKPRESSURE_BYTES: "16384", PARLEY_RATE_PER_SECOND: "100000" },
    });
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("closes a member that stops reading, counts it, and keeps everyone else served", async () => {
    const room = "flood";
    const slow = await RawWsClient.connect(gw.port, { path: "/ws?name=sloth" });
    slow.sendJson({ type: "join", room });
    await slow.next((m) => m.type === "subscribed");
    const reader = await TestClient.connect(gw.url, { name: "reader" });
    await reader.join(room);
    const writer = await TestClient.connect(gw.url, { name: "writer" });
    await writer.join(room);
    const before = await gw.metric("parley_slow_consumer_closes_total");
    slow.pause();

    // Flood in batches until the node gives up on the stalled member. The kernel's socket
    // buffers absorb a few MB first, so the number of messages needed is not known in advance.
    const text = "x".repeat(4000);
    let sent = 0;
    while ((await gw.metric("parley_slow_consumer_closes_total")) === before) {
      if (sent >= 8000) {
        const closed = (await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text()).split("\n").filter((l) => l.startsWith("parley_connections"));
        expect.fail(`the stalled member was never closed as a slow consumer after ${sent} messages: ${closed.join("; ")}`);
      }
      for (let i = 0; i < 200; i++) writer.send({ type: "send", room, text, cid: `c${++sent}` });
      await writer.next((m) => m.type === "ack" && m.cid === `c${sent}`, 15_000);
    }
    expect(await gw.metric("parley_slow_consumer_closes_total")).toBe(before + 1);
    expect(await gw.metric("parley_connections_closed_total", { code: "1013" })).toBe(1);
    expect(await gw.metric("parley_connections")).toBe(2);

    // Another member received every message, in order, and is still connected.
    await waitUntil(`reader to receive all ${sent} messages`, () => reader.messages(room).length >= sent, 20_000);
    expect(reader.messages(room).map((m) => m.offset)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(reader.closeCode).toBeUndefined();
    expect(await reader.post(room, "after the flood", "after")).toMatchObject({ type: "ack", offset: sent + 1 });

    // Once it reads again, the stalled client finds what was queued for it before the cut, a
    // contiguous run from the first message (nothing silently skipped), then the 1013 close
    // (reconnect and resume), and the connection ends.
    slow.resume();
    await slow.waitEnded(15_000);
    const offsets = slow.messages.filter((m) => m.type === "msg").map((m) => m.offset);
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i + 1));
    expect(slow.closeCode).toBe(1013);
  });
});
