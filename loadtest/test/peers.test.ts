import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchReport } from "../dist/src/report.js";

/*
 * Centrifugo and soketi through the same load clients as Parley, driven the way `pnpm
 * bench:compare` drives them: the bench CLI itself, which builds/installs them if needed
 * (loadtest/ci-deps.sh did it already in CI) and runs the whole round inside a network namespace
 * with only a loopback device (soketi's UDP discovery must reach nothing). Numbers are not judged
 * (the machine is shared); what must hold is that each peer's protocol is spoken right: every
 * member gets every message (soketi: every member but the sender, which client events skip),
 * Centrifugo's room offsets run without a gap, each send is acknowledged where the peer acks.
 */
const BENCH = fileURLToPath(new URL("../dist/src/bench.js", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "parley-peers-test-"));
const ROOMS = 4;
const MEMBERS = 10;

afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the Centrifugo and soketi peers through the bench's own clients", () => {
  it("relay every message of a small room fan-out, in order", { timeout: 600_000 }, async () => {
    const { code, output } = await runBench(
      ["--compare", "--quick", "--systems", "centrifugo,soketi", "--scenarios", "fanout", "--rooms", String(ROOMS), "--members", String(MEMBERS), "--senders", "2", "--fixed-rates", "400,800", "--step-seconds", "1", "--out", out],
      580_000,
    );
    expect(code, output).toBe(0);
    expect(output).toContain("in a loopback-only network namespace");
    const report = JSON.parse(readFileSync(join(out, "compare-quick-latest.json"), "utf8")) as BenchReport;
    for (const system of ["centrifugo", "soketi"] as const) {
      const run = report.fanout.find((f) => f.system === system);
      expect(run?.connections, system).toBe(ROOMS * MEMBERS);
      expect(run?.steps.map((s) => s.offered)).toEqual([400, 800]);
      for (const step of run?.steps ?? []) {
        expect(step.errors, system).toEqual({});
        expect(step.gaps, system).toBe(0);
        expect(step.duplicates, system).toBe(0);
        expect(step.unacked, system).toBe(0);
        expect(step.sends, system).toBeGreaterThan(0);
        // soketi does not echo a client event to its sender.
        expect(step.deliveries, system).toBe(step.sends * (system === "soketi" ? MEMBERS - 1 : MEMBERS));
        expect(step.fanout.count, system).toBe(step.deliveries);
        expect(step.ack.count, system).toBe(system === "soketi" ? 0 : step.sends);
        expect(step.serverCpuUsPerDelivery, system).toBeGreaterThan(0);
        expect(step.usage.filter((u) => u.label.startsWith(`${system}-`)).length, system).toBe(3);
      }
    }
  });
});
