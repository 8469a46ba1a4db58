import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { waitUntil } from "../../../gateway/test/support/free-port.js";
import { startGateways, type GatewayProcess } from "../../../gateway/test/support/gateway-process.js";
import { RedisServer } from "../../../gateway/test/support/redis-server.js";
import { CHROMIUM, WEB_DIST } from "./chat-page.js";
import { HaProxy } from "./haproxy.js";

/**
 * What every browser test runs against: Chromium -> HAProxy (leastconn, health checks on
 * /readyz) -> 3 gateway processes serving the built app -> one redis-server.
 */
export class WebCluster {
  private constructor(
    readonly redis: RedisServer,
    readonly gateways: GatewayProcess[],
    readonly proxy: HaProxy,
    readonly browser: Browser,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<WebCluster> {
    if (!existsSync(join(WEB_DIST, "index.html"))) throw new Error(`${WEB_DIST}index.html is missing: run \`pnpm build\` first`);
    if (!existsSync(CHROMIUM.executablePath) || !onPath("haproxy")) {
      throw new Error("the browser tests need Debian's chromium and haproxy: run services/web/ci-deps.sh (apt-get install chromium haproxy)");
    }
    const redis = await RedisServer.start();
    const gateways = await startGateways(3, { nodeId: "node", env: { REDIS_URL: redis.url, PARLEY_WEB_ROOT: WEB_DIST, ...env } });
    await Promise.all(
      gateways.map((gw) => waitUntil(`${gw.nodeId} ready`, async () => (await fetch(`${gw.httpUrl}/readyz`)).status === 200, 15_000, 100)),
    );
    const proxy = await HaProxy.start(gateways.map((gw) => ({ name: gw.nodeId, port: gw.port })));
    const browser = await chromium.launch(CHROMIUM);
    return new WebCluster(redis, gateways, proxy, browser);
  }

  get url(): string {
    return this.proxy.url;
  }

  gatewayNamed(node: string): GatewayProcess {
    const gw = this.gateways.find((g) => g.nodeId === node);
    if (gw === undefined) throw new Error(`no gateway ${node} (have ${this.gateways.map((g) => g.nodeId).join(", ")})`);
    return gw;
  }

  async stop(): Promise<void> {
    await this.browser.close();
    await this.proxy.destroy();
    await Promise.all(this.gateways.filter((gw) => gw.alive).map((gw) => gw.stop("SIGKILL")));
    await this.redis.destroy();
  }
}

function onPath(command: string): boolean {
  return (process.env["PATH"] ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, command)));
}
