import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../services/gateway/test/support/free-port.js";
import { Cluster, newClient } from "./support.js";

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("a join that fails while Redis is down", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start(3, {}, { appendOnly: true });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("is retried once Redis is back, so the member does not silently stop receiving", async () => {
    // amy's other tab keeps her inbox subscribed on node 2, so after the failover below node 2
    // welcomes her even without Redis, and only her room join fails (`unavailable`).
    const tab = newClient({ url: cluster.url(1), name: "amy" });
    const amy = newClient({ urls: [cluster.url(0), cluster.url(1)], name: "amy" });
    const writer = newClient({ url: cluster.url(2), name: "writer" });
    try {
      await amy.client.join("rejoin");
      await writer.client.join("rejoin");
      await waitUntil("the tab to connect", () => tab.client.state === "connected", 10_000);
      await Promise.all(range(1, 5).map((i) => writer.client.send("rejoin", `before ${i}`)));
      await waitUntil("amy to get 5", () => amy.rec.messages.length >= 5, 10_000);

      await cluster.redis.stop();
      await cluster.gateways[0]?.stop("SIGKILL");
      await waitUntil("amy on node 2", () => amy.rec.nodes.length === 2 && amy.client.state === "connected", 10_000);
      await cluster.redis.startProcess();

      await Promise.all(range(1, 5).map((i) => writer.client.send("rejoin", `after ${i}`)));
      await waitUntil("amy to get the messages sent after the outage", () => amy.rec.messages.length >= 10, 20_000);
      expect(amy.rec.offsets("rejoin")).toEqual(range(1, 10));
      expect(amy.rec.losses).toEqual([]);
    } finally {
      tab.client.close();
      amy.client.close();
      writer.client.close();
    }
  });
});
