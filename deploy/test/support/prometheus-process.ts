import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep, waitUntil } from "../../../services/gateway/test/support/free-port.js";

export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromRule {
  readonly name: string;
  readonly type: "alerting" | "recording";
  readonly health: string;
  readonly lastError?: string;
  readonly lastEvaluation: string;
  readonly state?: string;
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly state: "pending" | "firing" | "inactive";
}

export interface PrometheusOptions {
  readonly ruleFiles: readonly string[];
  /** job name -> addresses scraped through a file_sd targets file the test can rewrite. */
  readonly jobs: Readonly<Record<string, readonly string[]>>;
  readonly scrapeIntervalSeconds?: number;
}

/**
 * A real `prometheus` server (Debian's package) on a free loopback port, with a generated config
 * (JSON is YAML) that scrapes each job's targets through `file_sd_configs`, and a throwaway TSDB.
 */
export class PrometheusProcess {
  readonly lines: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once("exit", (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    const collect = (chunk: Buffer): void => {
      this.lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
  }

  static async start(options: PrometheusOptions): Promise<PrometheusProcess> {
    const dir = mkdtempSync(join(tmpdir(), "parley-prometheus-"));
    const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
    const scrapeConfigs = Object.entries(options.jobs).map(([job, targets]) => {
      const file = join(dir, `${job}.targets.json`);
      writeFileSync(file, JSON.stringify([{ targets }]));
      return { job_name: job, file_sd_configs: [{ files: [file], refresh_interval: interval }] };
    });
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles,
      scrape_configs: scrapeConfigs,
    };
    const configFile = join(dir, "prometheus.yml");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const port = await freePort();
    const proc = spawn(
      "prometheus",
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const prometheus = new PrometheusProcess(proc, port, dir);
    await new Promise<void>((resolve, reject) => {
      proc.once("spawn", () => resolve());
      proc.once("error", (err) =>
        reject((err as NodeJS.ErrnoException).code === "ENOENT" ? new Error("prometheus is not installed: apt-get install prometheus") : err),
      );
    });
    await waitUntil(
      "prometheus to be ready",
      async () => {
        if (prometheus.exitCode !== undefined) throw new Error(`prometheus exited with ${prometheus.exitCode}:\n${prometheus.lines.join("\n")}`);
        return (await fetch(`${prometheus.url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
      },
      20_000,
      100,
    );
    return prometheus;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** An instant query; rejects on a PromQL error. */
  async query(expr: string): Promise<PromSeries[]> {
    const data = await this.api<{ resultType: string; result: PromSeries[] | [number, string] }>(`query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === "scalar") return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromSeries[];
  }

  /** Sum of an instant query's values (0 when it returns nothing). */
  async value(expr: string): Promise<number> {
    return (await this.query(expr)).reduce((sum, s) => sum + Number(s.value[1]), 0);
  }

  async rules(): Promise<PromRule[]> {
    const data = await this.api<{ groups: { rules: PromRule[] }[] }>("rules");
    return data.groups.flatMap((g) => g.rules);
  }

  async alerts(): Promise<PromAlert[]> {
    return (await this.api<{ alerts: PromAlert[] }>("alerts")).alerts;
  }

  async stop(): Promise<void> {
    if (this.exitCode === undefined) {
      this.proc.kill("SIGTERM");
      await Promise.race([this.exited, sleep(10_000).then(() => this.proc.kill("SIGKILL"))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
