import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TestClient } from "../../../services/gateway/test/support/test-client.js";
import { Compose } from "../src/compose.js";
import { SCENARIOS, runK6, thresholds } from "../src/k6.js";
import { row } from "../src/k6-report.js";
import { waitFor } from "../src/run.js";
import { SERVICES, STACK, prometheusScrapes, stackSettles } from "../src/stack.js";
import { ConnectProbe, describeProbe, type ProbeOutcome } from "./support/connect-probe.js";
import { REPO_ROOT, required } from "./support/stack-env.js";

/*
 * docker-compose.yml run for real with Docker Compose (deploy/stack/run.sh prepares the images, the
 * tools and the container engine, then runs this suite): up with 3 gateway replicas, chat through
 * HAProxy on every replica, scale to 5 and back to 3, Prometheus scraping every replica, every k6
 * scenario at small scale with its thresholds, and down. Each step waits with a bound, and the
 * steps run in order on one stack.
 */

const compose = new Compose(required("PARLEY_STACK_COMPOSE"));
/** How long a step took, in CI's log (the suite's time budget is watched there). */
const took = (what: string, since: number): void => console.log(`stack: ${what} took ${((Date.now() - since) / 1000).toFixed(1)} s`);
const k6 = required("PARLEY_STACK_K6");
const ROOM = "compose-room";

/** The replicas' node ids as the gateways announce them in `welcome` (NODE_ID's default: host name:port). */
async function replicaNodes(): Promise<Set<string>> {
  const gateways = await compose.running("gateway");
  return new Set(gateways.map((g) => `${g.ID.slice(0, 12)}:8080`));
}

/**
 * Runs `step` while new users keep connecting through HAProxy (one every 100 ms); then none of them
 * may have been turned away. The probe stops however the step ends.
 */
async function whileUsersArrive(what: string, step: () => Promise<void>): Promise<void> {
  const probe = new ConnectProbe(STACK.ws, `arriving-${what.replace(/\W+/g, "-")}-`);
  let arrived: readonly ProbeOutcome[] = [];
  try {
    await step();
  } finally {
    arrived = await probe.stop();
    console.log(`stack: while ${what}, ${describeProbe(arrived)}`);
  }
  expect(arrived.filter((o) => !o.ok)).toEqual([]);
}

describe("docker-compose.yml for real: redis, gateway replicas behind HAProxy, Prometheus", () => {
  const clients: TestClient[] = [];
  const connect = async (name: string): Promise<TestClient> => {
    const client = await TestClient.connect(STACK.ws, { name });
    clients.push(client);
    return client;
  };
  const open = (): TestClient[] => clients.filter((c) => c.closeCode === undefined);

  afterAll(() => {
    for (const client of clients) client.terminate();
  });

  it("comes up with 3 healthy gateway replicas that HAProxy routes to", async () => {
    const started = Date.now();
    await compose.up(SERVICES, 3, 300_000);
    took("up", started);
    await stackSettles(compose, 3);
    took("up until 3 gateways are healthy and UP in HAProxy", started);
    const ready = await fetch(`${STACK.http}/readyz`, { signal: AbortSignal.timeout(5000) });
    expect(ready.status).toBe(200);
  });

  it("chat through HAProxy: clients land on every replica and a room reaches all of them", async () => {
    for (let i = 1; i <= 6; i++) await connect(`user${i}`);
    expect(new Set(clients.map((c) => String(c.welcome.node)))).toEqual(await replicaNodes());

    for (const client of clients) await client.join(ROOM);
    for (const [i, client] of clients.entries()) {
      for (let k = 1; k <= 2; k++) expect(await client.post(ROOM, `hello ${k} from user${i + 1}`, `u${i + 1}-${k}`)).toMatchObject({ type: "ack" });
    }
    await waitFor("every member to receive all 12 messages", () => Promise.resolve(clients.every((c) => c.messages(ROOM).length >= 12)), 10_000, 100);
  });

  it("Prometheus scrapes every replica, HAProxy and itself", async () => {
    await prometheusScrapes(3);
  });

  it("scales to 5 replicas: HAProxy and Prometheus find the new ones, new clients land on them, and none is turned away meanwhile", async () => {
    // Users keep arriving while it scales: none may be turned away by a replica that HAProxy
    // already routes to but that does not listen yet.
    await whileUsersArrive("scaling to 5", async () => {
      const started = Date.now();
      await compose.up(SERVICES, 5, 180_000);
      await stackSettles(compose, 5);
      took("scale to 5 until all are healthy and UP", started);
    });
    const nodes = await replicaNodes();
    // leastconn sends new clients to the emptiest replicas: the two new ones first.
    for (let i = 1; i <= 4; i++) await connect(`late${i}`);
    expect(new Set(open().map((c) => String(c.welcome.node)))).toEqual(nodes);

    const late = clients.slice(-4);
    for (const client of late) await client.join(ROOM);
    const [first] = clients;
    expect(await first!.post(ROOM, "welcome, newcomers", "u1-welcome")).toMatchObject({ type: "ack" });
    await waitFor("the newcomers on the new replicas to receive it", () => Promise.resolve(late.every((c) => c.messages(ROOM).some((m) => m.text === "welcome, newcomers"))), 10_000, 100);
    await prometheusScrapes(5);
  });

  it("scales back to 3: the removed replicas drain their clients (1001), who reconnect to the others, and no new client is turned away", async () => {
    const before = await replicaNodes();
    let after = new Set<string>();
    let drained: TestClient[] = [];
    // Users keep arriving while it scales down: none may be turned away by a replica that drains
    // or has stopped but is not yet out of HAProxy's rotation.
    await whileUsersArrive("scaling to 3", async () => {
      const started = Date.now();
      await compose.up(SERVICES, 3, 180_000);
      took("scale to 3 (the removed replicas drained and stopped)", started);
      after = await replicaNodes();
      expect(after.size).toBe(3);
      const removed = [...before].filter((n) => !after.has(n));
      drained = clients.filter((c) => removed.includes(String(c.welcome.node)));
      expect(drained.length).toBeGreaterThan(0);
      // `up` returns once the removed containers stopped: SIGTERM made each drain (1001, "going away").
      for (const client of drained) expect(await client.waitClosed(15_000)).toBe(1001);
      // Once HAProxy routes to the 3 that are left, the drained users come back there.
      await stackSettles(compose, 3);
    });
    for (const client of drained) {
      const again = await connect(`${String(client.welcome.user)}-again`);
      expect(after.has(String(again.welcome.node))).toBe(true);
      await again.join(ROOM);
    }
    const [first] = clients;
    expect(await first!.post(ROOM, "still here?", "u1-after-scale-down")).toMatchObject({ type: "ack" });
    const back = clients.slice(-drained.length);
    await waitFor("the reconnected users to receive it", () => Promise.resolve(back.every((c) => c.messages(ROOM).some((m) => m.text === "still here?"))), 10_000, 100);
    await prometheusScrapes(3);
  });

  it("the k6 scenarios cover every file in loadtest/k6", () => {
    const files = readdirSync(join(REPO_ROOT, "loadtest/k6")).filter((f) => f.endsWith(".ts"));
    expect(SCENARIOS.map((s) => s.file).sort()).toEqual(files.sort());
  });

  it.each(SCENARIOS.map((s) => [s.file, s] as const))("k6 %s at small scale through HAProxy, within its thresholds", async (file, scenario) => {
    const result = await runK6(k6, join(REPO_ROOT, "loadtest/k6", file), STACK.ws, scenario.small, join(tmpdir(), `parley-stack-k6-${process.pid}.json`), 180_000);
    console.log(`stack: k6 ${row(scenario, result)}`);
    // k6/websockets can lose a socket's first frame (loadtest/k6/lib/k6-client.ts); the scenarios
    // no longer depend on it, and this says how often it happened.
    const lost = result.metrics.parley_k6_welcome_lost?.count;
    if (typeof lost === "number" && lost > 0) console.log(`stack: k6 lost the welcome frame of ${lost} socket(s) in ${file} (the gateway sent it; the users went on)`);
    const failed = thresholds(result).filter((t) => !t.ok);
    expect({ code: result.code, failed }, result.output).toEqual({ code: 0, failed: [] });
    expect(thresholds(result).length).toBeGreaterThan(0);
  });

  it("HAProxy stops within compose's 10 s, and down --volumes leaves nothing behind", async () => {
    // What every container said (HAProxy's request log with its timings included), kept for a
    // failure's diagnosis before down removes the containers.
    const log = process.env.PARLEY_STACK_LOG;
    if (log !== undefined && log !== "") {
      writeFileSync(log, await compose.logs(60_000));
      console.log(`stack: the containers' logs are in ${log}`);
    }
    // Clients are still connected through it: a soft stop alone would wait for them for an hour.
    expect(open().length).toBeGreaterThan(0);
    expect((await compose.running("haproxy")).length).toBe(1);
    const stop = await compose.run(["stop", "haproxy"], 60_000);
    expect(stop.ms).toBeLessThan(10_000);
    const haproxy = (await compose.ps(true)).find((c) => c.Service === "haproxy");
    expect(haproxy?.State).toBe("exited");
    // 137 = SIGKILL: compose gave up waiting.
    expect(haproxy?.ExitCode).not.toBe(137);

    console.log(`stack: compose stop haproxy took ${(stop.ms / 1000).toFixed(1)} s`);
    const down = await compose.down(120_000);
    console.log(`stack: compose down --volumes took ${(down.ms / 1000).toFixed(1)} s`);
    expect(down.ms).toBeLessThan(60_000);
    expect(await compose.ps(true)).toEqual([]);
  });
});
