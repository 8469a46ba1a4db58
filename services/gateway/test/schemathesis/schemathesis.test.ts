import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serverOperations } from "@parley/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HaProxy } from "../../../web/test/support/haproxy.js";
import { TestCluster } from "../support/test-cluster.js";

/*
 * schemathesis (PyPI, pinned in requirements.txt, installed by ci-deps.sh) against the server API
 * of a live cluster: Redis, 3 gateways and HAProxy spreading the requests over them. It reads the
 * OpenAPI document the gateways serve, generates valid and invalid requests for every operation
 * (examples, coverage, fuzzing) and checks every answer: no 5xx, status, content type, headers
 * and body as the document says, invalid bodies refused, valid ones accepted, the API key needed.
 * Bounded to about 75 s of testing (--max-time) plus the cluster's start.
 */
const here = fileURLToPath(new URL(".", import.meta.url));
const version = /^schemathesis==(\S+)$/m.exec(readFileSync(join(here, "requirements.txt"), "utf8"))?.[1] ?? "";
const SCHEMATHESIS = join(here, "../../../../.cache/tools", `schemathesis-${version}`, "bin/schemathesis");
const KEY = "schemathesis-key-0123456789abcdef";
const MAX_TIME_S = 75;

let cluster: TestCluster;
let proxy: HaProxy;

beforeAll(async () => {
  cluster = await TestCluster.start({
    name: "schemathesis",
    // No rate limit: every generated request should reach the operation, not a 429.
    env: { PARLEY_API_KEYS: KEY, PARLEY_API_RATE_PER_SECOND: "0" },
  });
  proxy = await HaProxy.start(cluster.nodes.map((n, i) => ({ name: `node${i + 1}`, port: n.port })));
}, 90_000);
afterAll(async () => {
  await proxy?.destroy();
  await cluster?.stop();
});

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function schemathesis(args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(SCHEMATHESIS, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PYTHONPATH: here,
        SCHEMATHESIS_HOOKS: "uws_header_names",
        PARLEY_SCHEMATHESIS_API_KEY: KEY,
        NO_COLOR: "1",
      },
    });
    let output = "";
    proc.stdout.on("data", (c: Buffer) => (output += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`schemathesis did not finish within ${timeoutMs} ms:\n${output.slice(-4000)}`));
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the server API under schemathesis", () => {
  it("answers every generated request as its OpenAPI document says, with no 5xx, on every node", async () => {
    expect(existsSync(SCHEMATHESIS), `no schemathesis at ${SCHEMATHESIS}: run bash services/gateway/test/schemathesis/ci-deps.sh`).toBe(true);
    const work = mkdtempSync(join(tmpdir(), "parley-schemathesis-"));
    try {
      const run = await schemathesis(
        [
          "--config-file",
          join(here, "schemathesis.toml"),
          "run",
          `${proxy.url}/server/v1/openapi.json`,
          "--checks",
          "all",
          "--max-time",
          String(MAX_TIME_S),
          "--workers",
          "2",
          "--request-timeout",
          "10",
          "--generation-database",
          "none",
          "--no-color",
        ],
        work,
        (MAX_TIME_S + 90) * 1000,
      );
      // The summary (operations, phases, cases, seed) in the test log, pass or fail.
      process.stdout.write(`${run.output.slice(run.output.lastIndexOf("SUMMARY") - 40)}\n`);
      expect(run.code, run.output.slice(-12_000)).toBe(0);
      // Every operation of the document was exercised.
      const operations = Object.keys(serverOperations).length;
      expect(run.output).toMatch(new RegExp(`Selected: ${operations}/${operations}\\s+Tested: ${operations}\\b`));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // HAProxy spread the run: every node answered server API calls.
    const perNode = await Promise.all(cluster.nodes.map((n) => n.metric("parley_server_api_requests_total")));
    expect(perNode.every((count) => count > 0), `server API requests per node: ${perNode.join(", ")}`).toBe(true);
    expect(cluster.errorLines()).toEqual([]);
  }, 300_000);
});
