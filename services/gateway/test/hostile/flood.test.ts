import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../support/free-port.js";
import { TestClient } from "../support/test-client.js";
import { HostileNode } from "./support/hostile-node.js";

/*
 * Many abusers at once, at full speed, with the default limits: garbage floods (closed 1008 by
 * the strike bucket), request floods (rate_limited, then 1008), 15 KiB messages as fast as the
 * socket takes them (the per-connection and per-user buckets), and a burst of connections from
 * one user (per-user connection limit). The bystanders keep chatting the whole time.
 */

const ABUSERS = 24;
const FRAMES = 300;

describe("hostile: floods with the default limits", () => {
  let node: HostileNode;
  beforeAll(async () => {
    // Only the per-address rate is raised: the whole flood comes from 127.0.0.1.
    node = await HostileNode.start("flood", { PARLEY_IP_RATE_PER_SECOND: "1000", PARLEY_IP_RATE_BURST: "1000" });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("closes the abusers, counts every refusal, and the bystanders notice nothing", async () => {
    const before = await node.snapshot();
    const abusers = await Promise.all(Array.from({ length: ABUSERS }, (_, i) => TestClient.connect(node.gw.url, { name: `abuser-${i}` })));
    const big = "x".repeat(15 * 1024 - 100);
    abusers.forEach((client, i) => {
      for (let n = 0; n < FRAMES; n++) {
        if (client.ws.readyState !== client.ws.OPEN) return;
        if (i % 3 === 0) client.sendRaw(`{garbage ${n}`);
        else if (i % 3 === 1) client.send({ type: "presence", room: "flooded" });
        else client.send({ type: "send", room: "flooded", text: big.slice(0, 3999), cid: `f${n}` });
      }
    });
    // One user opening far more connections than allowed.
    const many = await Promise.allSettled(Array.from({ length: 30 }, () => TestClient.connect(node.gw.url, { name: "hydra" })));
    const refused = many.filter((r) => r.status === "rejected");
    expect(refused.length).toBe(30 - 20);
    for (const r of many) if (r.status === "fulfilled") r.value.terminate();

    // Garbage and request floods end in 1008; senders of unjoined-room messages get not_joined
    // until their strikes run out too.
    await waitUntil("the abusers to be closed", () => abusers.every((c) => c.closeCode !== undefined), 15_000, 50);
    expect(new Set(abusers.map((c) => c.closeCode))).toEqual(new Set([1008]));
    const errorEnvelopes = abusers.reduce((sum, c) => sum + c.received.filter((m) => m.type === "error").length, 0);

    const after = await node.checkAfter(before);
    const delta = (name: string, labels: Record<string, string> = {}): number => after.value(name, labels) - before.value(name, labels);
    expect(delta("parley_protocol_errors_total")).toBe(errorEnvelopes);
    expect(delta("parley_rate_limited_total")).toBeGreaterThan(0);
    expect(delta("parley_upgrades_rejected_total", { reason: "user_connections" })).toBe(10);
    expect(delta("parley_connections_closed_total", { code: "1008" })).toBe(ABUSERS);
    node.checkLogs();
  });
});
