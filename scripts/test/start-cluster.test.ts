import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, sleep, waitUntil } from "../../services/gateway/test/support/free-port.js";
import { RedisServer } from "../../services/gateway/test/support/redis-server.js";
import { TestClient } from "../../services/gateway/test/support/test-client.js";

/*
 * `pnpm start` (scripts/src/start-cluster.ts, run as the built dist/start-cluster.js) as a user
 * runs it: real gateways on one shared port, real Redis, Ctrl-C. Runs after `pnpm build` (the
 * root test script builds first).
 */
const SCRIPT = fileURLToPath(new URL("../dist/start-cluster.js", import.meta.url));
const READY = /ready: /;

interface Child {
  readonly pid: number;
  readonly cmd: string;
}

/** Live children of `pid`, from /proc (Linux; no procps needed). */
function childrenOf(pid: number): Child[] {
  const found: Child[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing paren.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ") });
    } catch {
      // the process went away while we looked
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` consecutive loopback ports, below the ephemeral range, all free a moment ago. */
async function freePortRange(count: number): Promise<number> {
  const canBind = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server: Server = createServer();
      server.once("error", () => resolve(false));
      server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 10_000);
    let ok = true;
    for (let p = first; p < first + count && ok; p++) ok = await canBind(p);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/** One run of the start script, its output kept for assertions and its children tracked. */
class StartScript {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  /** Every child seen while running, so a failed test can still clean up (they are detached). */
  readonly seen = new Map<number, string>();

  constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      let buffered = "";
      stream?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        this.lines.push(...parts);
      });
    };
    collect(proc.stdout);
    collect(proc.stderr);
  }

  static run(env: Record<string, string>): StartScript {
    const base = { ...process.env };
    for (const name of ["REDIS_URL", "REDIS_MODE", "REDIS_CLUSTER_NODES", "GATEWAYS", "PORT", "ADMIN_PORT", "NODE_ID", "LOG_LEVEL", "PARLEY_LOCAL_REDIS", "PARLEY_ADMIN_BASE_PORT"]) delete base[name];
    const proc = spawn(process.execPath, [SCRIPT], { env: { ...base, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    return new StartScript(proc);
  }

  get output(): string {
    return this.lines.join("\n");
  }

  children(): Child[] {
    const now = this.proc.pid === undefined ? [] : childrenOf(this.proc.pid);
    for (const child of now) this.seen.set(child.pid, child.cmd);
    return now;
  }

  async waitReady(timeoutMs = 60_000): Promise<string> {
    return waitUntil(
      "the start script to print its ready line",
      () => {
        if (this.proc.exitCode !== null) throw new Error(`start script exited with ${this.proc.exitCode}:\n${this.output}`);
        this.children();
        return this.lines.find((l) => READY.test(l));
      },
      timeoutMs,
      100,
    );
  }

  /** Sends `signal` and resolves with the exit code, bounded. */
  async stop(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<number | null> {
    this.children();
    this.proc.kill(signal);
    const code = await Promise.race([this.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
    if (code === "timeout") throw new Error(`start script still running ${timeoutMs} ms after ${signal}:\n${this.output}`);
    return code;
  }

  /** Last resort after a failed test: nothing of this run may outlive it. */
  kill(): void {
    this.children();
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    for (const pid of this.seen.keys()) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
}

describe("pnpm start (scripts/src/start-cluster.ts)", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function track<T extends { close?: () => void }>(client: T): T {
    cleanups.push(() => client.close?.());
    return client;
  }

  it("runs GATEWAYS=3 gateways on one shared port, relays across nodes, and stops cleanly on SIGINT", async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.destroy());
    const base = await freePortRange(4);
    const script = StartScript.run({
      REDIS_URL: redis.url,
      GATEWAYS: "3",
      HOST: "127.0.0.1",
      PORT: String(base),
      PARLEY_ADMIN_BASE_PORT: String(base),
      PARLEY_HEARTBEAT_MS: "500",
    });
    cleanups.push(() => script.kill());
    const ready = await script.waitReady();
    expect(ready).toContain(`ws://127.0.0.1:${base}/ws`);
    expect(ready).toContain(redis.url);
    // The gateways say whether they serve the web app (their listening signal): so does the ready line.
    if (existsSync(fileURLToPath(new URL("../../services/web/dist/index.html", import.meta.url)))) expect(ready).toContain(`web http://127.0.0.1:${base}/ |`);
    else expect(ready).not.toContain("web http");

    const gateways = script.children().filter((c) => c.cmd.includes("dist/main.js"));
    expect(gateways).toHaveLength(3);
    for (let i = 1; i <= 3; i++) {
      const metrics = await (await fetch(`http://127.0.0.1:${base + i}/metrics`)).text();
      expect(metrics).toMatch(/^parley_backend_up 1$/m);
    }

    // The kernel spreads connections over the three listeners: keep connecting until two nodes answered.
    const byNode = new Map<string, TestClient>();
    for (let i = 0; i < 40 && byNode.size < 2; i++) {
      const client = track(await TestClient.connect(`ws://127.0.0.1:${base}`, { name: `user${i}` }));
      const node = String(client.welcome.node);
      expect(["node-1", "node-2", "node-3"]).toContain(node);
      if (!byNode.has(node)) byNode.set(node, client);
    }
    expect(byNode.size).toBe(2);
    const [a, b] = [...byNode.values()] as [TestClient, TestClient];
    await a.join("crossing");
    await b.join("crossing");
    expect(await a.post("crossing", "across nodes", "x1")).toMatchObject({ type: "ack", room: "crossing" });
    expect(await b.next((m) => m.type === "msg" && m.text === "across nodes", 10_000)).toMatchObject({ from: a.welcome.user });

    const api = `http://127.0.0.1:${base}/api/nodes`;
    await waitUntil("/api/nodes to list all three nodes", async () => {
      const { nodes } = (await (await fetch(api)).json()) as { nodes: { node: string }[] };
      return nodes.map((n) => n.node).sort().join(",") === "node-1,node-2,node-3";
    }, 15_000, 200);

    expect(await script.stop("SIGINT")).toBe(0);
    expect(script.output).toMatch(/stopping: draining node-1, node-2, node-3/);
    expect(await a.waitClosed()).toBe(1001);
    for (const gateway of gateways) expect(isAlive(gateway.pid), `gateway pid ${gateway.pid}`).toBe(false);
    // The Redis it was given is not its own to stop.
    expect(await redis.ping()).toBe(true);
  });

  // Readiness comes from each gateway's IPC signal, not from its info log line, so a quieter
  // LOG_LEVEL still gives the whole cluster (it once started node-1 alone and gave up after 20 s).
  for (const level of ["warn", "silent"]) {
    it(`runs 3 gateways at LOG_LEVEL=${level}, printing no gateway info line, and says each node's pid`, async () => {
      const redis = await RedisServer.start();
      cleanups.push(() => redis.destroy());
      const base = await freePortRange(4);
      const script = StartScript.run({ REDIS_URL: redis.url, GATEWAYS: "3", HOST: "127.0.0.1", PORT: String(base), PARLEY_ADMIN_BASE_PORT: String(base), LOG_LEVEL: level });
      cleanups.push(() => script.kill());
      const ready = await script.waitReady(45_000);
      expect(ready).toContain("3 gateways (node-1..node-3)");
      expect(script.output).not.toMatch(/gateway listening/);
      const gateways = script.children().filter((c) => c.cmd.includes("dist/main.js"));
      expect(gateways).toHaveLength(3);
      // The ready line names each node's pid, for `kill <pid>`: they are exactly the gateways running.
      const pids = [...ready.matchAll(/node-(\d)=(\d+)/g)].map((m) => Number(m[2]));
      expect(pids.sort()).toEqual(gateways.map((g) => g.pid).sort());
      const nodes = new Set<string>();
      for (let i = 1; i <= 3; i++) {
        const metrics = await (await fetch(`http://127.0.0.1:${base + i}/metrics`)).text();
        expect(metrics).toMatch(/^parley_backend_up 1$/m);
      }
      for (let i = 0; i < 30 && nodes.size < 2; i++) {
        const client = track(await TestClient.connect(`ws://127.0.0.1:${base}`, { name: `quiet${i}` }));
        nodes.add(String(client.welcome.node));
      }
      expect(nodes.size).toBe(2);
      expect(await script.stop("SIGINT")).toBe(0);
      expect(script.output).toMatch(/stopped$/m);
    });
  }

  it("starts a redis-server of its own when none is found, and stops it on SIGTERM", async () => {
    const base = await freePortRange(3);
    const script = StartScript.run({
      PARLEY_LOCAL_REDIS: `127.0.0.1:${await freePort()}`,
      GATEWAYS: "2",
      HOST: "127.0.0.1",
      PORT: String(base),
      PARLEY_ADMIN_BASE_PORT: String(base),
    });
    cleanups.push(() => script.kill());
    const ready = await script.waitReady();
    expect(script.output).toMatch(/a redis-server started for this cluster/);
    const children = script.children();
    const redis = children.find((c) => c.cmd.includes("redis-server"));
    expect(redis, children.map((c) => c.cmd).join("\n")).toBeDefined();
    expect(children.filter((c) => c.cmd.includes("dist/main.js"))).toHaveLength(2);
    expect(ready).toMatch(/redis redis:\/\/127\.0\.0\.1:\d+/);

    const client = track(await TestClient.connect(`ws://127.0.0.1:${base}`, { name: "solo" }));
    await client.join("lobby");
    expect(await client.post("lobby", "stored in our own redis", "s1")).toMatchObject({ type: "ack", offset: 1 });

    expect(await script.stop("SIGTERM")).toBe(0);
    for (const child of children) expect(isAlive(child.pid), child.cmd).toBe(false);
  });

  it("falls back to ONE in-memory gateway, and says why, when there is no Redis at all", async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), "parley-no-redis-"));
    cleanups.push(() => rmSync(emptyPath, { recursive: true, force: true }));
    const base = await freePortRange(2);
    const script = StartScript.run({
      PATH: emptyPath,
      PARLEY_LOCAL_REDIS: `127.0.0.1:${await freePort()}`,
      GATEWAYS: "3",
      HOST: "127.0.0.1",
      PORT: String(base),
      PARLEY_ADMIN_BASE_PORT: String(base),
    });
    cleanups.push(() => script.kill());
    await script.waitReady();
    expect(script.output).toMatch(/no Redis found .*running ONE gateway in memory mode/);
    expect(script.children().filter((c) => c.cmd.includes("dist/main.js"))).toHaveLength(1);
    const client = track(await TestClient.connect(`ws://127.0.0.1:${base}`, { name: "mem" }));
    expect(client.welcome.node).toBe("node-1");
    expect(await script.stop("SIGINT")).toBe(0);
  });

  it("rejects a bad GATEWAYS value and a port already in use with a clear message", async () => {
    const bad = StartScript.run({ GATEWAYS: "zero", REDIS_URL: "memory" });
    expect(await Promise.race([bad.exited, sleep(15_000).then(() => "timeout")])).toBe(2);
    expect(bad.output).toContain('GATEWAYS="zero" must be a whole number from 1 to 32');

    const base = await freePortRange(2);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(base, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const busy = StartScript.run({ REDIS_URL: "memory", HOST: "127.0.0.1", PORT: String(base), PARLEY_ADMIN_BASE_PORT: String(base) });
    cleanups.push(() => busy.kill());
    expect(await Promise.race([busy.exited, sleep(15_000).then(() => "timeout")])).toBe(1);
    expect(busy.output).toMatch(new RegExp(`port\\(s\\) ${base} already in use`));
    expect(busy.children()).toHaveLength(0);
  });
});
