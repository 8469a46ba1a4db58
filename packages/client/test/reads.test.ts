import type { ParleyClient } from "@parley/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayProcess } from "../../../services/gateway/test/support/gateway-process.js";
import { waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { newClient } from "./support.js";

/*
 * An app may call `read` for every message it shows. Against a real gateway with the default
 * request budget (20 a second per connection), 150 reads in a burst must neither be refused nor
 * get the connection closed for abuse, and must leave the highest position stored.
 */
describe("read for every message shown (a real gateway, default limits)", () => {
  let gw: GatewayProcess;
  const open: ParleyClient[] = [];

  beforeAll(async () => {
    gw = await GatewayProcess.start({ nodeId: "reads-1", env: { PARLEY_RATE_PER_SECOND: "20" } });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await gw?.stop();
  });

  it("folds a burst of 150 reads into a few requests: each resolves with a stored offset at least its own, the last with the highest", async () => {
    const { client } = newClient({ url: gw.url, name: "reader", requestTimeoutMs: 10_000 });
    open.push(client);
    const errors: unknown[] = [];
    client.on("error", (e) => errors.push(e));
    await waitUntil("reader connected", () => client.state === "connected", 10_000);
    await client.join("feedback");
    for (let i = 1; i <= 15; i++) await client.send("feedback", `note ${i}`);

    // Each message marked read ten times, as a view re-rendering would: 150 calls.
    const asked = Array.from({ length: 150 }, (_, i) => Math.floor(i / 10) + 1);
    const stored = await Promise.all(asked.map((offset) => client.read("feedback", offset)));
    stored.forEach((offset, i) => expect(offset).toBeGreaterThanOrEqual(asked[i] as number));
    expect(stored[149]).toBe(15);
    expect(errors).toEqual([]);
    expect(client.state).toBe("connected");
    // Stored for every device: the conversation list says so.
    const listed = (await client.conversations()).find((c) => c.room === "feedback");
    expect(listed?.read).toBe(15);
    expect(await client.read("feedback", 3)).toBe(15);
  });
});
