import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayProcess } from "./support/gateway-process.js";
import { TestClient } from "./support/test-client.js";

describe("single gateway, memory mode", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await GatewayProcess.start();
  });
  afterAll(async () => {
    await gw.stop("SIGTERM");
  });

  it("two guests chat in a room", async () => {
    const alice = await TestClient.connect(gw.url, { name: "alice" });
    const bob = await TestClient.connect(gw.url, { name: "bob" });
    await alice.join("lobby");
    await bob.join("lobby");
    const ack = await alice.post("lobby", "hello bob", "c1");
    expect(ack).toMatchObject({ type: "ack", room: "lobby", offset: 1 });
    const got = await bob.next((m) => m.type === "msg" && m.text === "hello bob");
    expect(got).toMatchObject({ from: "alice", room: "lobby", offset: 1 });
    alice.close();
    bob.close();
  });
});
