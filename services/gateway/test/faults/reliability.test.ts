import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/free-port.js";
import { audit, markdownTable, type Row } from "./audit.js";
import { FaultCluster, type FaultClusterOptions } from "./fault-cluster.js";
import { Fleet } from "./fleet.js";

/*
 * Zero loss under faults: 3 gateway processes on one real redis-server, 6 SDK clients (2 per
 * gateway, each rotating through the others on reconnect) in one room, every client sending and
 * receiving. Each scenario lets traffic flow, injects one fault, waits until traffic flows again,
 * stops, and audits what every member's app received against every acknowledgement.
 */

const REPORT = fileURLToPath(new URL("../../../../test-artifacts/reliability.md", import.meta.url));
const COMMAND = "pnpm build && pnpm exec vitest run services/gateway/test/faults";
/** Paced so the run leaves CPU to the rest of the suite on a shared 2-core machine. */
const TRAFFIC = { window: 4, pauseMs: 12, maxPerClient: 5000 };
/** Acknowledged messages before the fault, and after it (and at least `MIN_TOTAL` in all). */
const BEFORE = 400;
const AFTER = 400;
const MIN_TOTAL = 2400;

const rows: Row[] = [];

interface Outcome {
  readonly row: Row;
  /** Whether every member got every message it should within the bound (the audit says which not). */
  readonly converged: boolean;
  readonly fleet: Fleet;
  readonly cluster: FaultCluster;
}

async function scenario(
  name: string,
  options: FaultClusterOptions,
  fault: (cluster: FaultCluster) => Promise<void>,
  converge: (fleet: Fleet) => Promise<void> = (fleet) => fleet.converge(30_000),
): Promise<Outcome> {
  const cluster = await FaultCluster.start(options);
  const room = `faults-${name.replace(/[^a-z]+/gi, "-").toLowerCase()}`.slice(0, 60);
  let fleet: Fleet | undefined;
  try {
    fleet = await Fleet.join(cluster, room, 2);
    const f = fleet;
    const started = Date.now();
    f.start(TRAFFIC);
    await waitUntil(`${BEFORE} acks before the fault`, () => f.acked >= BEFORE, 30_000, 20);
    await fault(cluster);
    const atRecovery = f.acked;
    await waitUntil(
      "traffic to flow again after the fault",
      () => f.acked >= atRecovery + AFTER && f.acked >= MIN_TOTAL,
      60_000,
      50,
    );
    await f.stop(45_000);
    // A member still missing messages after the bound shows up in the audit as `lost`.
    const converged = await converge(f).then(
      () => true,
      (err: unknown) => {
        console.log(`${name}: ${(err as Error).message}`);
        return false;
      },
    );
    // Anything in flight after convergence would show up here as a duplicate.
    await sleep(300);
    const repairs = await cluster.gapRepairs();
    const row = audit(name, f, { gapRepairs: repairs.repaired + repairs.other, seconds: (Date.now() - started) / 1000 });
    rows.push(row);
    console.log(`${name}: ${JSON.stringify(row)}`);
    return { row, converged, fleet: f, cluster };
  } finally {
    fleet?.close();
    await cluster.stop();
  }
}

/** The guarantees every scenario but a data wipe must keep. */
function expectZeroLoss(row: Row): void {
  expect(row.unsettled, "sends neither acked nor reported failed").toBe(0);
  expect(row.failed, "sends reported failed (none expected: the outage is shorter than the send timeout)").toBe(0);
  expect(row.lost, "acknowledged messages a member never received").toBe(0);
  expect(row.delivered).toBe(row.expected);
  expect(row.duplicated, "messages delivered twice").toBe(0);
  expect(row.storedTwice, "sends stored twice (a retry not recognised by its cid)").toBe(0);
  expect(row.outOfOrder, "messages out of offset order").toBe(0);
  expect(row.holes, "skipped offsets").toBe(0);
  expect(row.mismatched, "a message whose text is not the acknowledged one").toBe(0);
  expect(row.lossReported, "members told of a loss that did not happen").toBe(0);
  expect(row.acked).toBeGreaterThanOrEqual(MIN_TOTAL);
}

describe("zero loss under faults (3 gateways, 1 Redis, 6 SDK clients)", () => {
  afterAll(() => {
    if (rows.length === 0) return;
    const table = markdownTable(rows);
    console.log(`\nReliability (${COMMAND}):\n\n${table}\n`);
    mkdirSync(fileURLToPath(new URL("../../../../test-artifacts/", import.meta.url)), { recursive: true });
    writeFileSync(
      REPORT,
      `# Reliability run\n\n${new Date().toISOString()}, ${cpus().length} CPUs, Node ${process.version}.\n\nCommand: \`${COMMAND}\`\n\n${table}\n`,
    );
  });

  it("(a) a gateway is killed with SIGKILL: its clients resume on the others", async () => {
    const { row } = await scenario("a. gateway SIGKILL", {}, async (cluster) => {
      await cluster.gateway(0).stop("SIGKILL");
      await sleep(1000);
      await cluster.replace(0);
    });
    expectZeroLoss(row);
    expect(row.maxReconnectMs, "the killed gateway's clients reconnected").toBeDefined();
  }, 180_000);

  it("(b) Redis restarts with its data (AOF, clean SHUTDOWN, same port)", async () => {
    const { row } = await scenario("b. Redis restart (AOF)", { appendOnly: true }, async (cluster) => {
      await cluster.redis.restart();
    });
    expectZeroLoss(row);
  }, 180_000);

  it("(c) Redis is killed with its data lost: the epoch changes and every member is told", async () => {
    let firstEpoch: string | undefined;
    const { row, fleet, converged } = await scenario(
      "c. Redis SIGKILL, no persistence",
      {},
      async (cluster) => {
        await cluster.redis.kill();
        await cluster.redis.startProcess();
      },
      async (f) => {
        // Only what was acknowledged in the new epoch can still be delivered.
        firstEpoch = f.members[0]?.sends.find((s) => s.ack !== undefined)?.ack?.epoch;
        await f.converge(30_000, (epoch) => epoch !== firstEpoch);
      },
    );
    const epochs = new Set([...fleet.ackedMessages().keys()].map((k) => k.split("#")[0]));
    expect(epochs.size, "acknowledged epochs: the one before the wipe and the new one").toBe(2);
    expect(converged, "every message acknowledged in the new epoch reached every member").toBe(true);
    expect(row.unsettled).toBe(0);
    expect(row.duplicated).toBe(0);
    expect(row.storedTwice).toBe(0);
    expect(row.outOfOrder).toBe(0);
    expect(row.holes).toBe(0);
    expect(row.mismatched).toBe(0);
    // The loss is never silent: every member was told, and in the new epoch nothing is lost.
    expect(row.lossReported).toBe(row.members);
    // Each member is told its room's epoch changed; the wipe also took each user's feed (their
    // membership notes), and the SDK says so as `@feed`. Nothing else may be reported.
    for (const m of fleet.members) {
      expect(m.losses.some((l) => l.room === fleet.room && l.reason === "epoch-changed")).toBe(true);
      const others = m.losses.filter((l) => l.room !== fleet.room);
      expect(others.every((l) => l.room === "@feed" && l.reason === "epoch-changed"), JSON.stringify(others)).toBe(true);
      expect(m.received.at(-1)?.epoch).not.toBe(firstEpoch);
    }
  }, 180_000);

  it("(d) Redis is frozen with SIGSTOP for 3 s, then SIGCONT", async () => {
    const { row } = await scenario("d. Redis SIGSTOP 3 s", {}, async (cluster) => {
      cluster.redis.signal("SIGSTOP");
      await sleep(3000);
      cluster.redis.signal("SIGCONT");
    });
    expectZeroLoss(row);
  }, 180_000);

  it("(e) rolling restart: each gateway drained with SIGTERM and replaced on its port", async () => {
    const { row } = await scenario("e. rolling restart (SIGTERM)", {}, async (cluster) => {
      for (let i = 0; i < cluster.gateways.length; i++) {
        expect(await cluster.gateway(i).stop("SIGTERM"), "a drained gateway exits 0").toBe(0);
        await cluster.replace(i);
        await sleep(300);
      }
    });
    expectZeroLoss(row);
    expect(row.maxReconnectMs, "drained clients reconnected").toBeDefined();
  }, 180_000);

  it("(f) every node's Redis subscription drops (CLIENT KILL TYPE pubsub): nodes refill from history", async () => {
    const { row } = await scenario("f. relay subscriptions dropped", {}, async (cluster) => {
      const subscribers = async (): Promise<number> => (await cluster.redis.command("CLIENT", "LIST", "TYPE", "pubsub")).split("name=parley-sub").length - 1;
      for (let i = 0; i < 3; i++) {
        // Each round drops every node's subscription at once, while all nodes keep publishing.
        await waitUntil("every node to be subscribed again", async () => (await subscribers()) === cluster.gateways.length, 15_000, 50);
        expect(await cluster.redis.command("CLIENT", "KILL", "TYPE", "pubsub")).toBe(`:${cluster.gateways.length}\r\n`);
        await sleep(500);
      }
    });
    expectZeroLoss(row);
    // Publications made while the subscriptions were down reached members only through the
    // nodes' refill from history (DESIGN guarantee 6): without it they would be lost.
    expect(row.gapRepairs, "gaps the nodes refilled").toBeGreaterThan(0);
    expect(row.maxReconnectMs, "clients stayed connected").toBeUndefined();
  }, 180_000);
});
