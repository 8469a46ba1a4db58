import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../support/free-port.js";
import { audit, markdownTable, type Row } from "./audit.js";
import { DmUsers } from "./dm-traffic.js";
import { FaultCluster, type FaultClusterOptions } from "./fault-cluster.js";
import { Fleet } from "./fleet.js";

/*
 * Zero loss under faults: 3 gateway processes on one real redis-server, 6 SDK clients (2 per
 * gateway, each rotating through the others on reconnect) in one room, every client sending and
 * receiving. Each scenario lets traffic flow, injects one fault, waits until traffic flows again,
 * stops, and audits what every member's app received against every acknowledgement. Scenarios
 * (g) and (h) do the same for direct messages (dm-traffic.ts): every DM acknowledged to a
 * recipient must reach that recipient's app once and in order, first DMs included.
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
        console.log(`${name}: ${(err as Error).message}\n${f.missing().join("\n")}`);
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

/**
 * DM scenarios: SDK users talking in direct messages on a fresh cluster. `run` adds the users,
 * starts their conversations and injects the fault; then the conversations stop, every recipient
 * must get every DM acknowledged to it, and the audit counts what each recipient's app saw.
 */
async function dmScenario(name: string, run: (users: DmUsers, cluster: FaultCluster) => Promise<void>): Promise<Row> {
  const cluster = await FaultCluster.start();
  const users = new DmUsers(cluster);
  try {
    const started = Date.now();
    await run(users, cluster);
    await users.stop(45_000);
    await users.converge(30_000).catch((err: unknown) => console.log(`${name}: ${(err as Error).message}\n${users.missing().slice(0, 20).join("\n")}`));
    // Anything in flight after convergence would show up here as a duplicate.
    await sleep(300);
    const repairs = await cluster.gapRepairs();
    const row = audit(name, users, { gapRepairs: repairs.repaired + repairs.other, seconds: (Date.now() - started) / 1000 });
    rows.push(row);
    console.log(`${name}: ${JSON.stringify(row)}`);
    const losses = users.members.flatMap((m) => m.losses.map((l) => `${m.name}: ${l.room} ${l.reason}`));
    if (losses.length > 0) console.log(`${name}: loss events\n${losses.join("\n")}`);
    return row;
  } finally {
    users.close();
    await cluster.stop();
  }
}

/** Drops every node's Redis subscription `rounds` times, `pauseMs` apart; resolves with the connections killed. */
async function dropSubscriptions(cluster: FaultCluster, rounds: number, pauseMs: number): Promise<number> {
  let killed = 0;
  for (let i = 0; i < rounds; i++) {
    const reply = await cluster.redis.command("CLIENT", "KILL", "TYPE", "pubsub");
    killed += Number(/^:(\d+)/.exec(reply)?.[1] ?? 0);
    await sleep(pauseMs);
  }
  return killed;
}

/** The guarantees every scenario but a data wipe must keep. */
function expectZeroLoss(row: Row, minAcked = MIN_TOTAL): void {
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
  expect(row.acked).toBeGreaterThanOrEqual(minAcked);
}

describe("zero loss under faults (3 gateways, 1 Redis, SDK clients)", () => {
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

  it("(g) first DMs while every node's subscription keeps dropping: each reaches its recipient once, in order, with no loss", async () => {
    // Fresh pairs: the recipient learns of each conversation only from its feed's note (no DM
    // room joined yet), and both the note and the DM are published while subscriptions are down.
    const PAIRS = 24;
    const DMS = 4;
    let killed = 0;
    const row = await dmScenario("g. first DMs, subscriptions dropped", async (users, cluster) => {
      for (let k = 0; k < PAIRS; k++) {
        users.add(`gs${k}`, k % 3);
        users.add(`gr${k}`, (k + 1) % 3);
      }
      await users.ready();
      const storm = dropSubscriptions(cluster, 14, 200);
      const pairs = Array.from({ length: PAIRS }, async (_, k) => {
        // Pair k starts k × 100 ms into the storm (about 3 s long), so first DMs go out all through it.
        await sleep(k * 100);
        const sent: Promise<void>[] = [];
        for (let n = 1; n <= DMS; n++) {
          sent.push(users.dm(`gs${k}`, `gr${k}`, `gs${k}>gr${k}:${n}`));
          await sleep(60);
        }
        await Promise.all(sent);
      });
      killed = (await Promise.all([storm, ...pairs]))[0];
    });
    expectZeroLoss(row, PAIRS * DMS);
    expect(row.expected, "every DM acknowledged to its recipient").toBe(PAIRS * DMS);
    expect(killed, "subscriptions dropped: 3 nodes, 14 rounds (a node still reconnecting is not counted)").toBeGreaterThanOrEqual(14);
    // What was published while the subscriptions were down reached recipients only through
    // their nodes' refill of the feeds and DM rooms.
    expect(row.gapRepairs, "gaps the nodes refilled").toBeGreaterThan(0);
    expect(row.maxReconnectMs, "clients stayed connected").toBeUndefined();
  }, 180_000);

  it("(h) recipients in many rooms resume on another node after a SIGKILL while DMs keep arriving, first DMs among them", async () => {
    const RECIPIENTS = ["hr1", "hr2", "hr3"];
    const ROOMS = Array.from({ length: 30 }, (_, i) => `h-room-${i + 1}`);
    // Senders with DM conversations under way, two of them on the node that dies too.
    const SENDERS: [string, number][] = [["hs1", 1], ["hs2", 2], ["hs3", 1], ["hs4", 2], ["hs5", 0], ["hs6", 0]];
    // Users whose first DM to each recipient goes out as the node dies.
    const FRESH: [string, number][] = [["hf1", 1], ["hf2", 2], ["hf3", 0], ["hf4", 1], ["hf5", 2], ["hf6", 0]];
    const talk = { window: 2, pauseMs: 120, max: 400 };
    const row = await dmScenario("h. DM reconnect race (SIGKILL)", async (users, cluster) => {
      for (const r of RECIPIENTS) users.add(r, 0);
      for (const [name, home] of [...SENDERS, ...FRESH]) users.add(name, home);
      await users.ready();
      // Many rooms: after the crash, the recipients' re-joins take a while on the new node, and
      // DMs keep arriving meanwhile.
      await Promise.all(RECIPIENTS.flatMap((r) => ROOMS.map((room) => users.user(r).client.join(room))));
      for (const [s] of SENDERS) for (const r of RECIPIENTS) users.talk(s, r, talk);
      await waitUntil("DMs flowing before the crash", () => users.acked >= 200, 30_000, 20);
      for (const [f] of FRESH) for (const r of RECIPIENTS) users.talk(f, r, talk);
      await sleep(20);
      await cluster.gateway(0).stop("SIGKILL");
      await sleep(1000);
      await cluster.replace(0);
      const atRecovery = users.acked;
      await waitUntil("DMs to flow again after the crash", () => users.acked >= atRecovery + 400, 60_000, 50);
    });
    // Every DM room's history holds far more than the outage: no `loss` is justified here.
    expectZeroLoss(row, 600);
    expect(row.maxReconnectMs, "the killed gateway's clients reconnected").toBeDefined();
  }, 180_000);
});
