/*
 * Connection ramp and hold: CONNECTIONS sockets opened over RAMP seconds, each joined to one of
 * the rooms of MEMBERS members, held HOLD seconds without traffic (the gateway pings; k6 answers),
 * then closed. Any refused upgrade, error envelope, unexpected close, or socket not joined by the
 * time it closes counts as an error.
 *
 *   k6 run -e BASE_URL=ws://127.0.0.1:8080 -e CONNECTIONS=5000 -e RAMP=30 loadtest/k6/connection-hold.ts
 */
import type { Options } from "k6/options";
import { setTimeout } from "k6/timers";
import { Counter } from "k6/metrics";
import { ParleyK6Client } from "./lib/k6-client.ts";
import { baseUrl, envNumber, envString, vuIndex } from "./lib/k6-env.ts";
import { roomName, userName } from "./lib/wire.ts";

const CONNECTIONS = envNumber("CONNECTIONS", 2000);
const MEMBERS = envNumber("MEMBERS", 100);
const RAMP_S = envNumber("RAMP", 20);
const HOLD_S = envNumber("HOLD", 60);

const joined = new Counter("parley_joined");

export const options: Options = {
  scenarios: {
    hold: {
      executor: "per-vu-iterations",
      vus: CONNECTIONS,
      iterations: 1,
      maxDuration: `${RAMP_S + HOLD_S + 60}s`,
    },
  },
  thresholds: {
    parley_errors: ["count==0"],
    parley_joined: [`count>=${CONNECTIONS}`],
  },
};

interface Setup {
  readonly run: string;
}

export function setup(): Setup {
  return { run: envString("RUN", `k6${Date.now().toString(36)}`) };
}

export default function hold(data: Setup): void {
  const vu = vuIndex();
  // Spread the opens evenly over the ramp; every socket then closes at the same moment.
  const openAt = (vu / CONNECTIONS) * RAMP_S * 1000;
  setTimeout(() => {
    const client = new ParleyK6Client(baseUrl(), userName(data.run, vu), {
      open: (c) => c.join(roomName(data.run, Math.floor(vu / MEMBERS))),
      subscribed: () => joined.add(1),
    });
    setTimeout(() => client.close(), RAMP_S * 1000 - openAt + HOLD_S * 1000);
  }, openAt);
}
