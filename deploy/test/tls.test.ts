import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort, waitUntil } from "../../services/gateway/test/support/free-port.js";
import { GatewayProcess } from "../../services/gateway/test/support/gateway-process.js";
import { RedisServer } from "../../services/gateway/test/support/redis-server.js";
import { HaproxyProcess } from "./support/haproxy-process.js";
import { REPO_ROOT, runTool } from "./support/tools.js";

/*
 * wss:// terminated at HAProxy, as in docker-compose.yml: a certificate from
 * scripts/gen-dev-cert.sh, the TLS bind block of deploy/haproxy/haproxy.cfg copied into the local
 * config, redis + a gateway behind it. Clients trust the generated certificate and chat over
 * wss; the gateway's admin port (/metrics) is never reachable through the load balancer.
 */

/** The wire subprotocol (packages/protocol); deploy/ is no workspace package, so it is spelled out. */
const SUBPROTOCOL = "parley.v1";
const path = (...parts: string[]): string => join(REPO_ROOT, ...parts);
const read = (...parts: string[]): string => readFileSync(path(...parts), "utf8");

/** The conditional TLS block of the compose config (`.if strneq("${PARLEY_TLS_CERT}","") ... .endif`). */
function tlsBlock(): string {
  const match = /^\.if strneq\("\$\{PARLEY_TLS_CERT\}",""\)\n[\s\S]*?^\.endif\n/m.exec(read("deploy/haproxy/haproxy.cfg"));
  if (match === null) throw new Error("deploy/haproxy/haproxy.cfg has no PARLEY_TLS_CERT block");
  return match[0];
}

function httpsGet(port: number, urlPath: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: urlPath, ca, servername: "localhost", timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

interface WssClient {
  readonly ws: WebSocket;
  readonly received: Record<string, unknown>[];
  next(match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function wss(url: string, options: WebSocket.ClientOptions): Promise<WssClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, SUBPROTOCOL, { ...options, handshakeTimeout: 5000 });
    const received: Record<string, unknown>[] = [];
    ws.on("message", (data) => received.push(JSON.parse((data as Buffer).toString()) as Record<string, unknown>));
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        received,
        next: (match) => waitUntil("a wss message", () => received.find(match), 5000, 10),
      }),
    );
  });
}

describe("TLS at HAProxy (wss://)", () => {
  let dir: string;
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let haproxy: HaproxyProcess;
  let tlsPort: number;
  let ca: Buffer;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "parley-tls-"));
    const gen = await runTool("bash", [path("scripts/gen-dev-cert.sh"), dir]);
    expect(gen.code, gen.stderr).toBe(0);
    ca = readFileSync(join(dir, "parley.crt"));
    tlsPort = await freePort();
    const local = read("deploy/haproxy/haproxy.local.cfg");
    const block = tlsBlock().replace(/bind :8443\b/, `bind 127.0.0.1:${tlsPort}`);
    const config = join(dir, "haproxy.tls.cfg");
    writeFileSync(config, local.replace(/^(\s*bind 127\.0\.0\.1:8080\n)/m, `$1${block}`));
    redis = await RedisServer.start();
    gateway = await GatewayProcess.start({ nodeId: "tls", env: { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: `tls-${process.pid}:` } });
    // HAProxy reads the certificate path from its environment, as in docker-compose.yml.
    process.env.PARLEY_TLS_CERT = join(dir, "parley.pem");
    try {
      haproxy = await HaproxyProcess.start(config, [gateway.port, gateway.port, gateway.port]);
    } finally {
      delete process.env.PARLEY_TLS_CERT;
    }
    await waitUntil("HAProxy to see the gateway UP", async () => Object.values(await haproxy.serverStatus()).some((s) => s === "UP"), 10_000);
  }, 60_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await haproxy?.stop();
    await gateway?.stop("SIGTERM");
    await redis?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("chats over wss:// with the generated certificate trusted", async () => {
    const url = (name: string): string => `wss://localhost:${tlsPort}/ws?name=${name}`;
    const [alice, bob] = await Promise.all([wss(url("alice"), { ca }), wss(url("bob"), { ca })]);
    sockets.push(alice.ws, bob.ws);
    await alice.next((m) => m.type === "welcome");
    for (const c of [alice, bob]) c.ws.send(JSON.stringify({ type: "join", room: "secure" }));
    await Promise.all([alice, bob].map((c) => c.next((m) => m.type === "subscribed" && m.room === "secure")));
    for (let i = 1; i <= 3; i++) alice.ws.send(JSON.stringify({ type: "send", room: "secure", text: `over TLS ${i}`, cid: `tls-${i}` }));
    await waitUntil("bob to get three messages", () => bob.received.filter((m) => m.type === "msg").length === 3, 5000, 10);
    expect(bob.received.filter((m) => m.type === "msg").map((m) => [m.offset, m.text])).toEqual([
      [1, "over TLS 1"],
      [2, "over TLS 2"],
      [3, "over TLS 3"],
    ]);
  });

  it("is real TLS: a client that does not trust the certificate is refused", async () => {
    await expect(wss(`wss://localhost:${tlsPort}/ws?name=careless`, {})).rejects.toThrow(/self-signed|certificate/i);
  });

  it("never exposes the admin port: /metrics through HAProxy is the gateway's public 404", async () => {
    expect(await httpsGet(tlsPort, "/healthz", ca)).toEqual({ status: 200, body: "ok\n" });
    const viaTls = await httpsGet(tlsPort, "/metrics", ca);
    expect(viaTls.status).toBe(404);
    expect(JSON.parse(viaTls.body)).toEqual({ error: "not_found" });
    const plain = await fetch(`http://127.0.0.1:${haproxy.port}/metrics`);
    expect(plain.status).toBe(404);
    expect(await plain.json()).toEqual({ error: "not_found" });
    // The metrics do exist, on the admin port the balancer does not know.
    expect((await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).status).toBe(200);
    for (const file of ["deploy/haproxy/haproxy.cfg", "deploy/haproxy/haproxy.local.cfg"]) {
      const routes = read(file)
        .split("\n")
        .filter((l) => !l.trim().startsWith("#") && /\b(server|server-template|bind)\b/.test(l));
      expect(routes.filter((l) => /:9\d{3}\b/.test(l)), file).toEqual([]);
    }
  });
});
