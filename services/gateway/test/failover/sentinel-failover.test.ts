import { afterEach, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/free-port.js";
import { GatewayProcess } from "../support/gateway-process.js";
import { startTestSentinelGroup, stopTestSentinelGroup, type LocalSentinelGroup } from "../support/redis-sentinel.js";
import { stablePort } from "../support/stable-port.js";
import { audit, divergentOffsets, markdownTable, type Row } from "../faults/audit.js";
import { Fleet } from "../faults/fleet.js";
import { placeholderWebRoot } from "../faults/web-root.js";
import { TcpProxy } from "../redis-cluster/tcp-proxy.js";
import { recordFailoverRow } from "./failover-report.js";

/*
 * Sentinel failover under traffic, on real processes: 1 primary, 2 replicas, 3 Sentinels, 3
 * gateways given only the Sentinels' addresses, 6 SDK clients (2 per gateway, each rotating
 * through the others) sending and receiving in one room. The replicas replicate through proxies;
 * the proxies freeze (replication stops, no link closes), the primary runs on alone for 300 ms
 * (appends keep coming), and is SIGKILLed; the Sentinels promote a
 * replica that lacks those last appends; the gateways find it through them. Then every member's app stream is
 * audited against every acknowledgement, and all members' streams against each other.
 *
 * With REDIS_WAIT_REPLICAS=1 an ack means a replica has the message, and Sentinel promotes the
 * most up-to-date replica: no acknowledged message may be lost, duplicated or reordered. Without
 * it an acknowledged message may be lost with the primary; then it must be reported (`loss`),
 * and no offset may carry two different messages (the fence in lua/lib/room-log.lua).
 */

const TRAFFIC = { window: 4, pauseMs: 12, maxPerClient: 3000 };
const BEFORE = 300;
const AFTER = 300;
/** How long the primary runs on without its replicas before the SIGKILL. */
const LAG_MS = 300;

let group: LocalSentinelGroup | undefined;
let gateways: GatewayProcess[] = [];
let fleet: Fleet | undefined;
let proxies: TcpProxy[] = [];

afterEach(async () => {
  fleet?.close();
  fleet = undefined;
  await Promise.all(gateways.map((g) => g.stop("SIGKILL").catch(() => undefined)));
  gateways = [];
  await stopTestSentinelGroup(group);
  group = undefined;
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});

async function startGateways(g: LocalSentinelGroup, waitReplicas: number): Promise<GatewayProcess[]> {
  const env = {
    REDIS_SENTINELS: g.sentinelAddresses,
    REDIS_SENTINEL_MASTER: g.masterName,
    REDIS_WAIT_REPLICAS: String(waitReplicas),
    PARLEY_WEB_ROOT: placeholderWebRoot(),
    PARLEY_RATE_PER_SECOND: "100000",
    PARLEY_RATE_BURST: "100000",
  };
  const started = await Promise.allSettled(
    [1, 2, 3].map(async (i) => GatewayProcess.start({ port: await stablePort(), adminPort: await stablePort(), nodeId: `sentinel-node-${i}`, env })),
  );
  gateways = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failure = started.find((s) => s.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  return gateways;
}

async function failover(name: string, waitReplicas: number): Promise<{ row: Row; divergent: number; failoverSeconds: number; waitFailures: number }> {
  // Each replica replicates through a proxy the test can freeze. Sentinels repoint a replica that
  // follows another address than the primary's only after failover-timeout: longer than the test.
  const g = await startTestSentinelGroup({
    replicas: 2,
    sentinels: 3,
    failoverTimeoutMs: 120_000,
    replicaUpstream: async (primary) => {
      const proxy = await TcpProxy.start(primary);
      proxies.push(proxy);
      return proxy.port;
    },
  });
  group = g;
  const gws = await startGateways(g, waitReplicas);
  const urlsFrom = (home: number): string[] => gws.map((_, i) => (gws[(home + i) % gws.length] as GatewayProcess).url);
  const f = await Fleet.join({ gateways: gws, urlsFrom }, `failover-${waitReplicas}`, 2);
  fleet = f;
  const started = Date.now();
  f.start(TRAFFIC);
  await waitUntil(`${BEFORE} acks before the failover`, () => f.acked >= BEFORE, 30_000, 20);

  const old = (await g.primaryPort()) as number;
  // Replication stops (the replicas' links freeze: both ends see an open connection, no byte
  // passes) while the primary goes on accepting appends for a moment before it dies: what it
  // acknowledged meanwhile reaches no replica, as in a real crash under replication lag.
  expect(proxies.reduce((n, p) => n + p.freeze(""), 0)).toBe(2);
  await sleep(LAG_MS);
  await g.node(old).kill();
  const killedAt = Date.now();
  const promoted = await g.waitReady(30_000, [old]);
  const failoverSeconds = (Date.now() - killedAt) / 1000;
  expect(promoted).not.toBe(old);
  const atRecovery = f.acked;
  await waitUntil("traffic to flow again after the failover", () => f.acked >= atRecovery + AFTER, 60_000, 50);
  await f.stop(45_000);
  await f.converge(30_000).catch((err: unknown) => console.log(`${name}: ${(err as Error).message}\n${f.missing().join("\n")}`));
  // Anything still in flight after convergence would show up as a duplicate.
  await sleep(300);
  let repairs = 0;
  let waitFailures = 0;
  for (const gw of gws) {
    repairs += await gw.metric("parley_gap_repairs_total");
    waitFailures += await gw.metric("parley_redis_wait_failures_total");
  }
  const row = audit(name, f, { gapRepairs: repairs, seconds: (Date.now() - started) / 1000 });
  const divergent = divergentOffsets(f.members, f.room);
  console.log(`${name}: ${JSON.stringify({ ...row, divergent, failoverSeconds, waitFailures })}\n${markdownTable([row])}`);
  recordFailoverRow(row, { divergent, failoverSeconds, waitFailures });
  return { row, divergent, failoverSeconds, waitFailures };
}

describe("Sentinel failover under traffic (primary SIGKILLed, a replica promoted)", () => {
  it("with REDIS_WAIT_REPLICAS=1: no acknowledged message lost, duplicated or reordered, and no offset reused", async () => {
    const { row, divergent } = await failover("Sentinel, waits on (1 replica)", 1);
    expect(row).toMatchObject({ unsettled: 0, failed: 0, lost: 0, duplicated: 0, storedTwice: 0, outOfOrder: 0, holes: 0, mismatched: 0 });
    expect(row.delivered).toBe(row.expected);
    expect(divergent).toBe(0);
  }, 180_000);

  it("with waits off: no offset reused, and every member told of the failover (loss)", async () => {
    const { row, divergent } = await failover("Sentinel, waits off", 0);
    expect(row).toMatchObject({ unsettled: 0, failed: 0, duplicated: 0, storedTwice: 0, outOfOrder: 0, holes: 0, mismatched: 0 });
    expect(divergent).toBe(0);
    // The room was fenced into a new epoch on the promoted primary: every member heard it.
    expect(row.lossReported).toBe(row.members);
  }, 180_000);
});
