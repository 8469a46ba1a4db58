import { ParleyError, type ParleyClient } from "@parley/client";
import { ErrorCode, Limits, type ErrorEnvelope } from "@parley/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GatewayProcess } from "../../../services/gateway/test/support/gateway-process.js";
import { waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { newClient } from "./support.js";

/*
 * Every request the SDK makes carries a reference the gateway echoes (a send's cid, any other
 * request's id), so each answer reaches the caller that asked, even when several requests about
 * one room are in flight and the gateway answers them out of order (a request refused while
 * decoding is answered at once, ahead of earlier requests still queued).
 */
describe("the SDK pairs every answer with its request (a real gateway)", () => {
  let gw: GatewayProcess;
  const open: ParleyClient[] = [];
  const connected = async (name: string): Promise<{ client: ParleyClient; errors: ErrorEnvelope[] }> => {
    const { client } = newClient({ url: gw.url, name, requestTimeoutMs: 5000 });
    open.push(client);
    const errors: ErrorEnvelope[] = [];
    client.on("error", (e) => errors.push(e));
    await waitUntil(`${name} to connect`, () => client.state === "connected", 10_000);
    return { client, errors };
  };

  beforeAll(async () => {
    gw = await GatewayProcess.start({ nodeId: "ids-1" });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("a refused history does not fail a join of the same room made right after it", async () => {
    const { client } = await connected("ada");
    // Refused (limit too high) while the join is in flight: its error names the room, like the
    // join's answer will. Paired by room, the join would get it and the history would time out.
    const history = client.history("pairs", { limit: Limits.maxHistoryLimit + 1 });
    const join = client.join("pairs");
    await expect(history).rejects.toMatchObject({ code: ErrorCode.badRequest });
    await expect(join).resolves.toMatchObject({ room: "pairs", offset: 0 });
    // The join really holds: a message sent to the room arrives.
    const got = new Promise<string>((resolve) => client.on("message", (m) => resolve(m.text)));
    await client.send("pairs", "still joined");
    expect(await got).toBe("still joined");
  });

  it("a refused leave does not fail a history request of the same room; it is reported as an error event", async () => {
    const { client, errors } = await connected("bea");
    client.leave("never-joined");
    const page = await client.history("never-joined");
    expect(page).toMatchObject({ room: "never-joined", messages: [], more: false });
    await waitUntil("the leave's error event", () => errors.length === 1, 5000);
    expect(errors[0]).toMatchObject({ code: ErrorCode.notJoined, room: "never-joined", ref: expect.any(String) as unknown });
  });

  it("concurrent history and presence requests for one room each get their own answer", async () => {
    const { client } = await connected("cai");
    await client.join("pages");
    for (let i = 1; i <= 5; i++) await client.send("pages", `m${i}`);
    const [two, three, presence, refused] = await Promise.allSettled([
      client.history("pages", { limit: 2 }),
      client.history("pages", { limit: 3 }),
      client.presence("pages"),
      client.presence("dm:x:y"),
    ]);
    expect(two).toMatchObject({ status: "fulfilled", value: { messages: [{ text: "m4" }, { text: "m5" }] } });
    expect(three).toMatchObject({ status: "fulfilled", value: { messages: [{ text: "m3" }, { text: "m4" }, { text: "m5" }] } });
    expect(presence).toEqual({ status: "fulfilled", value: ["cai"] });
    expect(refused).toMatchObject({ status: "rejected", reason: { code: ErrorCode.forbidden } });
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(ParleyError);
  });
});
