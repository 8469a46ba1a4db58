import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { clusterNodes, freeClusterPort, redisCommand } from "../../../../scripts/src/redis-cluster.js";
import { childPids } from "../support/child-pids.js";
import { sleep, waitUntil } from "../support/free-port.js";
import { TestClient } from "../support/test-client.js";

/*
 * `REDIS_MODE=cluster pnpm start` (scripts/src/start-cluster.ts): a local 3-master Redis Cluster
 * and gateways on REDIS_CLUSTER_NODES; a message crosses gateways; Ctrl-C stops everything it
 * started, the Redis Cluster included.
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

describe("REDIS_MODE=cluster pnpm start", () => {
  it("runs gateways on a local Redis Cluster and stops it all on Ctrl-C", async () => {
    // Both ports below the ephemeral range, so no client socket of a parallel test takes them.
    const port = await freeClusterPort();
    const adminBase = await freeClusterPort([port]);
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of ["REDIS_URL", "REDIS_CLUSTER_NODES", "GATEWAYS", "PORT", "ADMIN_PORT", "NODE_ID", "PARLEY_LOCAL_REDIS", "LOG_LEVEL"]) delete env[name];
    const proc = spawn(process.execPath, [SCRIPT], {
      env: { ...env, REDIS_MODE: "cluster", GATEWAYS: "2", PORT: String(port), PARLEY_ADMIN_BASE_PORT: String(adminBase), NO_COLOR: "1" },
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
        return /ready: .*\| redis cluster (\S+) \|/.exec(output);
      },
      90_000,
      100,
    );
    const ports = (ready[1] ?? "").split(",").map((hostPort) => Number(hostPort.split(":")[1]));
    expect(ports).toHaveLength(3);
    for (const p of ports) expect(String(await redisCommand(p, ["CLUSTER", "INFO"]))).toContain("cluster_state:ok");
    expect((await clusterNodes(ports[0] as number)).filter((n) => n.flags.includes("master") && n.slots.length > 0)).toHaveLength(3);

    // Two clients on the shared port; SO_REUSEPORT spreads connections, the relay joins them.
    const alice = await TestClient.connect(`ws://127.0.0.1:${port}`, { name: "alice" });
    const bob = await TestClient.connect(`ws://127.0.0.1:${port}`, { name: "bob" });
    clients.push(alice, bob);
    for (const c of [alice, bob]) await c.join("lobby");
    expect(await alice.post("lobby", "over the cluster", "c1")).toMatchObject({ type: "ack", offset: 1 });
    expect(await bob.next((m) => m.type === "msg" && m.text === "over the cluster")).toMatchObject({ offset: 1, from: "alice" });

    proc.kill("SIGINT");
    const code = await Promise.race([exited, sleep(30_000).then(() => "timeout" as const)]);
    expect(code, output).toBe(0);
    expect(output).toContain("stopping the Redis Cluster started for this cluster");
    for (const p of ports) expect(await redisCommand(p, ["PING"], 500).catch(() => "gone")).toBe("gone");
    for (const pid of seen) expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "), `child ${pid} still running`).toBe(false);
  }, 150_000);
});
