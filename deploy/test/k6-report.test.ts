import { describe, expect, it } from "vitest";
import { BEGIN, END, row, updateReport } from "../stack/src/k6-report.js";
import { SCENARIOS, thresholds, type K6Result } from "../stack/src/k6.js";

/*
 * The `pnpm bench:k6` section of BENCHMARKS.md (deploy/stack/src/k6-report.ts): a run of some
 * scenarios replaces their rows and keeps every other row and the rest of the file, and each row
 * says whether the scenario's thresholds held, from k6's own summary export.
 */

const fanout = SCENARIOS.find((s) => s.file === "room-fanout.ts");
const dm = SCENARIOS.find((s) => s.file === "dm-ping-pong.ts");
const hold = SCENARIOS.find((s) => s.file === "connection-hold.ts");
if (fanout === undefined || dm === undefined || hold === undefined) throw new Error("scenarios missing");

/** k6's --summary-export shape: trend stats, counters, and per threshold whether it FAILED. */
function result(file: string, metrics: K6Result["metrics"], code = 0): K6Result {
  return { file, env: {}, code, seconds: 42.4, metrics, output: "" };
}

const passed = result("room-fanout.ts", {
  parley_fanout_latency: { "p(95)": 12.5, "p(99)": 30.25, thresholds: { "p(95)<25": false, "p(99)<50": false } },
  parley_deliveries: { count: 290_000, rate: 9_666.7 },
  parley_errors: { count: 0, thresholds: { "count==0": false } },
  parley_gaps: { count: 0 },
  parley_duplicates: { count: 0 },
});
const failed = result(
  "dm-ping-pong.ts",
  {
    parley_dm_rtt: { "p(95)": 40, "p(99)": 301.5, thresholds: { "p(99)<50": true } },
    parley_fanout_latency: { "p(95)": 1, "p(99)": 2 },
    parley_errors: { count: 2, thresholds: { "count==0": true } },
  },
  99,
);

describe("BENCHMARKS.md's k6 section", () => {
  it("a row names the load, the verdict of every threshold, the latency that matters and the counts", () => {
    expect(row(fanout, passed)).toBe(
      "| `room-fanout.ts` | 10 rooms x 100 members, 10 msg/s per room for 30 s | 42 s | all 3 hold | fan-out 12.5 ms / 30.3 ms | 290,000 (9,667/s) | 0, 0, 0 |",
    );
    // dm-ping-pong also records fan-out latency; its row shows the DM round trip.
    const line = row(dm, failed);
    expect(line).toContain("FAILED (exit 99): parley_dm_rtt p(99)<50; parley_errors count==0");
    expect(line).toContain("DM round trip 40.0 ms / 301.5 ms");
    expect(thresholds(failed).filter((t) => !t.ok)).toHaveLength(2);
    // connection-hold sends nothing but its joins: its row shows how long a join took to be
    // answered (through HAProxy, by a gateway and Redis), not the bare handshake.
    const held = result("connection-hold.ts", {
      parley_join_latency: { "p(95)": 80, "p(99)": 120.5 },
      ws_connecting: { "p(95)": 4, "p(99)": 9 },
      parley_joined: { count: 2000, thresholds: { "count>=2000": false } },
      parley_errors: { count: 0, thresholds: { "count==0": false } },
    });
    expect(row(hold, held)).toBe("| `connection-hold.ts` | 2000 sockets opened over 20 s, held 60 s | 42 s | all 2 hold | join 80.0 ms / 120.5 ms | – | 0, 0, 0 |");
  });

  it("a run replaces its own rows and keeps the others and the rest of the file", () => {
    const first = updateReport("# Benchmarks\n\nother results\n", ["intro one"], new Map([["dm-ping-pong.ts", row(dm, failed)], ["room-fanout.ts", row(fanout, passed)]]));
    expect(first.startsWith("# Benchmarks\n\nother results\n\n## k6 through HAProxy (docker-compose.yml)\n\n")).toBe(true);
    expect(first).toContain(`${BEGIN}\nintro one\n`);

    const again = updateReport(`${first}\n## Later section\n`, ["intro two"], new Map([["dm-ping-pong.ts", row(dm, { ...failed, code: 0, metrics: { parley_dm_rtt: { "p(95)": 5, "p(99)": 9, thresholds: { "p(99)<50": false } } } })]]));
    expect(again).toContain("intro two");
    expect(again).not.toContain("intro one");
    expect(again).toContain("| `dm-ping-pong.ts` | 20 pairs x 100 round trips | 42 s | all 1 hold |");
    expect(again).not.toContain("FAILED");
    expect(again).toContain(row(fanout, passed));
    expect(again).toContain("other results");
    expect(again.indexOf(END)).toBeLessThan(again.indexOf("## Later section"));
    // One section, rows sorted by file.
    expect(again.split(BEGIN)).toHaveLength(2);
    expect(again.indexOf("`dm-ping-pong.ts`")).toBeLessThan(again.indexOf("`room-fanout.ts`"));
  });
});
