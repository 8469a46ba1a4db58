import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { RedisServer } from "../support/redis-server.js";
import { TestClient } from "../support/test-client.js";
import { offsetsOf, sequence, settle, waitText } from "../support/test-cluster.js";
import { readyz } from "./cluster-watch.js";
import { TcpProxy } from "./tcp-proxy.js";

/*
 * A gateway's subscriber connection goes half-open: TCP stays up, but nothing flows (a proxy in
 * between stops relaying it). Nothing closes, so nothing but a round trip can tell. With the
 * subscriber PING probe on, the gateway reports not ready, reconnects, resubscribes and refills
 * what it missed from history. A control gateway with the probe off shows the hazard: it stays
 * "ready" and its members silently stop receiving.
 */

const PREFIX = `halfopen-${process.pid}:`;
const ROOM = "halfopen";

let redis: RedisServer | undefined;
let proxies: TcpProxy[] = [];
let gateways: GatewayProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  proxies = await Promise.all([TcpProxy.start(redis.port), TcpProxy.start(redis.port)]);
  const env = (url: string, probeMs: string): Record<string, string> => ({
    REDIS_URL: url,
    PARLEY_REDIS_PREFIX: PREFIX,
    PARLEY_REDIS_PROBE_MS: probeMs,
    PARLEY_REDIS_TIMEOUT_MS: "500",
    PARLEY_RATE_PER_SECOND: "100000",
  });
  const [probed, unprobed] = proxies as [TcpProxy, TcpProxy];
  gateways = await Promise.all([
    GatewayProcess.start({ nodeId: "halfopen-sender", env: env(redis.url, "250") }),
    GatewayProcess.start({ nodeId: "halfopen-probed", env: env(probed.url, "250") }),
    GatewayProcess.start({ nodeId: "halfopen-unprobed", env: env(unprobed.url, "0") }),
  ]);
});

afterAll(async () => {
  for (const c of clients) c.terminate();
  await Promise.allSettled(gateways.map((g) => g.stop("SIGKILL")));
  await Promise.all(proxies.map((p) => p.close()));
  await redis?.destroy();
});

async function connect(g: GatewayProcess, name: string): Promise<TestClient> {
  const client = await TestClient.connect(g.url, { name });
  clients.push(client);
  await client.join(ROOM);
  return client;
}

describe("half-open subscriber link", () => {
  it("is detected by the PING probe: not ready, reconnect, resubscribe, refill", async () => {
    const [senderNode, probedNode, unprobedNode] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
    const [probedProxy, unprobedProxy] = proxies as [TcpProxy, TcpProxy];
    const sender = await connect(senderNode, "sender");
    const listener = await connect(probedNode, "listener");
    const control = await connect(unprobedNode, "control");
    expect(await sender.post(ROOM, "h1", "h1")).toMatchObject({ type: "ack", offset: 1 });
    await waitText(listener, ROOM, "h1");
    await waitText(control, ROOM, "h1");
    const repairedBefore = await probedNode.metric("parley_gap_repairs_total", { outcome: "repaired" });

    const marker = "parley-sub-";
    expect(probedProxy.freeze(marker)).toBe(1);
    expect(unprobedProxy.freeze(marker)).toBe(1);
    for (let i = 2; i <= 6; i++) expect(await sender.post(ROOM, `h${i}`, `h${i}`)).toMatchObject({ type: "ack", offset: i });

    // The probed gateway notices within a probe period plus the command timeout (it is not
    // ready from then until its subscriptions are confirmed again) and recovers over a fresh
    // connection (the proxy relays new connections normally).
    const logged = (text: string): boolean => probedNode.lines.some((line) => line.includes(text));
    await waitUntil("the probed gateway to find its subscriber silent", () => logged("subscriber connection did not answer PING"), 5000, 50);
    await waitUntil("the probed gateway to confirm its subscriptions again", () => logged('"reconnected":true'), 10_000, 50);
    await waitUntil("the probed gateway to be ready again", async () => (await readyz(probedNode.httpUrl)) === 200, 10_000, 50);
    expect(probedProxy.live(marker)).toBe(1);
    await waitText(listener, ROOM, "h6", 5000);
    expect(await probedNode.metric("parley_gap_repairs_total", { outcome: "repaired" })).toBeGreaterThan(repairedBefore);

    expect(await sender.post(ROOM, "h7", "h7")).toMatchObject({ type: "ack", offset: 7 });
    await waitText(listener, ROOM, "h7");
    await settle(listener);
    expect(offsetsOf(listener, ROOM)).toEqual(sequence(1, 7));

    // The control gateway, probe off, never noticed: still "ready", its member stuck at h1.
    await sleep(500);
    expect(await readyz(unprobedNode.httpUrl)).toBe(200);
    expect(offsetsOf(control, ROOM)).toEqual([1]);
  }, 60_000);
});
