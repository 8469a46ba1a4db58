import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../services/gateway/test/support/free-port.js";
import { startGateways, type GatewayProcess } from "../../services/gateway/test/support/gateway-process.js";
import { upgradeRequest } from "../../services/gateway/test/support/raw-socket.js";
import { RedisServer } from "../../services/gateway/test/support/redis-server.js";
import { callApi } from "../../services/gateway/test/support/server-api-client.js";
import { TestClient } from "../../services/gateway/test/support/test-client.js";
import { WebhookReceiver } from "../../services/gateway/test/support/webhook-receiver.js";
import { AllowHook } from "./support/allow-hook.js";
import { HaproxyProcess } from "./support/haproxy-process.js";
import { PrometheusProcess } from "./support/prometheus-process.js";
import { alertQueries, allPanels, dashboardQueries, type Dashboard, type RuleFile } from "./support/queries.js";
import { REPO_ROOT, readYaml, runTool } from "./support/tools.js";

/*
 * The deploy files, checked by the tools that run them (docker-compose, promtool, haproxy,
 * prometheus) rather than by reading alone, and then the same topology run as local processes:
 * redis-server, three gateways, HAProxy with the shipped config, and Prometheus with the shipped
 * alert rules. Every dashboard query and alert expression must return data from that cluster.
 * The gateways run with the server API, a webhook endpoint and a publish hook on (real receivers
 * in this process), so those panels and alerts see real traffic too.
 */

const path = (...parts: string[]): string => join(REPO_ROOT, ...parts);
const read = (...parts: string[]): string => readFileSync(path(...parts), "utf8");
const DASHBOARD = (): Dashboard => JSON.parse(read("deploy/grafana/dashboards/parley.json")) as Dashboard;
const ALERTS = "deploy/prometheus/alerts.yml";
const GATEWAY_JOB = "parley-gateway";
const API_KEY = "deploy-test-key-0123456789abcdef";
const WEBHOOK_SECRET = "whsec_ZGVwbG95LXRlc3Qtd2ViaG9vay1zZWNyZXQ=";
/** The outbox's dispatcher shards (redis-outbox.ts OUTBOX_SHARDS). */
const OUTBOX_SHARDS = 16;

type Service = Record<string, unknown> & { environment?: Record<string, string>; volumes?: string[]; ports?: string[] };

async function expectTool(command: string, args: string[]): Promise<string> {
  const run = await runTool(command, args);
  expect(run.code, `${command} ${args.join(" ")}\n${run.stdout}${run.stderr}`).toBe(0);
  return run.stdout + run.stderr;
}

describe("deploy files, checked by their own tools", () => {
  it("docker-compose accepts docker-compose.yml", async () => {
    await expectTool("docker-compose", ["-f", "docker-compose.yml", "config", "-q"]);
  });

  it("docker-compose.yml's redis-sentinel profile: 2 replicas of redis and 3 Sentinels (quorum 2) that the gateways can be pointed at", async () => {
    await expectTool("docker-compose", ["-f", "docker-compose.yml", "--profile", "redis-sentinel", "config", "-q"]);
    const compose = (await readYaml(path("docker-compose.yml"))) as { services: Record<string, Service> };
    const inProfile = Object.entries(compose.services).filter(([, s]) => (s.profiles as string[] | undefined)?.includes("redis-sentinel"));
    expect(inProfile.map(([name]) => name).sort()).toEqual(["redis-replica-1", "redis-replica-2", "redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3"]);
    for (const [name, s] of inProfile) {
      const command = (s.command as string[]).join(" ");
      if (name.startsWith("redis-replica")) expect(command).toContain(`--replicaof redis 6379 --replica-announce-ip ${name}`);
      else {
        expect(command).toContain("sentinel monitor parley redis 6379 2");
        expect(command).toContain("--sentinel");
        expect(s.environment).toEqual({ SENTINEL_NAME: name });
      }
    }
    expect(compose.services.gateway?.environment).toMatchObject({ REDIS_SENTINELS: "${REDIS_SENTINELS:-}", REDIS_SENTINEL_MASTER: "parley" });
  });

  it("docker-compose.yml: scalable gateways behind HAProxy, the only public port", async () => {
    const compose = (await readYaml(path("docker-compose.yml"))) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const { redis, gateway, haproxy, prometheus, grafana, k6 } = compose.services;
    if (!redis || !gateway || !haproxy || !prometheus || !grafana || !k6) throw new Error(`services: ${Object.keys(compose.services).join(", ")}`);

    expect(gateway.container_name).toBeUndefined();
    expect(gateway.ports).toBeUndefined();
    expect(gateway.deploy).toMatchObject({ replicas: 3 });
    const build = gateway.build as { context: string; dockerfile: string };
    expect(existsSync(path(build.context, build.dockerfile))).toBe(true);
    expect(gateway.environment).toMatchObject({ REDIS_URL: "redis://redis:6379" });
    expect(gateway.environment?.NODE_ID).toBeUndefined();

    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, p: String(p) })));
    expect(published.filter(({ p }) => !p.startsWith("127.0.0.1:"))).toEqual([
      { name: "haproxy", p: "8080:8080" },
      { name: "haproxy", p: "8443:8443" },
    ]);

    expect((redis.command as string[]).join(" ")).toContain("--appendonly yes");
    expect(Object.keys(compose.volumes)).toContain(redis.volumes?.[0]?.split(":")[0]);
    expect(JSON.stringify(redis.healthcheck)).toContain("redis-cli");

    expect(haproxy.volumes).toContain("./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
    expect(prometheus.volumes).toContain("./deploy/prometheus:/etc/prometheus:ro");
    expect(prometheus.command).toContain("--config.file=/etc/prometheus/prometheus.yml");

    expect(grafana.environment).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer" });
    expect(grafana.volumes).toContain("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro");
    expect(grafana.volumes).toContain("./deploy/grafana/dashboards:/etc/grafana/dashboards:ro");

    expect(k6.profiles).toEqual(["loadtest"]);
    expect(k6.command).toEqual(["run", "/scripts/room-fanout.ts"]);
    expect(k6.environment).toMatchObject({ BASE_URL: "ws://haproxy:8080" });
    expect(k6.volumes).toContain("./loadtest/k6:/scripts:ro");

    // Every file this stack mounts from deploy/ is there (loadtest/k6 is written separately).
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0] ?? "";
        if (source.startsWith("./deploy/")) expect(existsSync(path(source)), source).toBe(true);
      }
    }
  });

  it("the Dockerfile: two bookworm Node 20 stages, pinned pnpm, production deploy, non-root, /readyz health check", () => {
    const dockerfile = read("deploy/gateway.Dockerfile");
    const packageManager = (JSON.parse(read("package.json")) as { packageManager: string }).packageManager;
    expect(dockerfile).toContain("ARG NODE_IMAGE=node:20-bookworm-slim");
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS \w+$/gm)).toHaveLength(2);
    expect(`pnpm@${/^ARG PNPM_VERSION=(\S+)$/m.exec(dockerfile)?.[1]}`).toBe(packageManager);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/pnpm build/);
    expect(dockerfile).toMatch(/pnpm --filter @parley\/gateway deploy --prod --legacy/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8080 9100$/m);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0[\s\S]*PORT=8080[\s\S]*ADMIN_PORT=9100/);
    const instructions = dockerfile.split("\n").filter((l) => !l.startsWith("#")).join("\n");
    expect(instructions).not.toMatch(/\bcurl\b|\bwget\b/);
    const ignored = read(".dockerignore").split("\n");
    for (const entry of ["**/node_modules", "**/dist", ".git", "**/test-artifacts"]) expect(ignored).toContain(entry);
  });

  it("promtool accepts both Prometheus configs and the rules, and the alert unit tests pass", async () => {
    await expectTool("promtool", ["check", "config", "deploy/prometheus/prometheus.yml"]);
    await expectTool("promtool", ["check", "config", "deploy/prometheus/prometheus.local.yml"]);
    await expectTool("promtool", ["check", "rules", ALERTS]);
    await expectTool("promtool", ["test", "rules", "deploy/prometheus/alerts.test.yml"]);

    // Every replica is scraped on its admin port through Docker's DNS, never through HAProxy.
    const config = (await readYaml(path("deploy/prometheus/prometheus.yml"))) as { scrape_configs: { job_name: string; dns_sd_configs?: unknown[] }[] };
    const job = config.scrape_configs.find((c) => c.job_name === GATEWAY_JOB);
    expect(job?.dns_sd_configs).toEqual([{ names: ["gateway"], type: "A", port: 9100, refresh_interval: "5s" }]);
    const rules = (await readYaml(path(ALERTS))) as RuleFile;
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it("haproxy accepts both configs, which share global and defaults word for word", async () => {
    expect(await expectTool("haproxy", ["-c", "-f", "deploy/haproxy/haproxy.cfg"])).toContain("Configuration file is valid");
    expect(await expectTool("haproxy", ["-c", "-f", "deploy/haproxy/haproxy.local.cfg"])).toContain("Configuration file is valid");
    // `global` and `defaults`: from the top to the first other section, top-level comments aside.
    const shared = (text: string): string =>
      (/^global\n[\s\S]*?(?=^(?:resolvers|frontend|backend|listen) )/m.exec(text)?.[0] ?? "")
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .join("\n")
        .trim();
    const compose = shared(read("deploy/haproxy/haproxy.cfg"));
    expect(compose).toMatch(/timeout tunnel 1h/);
    expect(compose).toMatch(/timeout http-request 10s/);
    expect(shared(read("deploy/haproxy/haproxy.local.cfg"))).toBe(compose);
    for (const file of ["deploy/haproxy/haproxy.cfg", "deploy/haproxy/haproxy.local.cfg"]) {
      expect(read(file)).toMatch(/^\s+balance leastconn$/m);
      expect(read(file)).toMatch(/^\s+option httpchk GET \/readyz HTTP\/1\.1$/m);
    }
    expect(compose).toMatch(/hard-stop-after 5s/);
    // Replicas by DNS, through whatever resolver the container has (Docker's, podman's): no fixed address.
    expect(read("deploy/haproxy/haproxy.cfg")).toMatch(/server-template gw 10 gateway:8080 check resolvers compose init-addr none/);
    expect(read("deploy/haproxy/haproxy.cfg")).toMatch(/^resolvers compose\n\s+parse-resolv-conf$/m);
    expect(read("deploy/haproxy/haproxy.cfg")).not.toMatch(/127\.0\.0\.11/);
  });

  it("the dashboard: every panel has the provisioned datasource and a query", async () => {
    const dashboard = DASHBOARD();
    const datasources = (await readYaml(path("deploy/grafana/provisioning/datasources/prometheus.yml"))) as { datasources: { uid: string; url: string }[] };
    const uid = datasources.datasources[0]?.uid;
    expect(datasources.datasources[0]?.url).toBe("http://prometheus:9090");
    const providers = (await readYaml(path("deploy/grafana/provisioning/dashboards/parley.yml"))) as { providers: { options: { path: string } }[] };
    expect(providers.providers[0]?.options.path).toBe("/etc/grafana/dashboards");

    const panels = allPanels(dashboard);
    expect(panels.length).toBeGreaterThanOrEqual(20);
    const problems: string[] = [];
    for (const panel of panels) {
      if (panel.datasource?.uid !== uid) problems.push(`"${panel.title}": datasource ${JSON.stringify(panel.datasource)}`);
      const targets = panel.targets ?? [];
      if (targets.length === 0) problems.push(`"${panel.title}": no targets`);
      for (const t of targets) if (!t.expr?.trim() || t.datasource?.uid !== uid) problems.push(`"${panel.title}" ${t.refId}: empty query or wrong datasource`);
    }
    expect(problems).toEqual([]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });
});

describe("live: redis + 3 gateways + HAProxy + Prometheus, as local processes", () => {
  let redis: RedisServer;
  let gateways: GatewayProcess[];
  let haproxy: HaproxyProcess;
  let prometheus: PrometheusProcess;
  let hook: AllowHook;
  let receiver: WebhookReceiver;
  const clients: TestClient[] = [];
  const room = "deploy-room";

  const connect = async (name: string, url = haproxy.url): Promise<TestClient> => {
    const client = await TestClient.connect(url, { name });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    hook = await AllowHook.start();
    receiver = await WebhookReceiver.start({ "/events": WEBHOOK_SECRET });
    gateways = await startGateways(3, {
      nodeId: "deploy",
      env: {
        REDIS_URL: redis.url,
        PARLEY_REDIS_PREFIX: `deploy-${process.pid}:`,
        PARLEY_API_KEYS: API_KEY,
        PARLEY_PUBLISH_HOOK_URL: hook.url,
        PARLEY_WEBHOOKS: JSON.stringify([{ id: "events", url: receiver.url("/events"), secret: WEBHOOK_SECRET }]),
        PARLEY_WEBHOOK_POLL_MS: "50",
      },
    });
    haproxy = await HaproxyProcess.start(path("deploy/haproxy/haproxy.local.cfg"), gateways.map((g) => g.port));
    prometheus = await PrometheusProcess.start({
      ruleFiles: [path(ALERTS)],
      jobs: { [GATEWAY_JOB]: gateways.map((g) => `127.0.0.1:${g.adminPort}`), haproxy: [`127.0.0.1:${haproxy.statsPort}`] },
    });
    // A first scrape before any traffic, so rate() sees the counters rise from 0.
    await waitUntil("Prometheus's first scrape of every target", async () => (await prometheus.value("count(up == 1)")) === 4, 15_000, 100);
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.terminate();
    await prometheus?.stop();
    await haproxy?.stop();
    await Promise.all((gateways ?? []).map((g) => g.stop("SIGTERM").catch(() => g.stop("SIGKILL"))));
    await redis?.destroy();
    await hook?.stop();
    await receiver?.stop();
  }, 60_000);

  it("HAProxy spreads clients over every gateway and the chat works through it", async () => {
    await waitUntil("HAProxy to see three gateways UP", async () => Object.values(await haproxy.serverStatus()).filter((s) => s === "UP").length === 3, 10_000);
    for (let i = 1; i <= 6; i++) await connect(`user${i}`);
    expect(new Set(clients.map((c) => c.welcome.node))).toEqual(new Set(gateways.map((g) => g.nodeId)));

    for (const client of clients) await client.join(room);
    for (const [i, client] of clients.entries()) {
      for (let k = 1; k <= 5; k++) expect(await client.post(room, `hello ${k} from user${i + 1}`, `u${i + 1}-${k}`)).toMatchObject({ type: "ack" });
    }
    await waitUntil("every member to receive all 30 messages", () => clients.every((c) => c.messages(room).length >= 30), 10_000);
  });

  it("traffic that fills the other panels: bad frames, a rate-limited burst, a refused upgrade, a resume, closes", async () => {
    const [first] = clients;
    if (first === undefined) throw new Error("no clients");
    first.sendRaw("{not json");
    first.sendRaw(Buffer.from([1, 2, 3]), true);
    await first.next((m) => m.type === "error" && m.code === "bad_json");
    await first.next((m) => m.type === "error" && m.code === "binary_unsupported");

    const flooder = await connect("flooder", gateways[1]!.url);
    for (let i = 0; i < 60; i++) flooder.send({ type: "presence", room });
    await flooder.next((m) => m.type === "error" && m.code === "rate_limited");

    expect((await upgradeRequest(gateways[2]!.port, { headers: { "sec-websocket-protocol": null } })).status).toBe(400);

    const latest = first.messages(room).at(-1)!;
    const returning = await connect("returning");
    returning.send({ type: "join", room, since: { epoch: latest.epoch, offset: 10 } });
    await waitUntil("the resume to replay offsets 11..30", () => returning.messages(room).length >= 20, 5000);

    const leaving = await connect("leaving");
    leaving.close();
    await leaving.waitClosed();

    // A backend publishing through the server API on every node; the webhook receiver hears of
    // every message (client sends, screened by the publish hook, and API publishes).
    for (const [i, gateway] of gateways.entries()) {
      expect((await callApi(gateway.httpUrl, "publish", { room, text: `from the backend via ${gateway.nodeId}` }, API_KEY)).status).toBe(200);
      expect((await callApi(gateway.httpUrl, "room", { room }, API_KEY)).body).toMatchObject({ room, offset: 31 + i });
    }
    expect(hook.calls).toBeGreaterThanOrEqual(30);
    await waitUntil(
      "the webhook receiver to get all 33 messages",
      () => receiver.events("/events").filter((e) => e.type === "message.created" && e.data.room === room && e.verified).length === 33,
      15_000,
    );

    await waitUntil(
      "Prometheus to scrape the traffic from all three gateways",
      async () =>
        (await prometheus.value(`sum(up{job="${GATEWAY_JOB}"})`)) === 3 &&
        (await prometheus.value("sum(parley_messages_stored_total)")) >= 30 &&
        (await prometheus.value('sum(parley_protocol_errors_total{code="rate_limited"})')) > 0 &&
        (await prometheus.value('sum(parley_resumes_total{outcome="recovered"})')) > 0 &&
        (await prometheus.value('sum(parley_upgrades_rejected_total{reason="subprotocol"})')) > 0 &&
        (await prometheus.value("count(parley_fanout_latency_seconds_count > 0)")) === 3 &&
        (await prometheus.value("sum(parley_publish_hook_duration_seconds_count)")) >= 30 &&
        (await prometheus.value('sum(parley_webhook_deliveries_total{outcome="delivered"})')) >= 33 &&
        (await prometheus.value('count(parley_server_api_request_duration_seconds_count{operation="publish"})')) === 3 &&
        (await prometheus.value("sum(haproxy_server_current_sessions)")) > 0,
      20_000,
      250,
    );
  });

  it("every dashboard query and every alert expression returns data", async () => {
    const rules = (await readYaml(path(ALERTS))) as RuleFile;
    const queries = [...dashboardQueries(DASHBOARD(), "1m"), ...alertQueries(rules)];
    expect(queries.filter((q) => q.expr.includes("$"))).toEqual([]);
    // A series that first appeared with the traffic (a close code, a message type) needs two
    // scrapes inside the window before rate() returns it: a few seconds at most, so poll (bounded).
    let empty: string[] = [];
    const deadline = Date.now() + 10_000;
    do {
      empty = [];
      for (const query of queries) if ((await prometheus.query(query.expr)).length === 0) empty.push(`${query.source}: ${query.expr}`);
      if (empty.length > 0) await sleep(500);
    } while (empty.length > 0 && Date.now() < deadline);
    expect(empty).toEqual([]);
    // And they carry the traffic, not only zeros.
    expect(await prometheus.value('sum(rate(parley_messages_stored_total{job="parley-gateway"}[1m]))')).toBeGreaterThan(0);
    const p99 = await prometheus.value("histogram_quantile(0.99, sum by (le) (rate(parley_fanout_latency_seconds_bucket[1m])))");
    expect(Number.isFinite(p99) && p99 > 0 && p99 < 2.5).toBe(true);
    expect(await prometheus.value('sum(rate(parley_publish_hook_calls_total{outcome="allow"}[1m]))')).toBeGreaterThan(0);
    const hookP99 = await prometheus.value("histogram_quantile(0.99, sum by (le) (rate(parley_publish_hook_duration_seconds_bucket[1m])))");
    expect(Number.isFinite(hookP99) && hookP99 > 0 && hookP99 < 1).toBe(true);
    expect(await prometheus.value('sum(rate(parley_webhook_deliveries_total{outcome="delivered"}[1m]))')).toBeGreaterThan(0);
  });

  it("Prometheus evaluates every alert rule without error, and none fires on a healthy cluster", async () => {
    // The gateways share the webhook dispatcher's shards out once they see each other: all held.
    await waitUntil(
      `the ${OUTBOX_SHARDS} webhook shards to be held`,
      async () =>
        (await prometheus.value("sum(parley_webhook_shards)")) === OUTBOX_SHARDS && (await prometheus.value("max(parley_webhook_outbox_shards)")) === OUTBOX_SHARDS,
      15_000,
      250,
    );
    const since = Date.now();
    const rules = await waitUntil(
      "every rule to be evaluated (again, since the shards were seen held)",
      async () => {
        const all = await prometheus.rules();
        return all.length > 0 && all.every((r) => Date.parse(r.lastEvaluation) > since) ? all : undefined;
      },
      10_000,
      250,
    );
    const shipped = ((await readYaml(path(ALERTS))) as RuleFile).groups.flatMap((g) => g.rules);
    const names = shipped.map((r) => r.alert);
    expect(rules.map((r) => r.name).sort()).toEqual([...names].sort());
    expect(rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    // A latency or event-loop alert measures the machine as much as the cluster: on a busy 2-core
    // CI machine a healthy cluster's p99 can pass 50 ms, so such an alert may be pending (its
    // `for:` has not run out). It must never fire, and every other alert must stay inactive.
    const machineBound = new Set(shipped.filter((r) => /histogram_quantile|eventloop_lag/.test(r.expr)).map((r) => r.alert));
    expect(machineBound.has("ParleyFanoutLatencyHigh")).toBe(true);
    const raised = (await prometheus.alerts()).filter((a) => a.state !== "inactive" && !(a.state === "pending" && machineBound.has(a.labels.alertname)));
    expect(raised).toEqual([]);
  });

  it("draining a gateway: its clients get 1001 and reconnect to the others through HAProxy, and the down alert arms", async () => {
    const victim = gateways[0]!;
    const victims = clients.filter((c) => c.closeCode === undefined && c.welcome.node === victim.nodeId);
    expect(victims.length).toBeGreaterThan(0);

    expect(await victim.stop("SIGTERM")).toBe(0);
    for (const client of victims) expect(await client.waitClosed(5000)).toBe(1001);

    // Reconnect at once, as the client SDK would: HAProxy redispatches away from the drained node.
    for (const client of victims) {
      const again = await connect(`${String(client.welcome.user)}-again`);
      expect(again.welcome.node).not.toBe(victim.nodeId);
    }
    await waitUntil("HAProxy to mark the drained gateway DOWN", async () => Object.values(await haproxy.serverStatus()).filter((s) => s === "UP").length === 2, 10_000);
    await waitUntil(
      "ParleyGatewayDown to arm for the drained node",
      async () => (await prometheus.alerts()).some((a) => a.labels.alertname === "ParleyGatewayDown" && a.labels.instance === `127.0.0.1:${victim.adminPort}`),
      15_000,
      250,
    );
  });
});
