import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freeClusterPort, redisCommand } from "../../../../scripts/src/redis-cluster.js";
import { childPids } from "../support/child-pids.js";
import { sleep, waitUntil } from "../support/free-port.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * `REDIS_MODE=sentinel pnpm start` (scripts/src/start-cluster.ts): a primary, 2 replicas and 3
 * Sentinels, gateways on REDIS_SENTINELS; a message crosses gateways, the primary is SIGKILLed and
 * messages flow again through the promoted replica; Ctrl-C stops everything it started.
 */

const SCRIPT = fileURLToPath(new URL("../../../../scripts/dist/start-cluster.js", import.meta.url));

let script: ChildProcess | undefined;
const seen = new Set<number>();
const clients: TestClient[] = [];

afterAll(() => {
  for (const c of clients) c.terminate();
  if (script?.pid !== undefined) for (const pid of childPids(script.pid)) seen.add(pid);
  if (script !== undefined && script.exitCode === null) script.kill("SIGKILL");
  for (const pid of seen) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Sends until acknowledged: during a failover a send is answered `unavailable`, and retried with its cid. */
async function postUntilAcked(client: TestClient, text: string, cid: string): Promise<Received> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const answered = client.waitNew((m) => (m.type === "ack" || m.type === "error") && (m.cid === cid || m.ref === cid), 10_000);
    client.send({ type: "send", room: "lobby", text, cid });
    const reply = await answered;
    if (reply.type === "ack") return reply;
    await sleep(250);
  }
  throw new Error(`${cid} never acknowledged; last replies: ${JSON.stringify(client.received.slice(-3))}`);
}

describe("REDIS_MODE=sentinel pnpm start", () => {
  it("runs gateways behind Sentinels, survives a SIGKILL of the primary, and stops it all on Ctrl-C", async () => {
    const port = await freeClusterPort();
    const adminBase = await freeClusterPort([port]);
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS", "GATEWAYS", "PORT", "ADMIN_PORT", "NODE_ID", "PARLEY_LOCAL_REDIS", "LOG_LEVEL"]) delete env[name];
    const proc = spawn(process.execPath, [SCRIPT], {
      env: { ...env, REDIS_MODE: "sentinel", GATEWAYS: "2", PORT: String(port), PARLEY_ADMIN_BASE_PORT: String(adminBase), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    script = proc;
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    let output = "";
    proc.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

    const ready = await waitUntil(
      "the ready line",
      () => {
        if (proc.exitCode !== null) throw new Error(`start script exited with ${proc.exitCode}:\n${output}`);
        if (proc.pid !== undefined) for (const pid of childPids(proc.pid)) seen.add(pid);
        return /ready: .*\| redis sentinel (\S+) \(primary parley on :(\d+)\) \|/.exec(output);
      },
      90_000,
      100,
    );
    const sentinels = (ready[1] ?? "").split(",").map((hostPort) => Number(hostPort.split(":")[1]));
    const primary = Number(ready[2]);
    expect(sentinels).toHaveLength(3);
    const replication = String(await redisCommand(primary, ["INFO", "replication"]));
    expect(replication).toContain("role:master");
    expect(replication).toContain("connected_slaves:2");

    const alice = await TestClient.connect(`ws://127.0.0.1:${port}`, { name: "alice" });
    const bob = await TestClient.connect(`ws://127.0.0.1:${port}`, { name: "bob" });
    clients.push(alice, bob);
    for (const c of [alice, bob]) await c.join("lobby");
    expect(await alice.post("lobby", "before the failover", "c1")).toMatchObject({ type: "ack", offset: 1 });
    expect(await bob.next((m) => m.type === "msg" && m.text === "before the failover")).toMatchObject({ offset: 1, from: "alice" });

    // redis-server sets its process title to "redis-server 127.0.0.1:<port>".
    const primaryPid = [...seen].find((pid) => existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`127.0.0.1:${primary}`));
    if (primaryPid === undefined) throw new Error(`no process of the primary on :${primary}`);
    process.kill(primaryPid, "SIGKILL");
    const after = await postUntilAcked(alice, "after the failover", "c2");
    // The promoted primary fenced the room: a new epoch, so offset 1 again, never a reused one of the old epoch.
    expect(after).toMatchObject({ type: "ack", offset: 1 });
    expect(await bob.next((m) => m.type === "msg" && m.text === "after the failover", 30_000)).toMatchObject({ from: "alice", epoch: after.epoch });

    proc.kill("SIGINT");
    const code = await Promise.race([exited, sleep(30_000).then(() => "timeout" as const)]);
    expect(code, output).toBe(0);
    expect(output).toContain("stopping the Redis primary, replicas and Sentinels started for this cluster");
    for (const p of sentinels) expect(await redisCommand(p, ["PING"], 500).catch(() => "gone")).toBe("gone");
    for (const pid of seen) expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "), `child ${pid} still running`).toBe(false);
  }, 150_000);
});
