import { SYSTEMS, type SystemName } from "./dialects.ts";

export type Scenario = "fanout" | "connections" | "dm" | "soak" | "codec";
const SCENARIOS: readonly Scenario[] = ["fanout", "connections", "dm", "soak", "codec"];

export interface BenchOptions {
  readonly compare: boolean;
  readonly quick: boolean;
  readonly systems: readonly SystemName[];
  readonly scenarios: readonly Scenario[];
  readonly rounds: number;
  readonly nodes: number;
  readonly rooms: number;
  readonly members: number;
  readonly senders: number;
  readonly textBytes: number;
  readonly stepMs: number;
  readonly drainMs: number;
  /** Offered deliveries/s each round measures once, whatever the outcome (`--fixed-rates`). */
  readonly fixedRates: readonly number[];
  /** Fixed ladder (`--rates`); empty: search for the highest passing rate. */
  readonly rates: readonly number[];
  /** Rounds (the first N) that also search for the sustained rate. */
  readonly searchRounds: number;
  /** Servers on core 0, load clients on core 1 (`taskset`), instead of sharing both. */
  readonly pin: boolean;
  readonly p99LimitMs: number;
  readonly workers: number;
  readonly opensPerSecond: number;
  readonly perNode: number;
  readonly totalConnections: number;
  readonly holdMs: number;
  readonly dmPairs: number;
  readonly dmMs: number;
  readonly soakMs: number;
  readonly soakRate: number;
  readonly outDir: string;
  readonly profile: boolean;
  readonly gatewayEnv: Record<string, string>;
  readonly gatewayMain: string | undefined;
}

export const USAGE = `usage: pnpm bench [-- options]      Parley alone (3 gateways + 1 Redis)
       pnpm bench:compare              Parley, Centrifugo, soketi, Socket.IO and the raw-uWS limit, interleaved
       pnpm bench:smoke                the comparison in --quick mode (a few minutes at most)

  --compare                 run every system, interleaved A B C D E A B C D E ... (default 5 rounds)
  --quick                   smoke sizes: small rooms, short steps, few connections
  --systems a,b             parley, centrifugo, soketi, socketio, uws-limit
  --scenarios a,b           fanout, connections, dm, soak, codec
  --rounds N                rounds of the fan-out ladder per system
  --rooms N --members N     fan-out rooms and their size (100 x 100)
  --senders N               members of each room that send, sharing its rate (10)
  --text-bytes N            message text length (200)
  --fixed-rates a,b,c       offered deliveries/s every round measures once (server CPU per
                            delivery and latency; default 25000,50000,100000)
  --search-rounds N         the first N rounds then search for the sustained rate: above the
                            highest passing fixed rate x1.5 up or /2 down, bisect to within 20%,
                            at most 7 steps, 5 with --compare (default 3; 0: no search)
  --rates a,b,c             instead of the search: a ladder that stops at the first failing step
  --pin                     servers (and Redis) on core 0, load clients on core 1 (taskset)
  --step-seconds S          length of one step (3; 2 with --compare)
  --p99-ms N                a step passes with fan-out p99 at most this (50)
  --per-node N              idle connections per node for the memory figure (15000)
  --connections N           then grow the cluster to N connections and hold (50000)
  --hold-seconds S          how long (10)
  --dm-pairs N --dm-seconds S
  --soak-minutes M --soak-rate N
  --workers N               client processes for the fan-out (2)
  --out DIR                 report folder (test-artifacts/bench)
  --profile                 run the gateways under node --cpu-prof (profiles in DIR/profiles)
  --gateway-env K=V         extra gateway environment (repeatable)
  --gateway-main FILE       run this gateway build instead of services/gateway/dist/main.js`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const compare = argv.includes("--compare");
  const o = {
    compare,
    quick,
    systems: compare ? [...SYSTEMS] : (["parley"] as SystemName[]),
    scenarios: (compare ? ["fanout", "connections", "dm", "codec"] : ["fanout", "connections", "dm"]) as Scenario[],
    rounds: compare && !quick ? 5 : 1,
    nodes: 3,
    rooms: quick ? 5 : 100,
    members: 100,
    senders: 10,
    textBytes: 200,
    // Compare runs 5 systems x 5 rounds: 2 s steps keep it within ~15 minutes (CPU time over a
    // 2 s step at 25k deliveries/s is ~0.5 s of server CPU: 10 ms /proc ticks are 2% of it).
    stepMs: quick ? 1500 : compare ? 2000 : 3000,
    drainMs: quick ? 1500 : 3000,
    fixedRates: quick ? [10_000, 20_000] : [25_000, 50_000, 100_000],
    rates: [] as number[],
    searchRounds: quick ? 0 : 3,
    pin: false,
    p99LimitMs: 50,
    workers: 2,
    opensPerSecond: quick ? 2000 : 4000,
    perNode: quick ? 200 : 15_000,
    totalConnections: quick ? 800 : 50_000,
    holdMs: quick ? 500 : 10_000,
    dmPairs: quick ? 10 : 100,
    dmMs: quick ? 1000 : 5000,
    soakMs: 10 * 60_000,
    soakRate: 100_000,
    outDir: "test-artifacts/bench",
    profile: false,
    gatewayEnv: {} as Record<string, string>,
    gatewayMain: undefined as string | undefined,
  };
  const num = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    const take = (): string => {
      i += 1;
      if (value === undefined) throw new Error(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case "--compare":
      case "--quick":
      case "--":
        break;
      case "--profile":
        o.profile = true;
        break;
      case "--pin":
        o.pin = true;
        break;
      case "--systems":
        o.systems = take().split(",").map((s) => {
          if (!SYSTEMS.includes(s as SystemName)) throw new Error(`unknown system ${s} (${SYSTEMS.join(", ")})`);
          return s as SystemName;
        });
        break;
      case "--scenarios":
        o.scenarios = take().split(",").map((s) => {
          if (!SCENARIOS.includes(s as Scenario)) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(", ")})`);
          return s as Scenario;
        });
        break;
      case "--rounds": o.rounds = num(flag, take()); break;
      case "--rooms": o.rooms = num(flag, take()); break;
      case "--members": o.members = num(flag, take()); break;
      case "--senders": o.senders = Math.max(1, num(flag, take())); break;
      case "--text-bytes": o.textBytes = num(flag, take()); break;
      case "--rates": o.rates = take().split(",").map((r) => num(flag, r)); break;
      case "--fixed-rates": o.fixedRates = take().split(",").filter((r) => r !== "").map((r) => num(flag, r)); break;
      case "--search-rounds": o.searchRounds = num(flag, take()); break;
      case "--step-seconds": o.stepMs = num(flag, take()) * 1000; break;
      case "--p99-ms": o.p99LimitMs = num(flag, take()); break;
      case "--per-node": o.perNode = num(flag, take()); break;
      case "--connections": o.totalConnections = num(flag, take()); break;
      case "--hold-seconds": o.holdMs = num(flag, take()) * 1000; break;
      case "--dm-pairs": o.dmPairs = num(flag, take()); break;
      case "--dm-seconds": o.dmMs = num(flag, take()) * 1000; break;
      case "--soak-minutes": o.soakMs = num(flag, take()) * 60_000; break;
      case "--soak-rate": o.soakRate = num(flag, take()); break;
      case "--workers": o.workers = Math.max(1, num(flag, take())); break;
      case "--opens-per-second": o.opensPerSecond = Math.max(1, num(flag, take())); break;
      case "--out": o.outDir = take(); break;
      case "--gateway-main": o.gatewayMain = take(); break;
      case "--gateway-env": {
        const pair = take();
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error("--gateway-env needs KEY=VALUE");
        o.gatewayEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      case "--help":
      case "-h":
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (o.rooms * o.members > o.workers * 15_000) o.workers = Math.ceil((o.rooms * o.members) / 15_000);
  return o;
}
