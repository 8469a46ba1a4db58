/*
 * DM ping-pong: PAIRS pairs of users; the first of each pair sends a direct message, the second
 * answers each one it receives, ROUNDS times. The round trip crosses the relay twice (two
 * gateways behind HAProxy in the compose setup); its latency is the `parley_dm_rtt` trend.
 *
 *   k6 run -e BASE_URL=ws://127.0.0.1:8080 -e PAIRS=50 -e ROUNDS=200 loadtest/k6/dm-ping-pong.ts
 */
import type { Options } from "k6/options";
import { clearTimeout, setTimeout } from "k6/timers";
import { Trend } from "k6/metrics";
import { ParleyK6Client, errors } from "./lib/k6-client.ts";
import { baseUrl, envNumber, envString, vuIndex } from "./lib/k6-env.ts";
import { readStamp, stampedText } from "./lib/stamp.ts";
import { cid, dmFrame, stringField, userName } from "./lib/wire.ts";

const PAIRS = envNumber("PAIRS", 20);
const ROUNDS = envNumber("ROUNDS", 100);
const TEXT_BYTES = envNumber("TEXT_BYTES", 200);
const TIMEOUT_S = envNumber("TIMEOUT", 120);

const rtt = new Trend("parley_dm_rtt", true);

export const options: Options = {
  scenarios: {
    pingpong: { executor: "per-vu-iterations", vus: PAIRS * 2, iterations: 1, maxDuration: `${TIMEOUT_S + 30}s` },
  },
  thresholds: {
    parley_dm_rtt: [`p(99)<${envNumber("P99_MS", 50)}`],
    parley_errors: ["count==0"],
  },
};

interface Setup {
  readonly run: string;
}

export function setup(): Setup {
  return { run: envString("RUN", `k6${Date.now().toString(36)}`) };
}

export default function pingPong(data: Setup): void {
  const vu = vuIndex();
  const pair = Math.floor(vu / 2);
  const pinger = vu % 2 === 0;
  const me = userName(data.run, vu);
  const peer = userName(data.run, pinger ? vu + 1 : vu - 1);
  let seq = 0;
  let done = false;
  // The VU's iteration lasts until its last timer fires: the deadline goes as soon as the pair is
  // done (finish runs from socket events, after `deadline` below is set).
  const finish = (client: ParleyK6Client): void => {
    done = true;
    clearTimeout(deadline);
    client.close();
  };
  const client = new ParleyK6Client(baseUrl(), me, {
    // Give the peer a moment to connect (its inbox must be live to receive the first ping).
    open: (c) => {
      if (pinger) setTimeout(() => c.send(dmFrame(peer, stampedText(Date.now(), TEXT_BYTES), cid(`p${pair}`, ++seq))), 2000);
    },
    msg: (c, frame) => {
      if (stringField(frame, "from") !== peer || done) return;
      if (pinger) {
        const text = stringField(frame, "text") ?? "";
        const sent = readStamp(text.startsWith("re ") ? text.slice(3) : text);
        if (sent !== undefined) rtt.add(Date.now() - sent);
        if (seq >= ROUNDS) return finish(c);
        c.send(dmFrame(peer, stampedText(Date.now(), TEXT_BYTES), cid(`p${pair}`, ++seq)));
      } else {
        c.send(dmFrame(peer, `re ${stringField(frame, "text") ?? ""}`.slice(0, 4000), cid(`q${pair}`, ++seq)));
        if (seq >= ROUNDS) setTimeout(() => finish(c), 2000);
      }
    },
  });
  const deadline = setTimeout(() => {
    if (!done) {
      errors.add(1, { code: "timeout" });
      finish(client);
    }
  }, TIMEOUT_S * 1000);
}
