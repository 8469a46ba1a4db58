/**
 * `pnpm bench:publish-hook`: what the publish hook adds to a client's send-to-ack time. Runs the
 * bench's DM ping-pong (3 gateways + Redis, pairs on different nodes; each DM is a `dm` the
 * sender waits to be acked) with the hook off and on (PARLEY_PUBLISH_HOOK_URL pointing at an
 * allow-everything receiver in this process, kept-alive HTTP on loopback), in interleaved rounds
 * (off on, on off, off on, ...) so that a machine getting busier or quieter weighs on both alike.
 * Flags: --rounds N (3), --pairs N (20), --seconds S (15), --out DIR (test-artifacts/bench/publish-hook).
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { abRounds, abTable, flag, outDirFlag } from "./dm-ab-rounds.ts";

const rounds = flag("rounds", 3);
const pairs = flag("pairs", 20);
const seconds = flag("seconds", 15);
const outDir = outDirFlag("publish-hook");

/** The application's hook: allows every message, as fast as a local service can. */
let hookCalls = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    hookCalls += 1;
    res.writeHead(200, { "content-type": "application/json" }).end('{"action":"allow"}');
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const rows = await abRounds({
  label: "publish hook",
  rounds,
  pairs,
  seconds,
  outDir,
  gatewayEnv: (setting) => (setting === "on" ? [`PARLEY_PUBLISH_HOOK_URL=${hookUrl}`] : []),
  measure: () => {
    const before = hookCalls;
    return Promise.resolve(() => Promise.resolve(hookCalls - before));
  },
});
receiver.close();

const markdown = abTable(`Publish hook A/B: DM ping-pong, ${pairs} pairs, ${seconds} s per run, ${rounds} interleaved rounds`, "hook", "hook calls", rows);
writeFileSync(join(outDir, "publish-hook-latest.md"), `${markdown}\n`);
writeFileSync(join(outDir, "publish-hook-latest.json"), `${JSON.stringify({ pairs, seconds, rounds, rows }, null, 2)}\n`);
console.log(`\n${markdown}`);
// Every "on" run must really have asked the hook, and no "off" run may have.
const wrong = rows.filter((r) => (r.setting === "on") !== r.extra > 0);
if (wrong.length > 0) {
  console.error(`hook calls do not match the setting in ${wrong.map((r) => `round ${r.round} ${r.setting}`).join(", ")}`);
  process.exit(1);
}
