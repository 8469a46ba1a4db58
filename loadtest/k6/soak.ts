/*
 * Soak: the room fan-out at a modest rate for a long time (default 30 minutes), to catch leaks
 * and slow drifts: watch the gateways' RSS (Grafana, or `pnpm bench --scenario soak`, which
 * samples it) and this run's latency and gap metrics.
 *
 *   k6 run -e BASE_URL=ws://127.0.0.1:8080 -e DURATION=1800 loadtest/k6/soak.ts
 */
import type { Options } from "k6/options";
import { setInterval, clearInterval, setTimeout } from "k6/timers";
import { ParleyK6Client, errors } from "./lib/k6-client.ts";
import { baseUrl, envNumber, envString, vuIndex } from "./lib/k6-env.ts";
import { stampedText } from "./lib/stamp.ts";
import { cid, roomName, sendFrame, userName } from "./lib/wire.ts";

const ROOMS = envNumber("ROOMS", 5);
const MEMBERS = envNumber("MEMBERS", 100);
const RATE = envNumber("RATE", 5);
const TEXT_BYTES = envNumber("TEXT_BYTES", 200);
const WARMUP_S = envNumber("WARMUP", 10);
const DURATION_S = envNumber("DURATION", 1800);

export const options: Options = {
  scenarios: {
    soak: { executor: "per-vu-iterations", vus: ROOMS * MEMBERS, iterations: 1, maxDuration: `${WARMUP_S + DURATION_S + 60}s` },
  },
  thresholds: {
    parley_fanout_latency: [`p(99)<${envNumber("P99_MS", 50)}`],
    parley_gaps: ["count==0"],
    parley_duplicates: ["count==0"],
    parley_errors: ["count==0"],
  },
};

interface Setup {
  readonly run: string;
}

export function setup(): Setup {
  return { run: envString("RUN", `k6${Date.now().toString(36)}`) };
}

export default function soak(data: Setup): void {
  const vu = vuIndex();
  const room = roomName(data.run, Math.floor(vu / MEMBERS));
  let seq = 0;
  const client = new ParleyK6Client(baseUrl(), userName(data.run, vu), { open: (c) => c.join(room) });
  setTimeout(() => {
    const timer =
      vu % MEMBERS === 0 && RATE > 0
        ? setInterval(() => {
            const id = cid(`${data.run}v${vu}`, ++seq);
            client.sendTracked(sendFrame(room, stampedText(Date.now(), TEXT_BYTES), id), id);
          }, 1000 / RATE)
        : undefined;
    setTimeout(() => {
      if (timer !== undefined) clearInterval(timer);
      setTimeout(() => {
        if (client.unacked > 0) errors.add(client.unacked, { code: "unacked" });
        client.close();
      }, 3000);
    }, DURATION_S * 1000);
  }, WARMUP_S * 1000);
}
