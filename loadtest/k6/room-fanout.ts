/*
 * Room fan-out: ROOMS rooms of MEMBERS members each; the first SENDERS members of each room send,
 * together RATE messages a second per room, of TEXT_BYTES characters, stamped with the send time.
 * Every member records the delivery latency and counts offset gaps and duplicates. Same shape as
 * the Node load generator's fan-out (`pnpm bench`).
 *
 *   docker compose --profile loadtest run --rm k6                 # BASE_URL=ws://haproxy:8080
 *   k6 run -e BASE_URL=ws://127.0.0.1:8080 -e ROOMS=10 -e RATE=20 loadtest/k6/room-fanout.ts
 *
 * Offered deliveries/s = ROOMS x RATE x MEMBERS (defaults: 10 x 10 x 100 = 10,000/s). The gateways
 * must allow RATE / SENDERS per connection (PARLEY_RATE_PER_SECOND, default 20).
 */
import type { Options } from "k6/options";
import { setInterval, clearInterval, setTimeout } from "k6/timers";
import { ParleyK6Client, errors } from "./lib/k6-client.ts";
import { baseUrl, envNumber, envString, vuIndex } from "./lib/k6-env.ts";
import { stampedText } from "./lib/stamp.ts";
import { cid, roomName, sendFrame, userName } from "./lib/wire.ts";

const ROOMS = envNumber("ROOMS", 10);
const MEMBERS = envNumber("MEMBERS", 100);
const RATE = envNumber("RATE", 10);
const SENDERS = Math.max(1, Math.min(envNumber("SENDERS", 1), MEMBERS));
const TEXT_BYTES = envNumber("TEXT_BYTES", 200);
/** Sending starts this long after the VU's socket opened, so every member has joined. */
const WARMUP_S = envNumber("WARMUP", 10);
const DURATION_S = envNumber("DURATION", 30);
/** Sockets stay open this long after the last send, for the last deliveries. */
const DRAIN_S = envNumber("DRAIN", 3);

export const options: Options = {
  scenarios: {
    fanout: {
      executor: "per-vu-iterations",
      vus: ROOMS * MEMBERS,
      iterations: 1,
      maxDuration: `${WARMUP_S + DURATION_S + DRAIN_S + 60}s`,
    },
  },
  thresholds: {
    parley_fanout_latency: [`p(95)<${envNumber("P95_MS", 25)}`, `p(99)<${envNumber("P99_MS", 50)}`],
    parley_ack_latency: [`p(99)<${envNumber("ACK_P99_MS", 50)}`],
    parley_gaps: ["count==0"],
    parley_duplicates: ["count==0"],
    parley_errors: ["count==0"],
  },
};

interface Setup {
  readonly run: string;
}

export function setup(): Setup {
  // One tag for the whole test (setup runs once), so every VU names the same rooms.
  return { run: envString("RUN", `k6${Date.now().toString(36)}`) };
}

export default function fanout(data: Setup): void {
  const vu = vuIndex();
  const room = roomName(data.run, Math.floor(vu / MEMBERS));
  const sender = vu % MEMBERS < SENDERS;
  let timer: number | undefined;
  let seq = 0;
  const client = new ParleyK6Client(baseUrl(), userName(data.run, vu), {
    open: (c) => c.join(room),
  });
  setTimeout(() => {
    if (sender && RATE > 0) {
      timer = setInterval(() => {
        const id = cid(`${data.run}v${vu}`, ++seq);
        client.sendTracked(sendFrame(room, stampedText(Date.now(), TEXT_BYTES), id), id);
      }, (1000 * SENDERS) / RATE);
    }
    setTimeout(() => {
      if (timer !== undefined) clearInterval(timer);
      setTimeout(() => {
        if (client.unacked > 0) errors.add(client.unacked, { code: "unacked" });
        client.close();
      }, DRAIN_S * 1000);
    }, DURATION_S * 1000);
  }, WARMUP_S * 1000);
}
