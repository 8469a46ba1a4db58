import { roomName, userName } from "../k6/lib/wire.ts";
import type { SystemName } from "./dialects.ts";

export interface Target {
  readonly host: string;
  readonly port: number;
}

/**
 * How connections are laid out: `rooms` (rooms of `members`, whose first `senders` members send),
 * `idle` (connected, no room), `dm-pairs` (connection 2k pings 2k+1 by direct message).
 */
export type Layout = { readonly kind: "rooms"; readonly members: number; readonly senders: number } | { readonly kind: "idle" } | { readonly kind: "dm-pairs" };

/** What one client process opens: the global connection indices [first, first + count). */
export interface OpenPlan {
  readonly system: SystemName;
  readonly run: string;
  readonly targets: readonly Target[];
  readonly first: number;
  readonly count: number;
  readonly layout: Layout;
  /** Upgrades per second this process starts (a ramp), and at most this many at once. */
  readonly opensPerSecond: number;
  readonly maxPending: number;
  readonly textBytes: number;
}

export interface Placement {
  readonly user: string;
  readonly target: number;
  readonly room: string | undefined;
  /** Sends in its room (rooms layout) or pings its peer (dm-pairs layout). */
  readonly active: boolean;
  readonly peer: string | undefined;
}

/**
 * Connection i goes to node i mod n, so every room's members (and every DM pair) span all nodes
 * and each message crosses the relay.
 */
export function place(plan: Pick<OpenPlan, "run" | "targets" | "layout">, i: number): Placement {
  const target = i % plan.targets.length;
  const user = userName(plan.run, i);
  switch (plan.layout.kind) {
    case "rooms":
      return { user, target, room: roomName(plan.run, Math.floor(i / plan.layout.members)), active: i % plan.layout.members < plan.layout.senders, peer: undefined };
    case "dm-pairs":
      return { user, target, room: undefined, active: i % 2 === 0, peer: userName(plan.run, i ^ 1) };
    case "idle":
      return { user, target, room: undefined, active: false, peer: undefined };
  }
}

/** Splits `total` connections over `workers` processes in blocks of `unit` (whole rooms or pairs). */
export function split(total: number, workers: number, unit: number): { first: number; count: number }[] {
  const units = Math.ceil(total / unit);
  const out: { first: number; count: number }[] = [];
  let first = 0;
  for (let w = 0; w < workers; w++) {
    const mine = Math.floor(units / workers) + (w < units % workers ? 1 : 0);
    const count = Math.min(mine * unit, total - first);
    if (count > 0) out.push({ first, count });
    first += count;
  }
  return out;
}

// ---- parent <-> client process messages ----

export interface StepRequest {
  /** Sends per second of each active connection. */
  readonly perSenderRate: number;
  readonly durationMs: number;
  /** After the last send: wait until deliveries stop (quiet for 300 ms), at most this long. */
  readonly drainMs: number;
}

export interface DmRequest {
  readonly durationMs: number;
}

export type ToWorker =
  | { readonly op: "open"; readonly plan: OpenPlan }
  | { readonly op: "step"; readonly step: StepRequest }
  | { readonly op: "dm"; readonly dm: DmRequest }
  | { readonly op: "collect" }
  | { readonly op: "close" };

export interface OpenResult {
  readonly connected: number;
  readonly ready: number;
  readonly failed: number;
  /** Connections that failed once and were tried again (their first failure is in `errors`). */
  readonly retried: number;
  readonly errors: Record<string, number>;
  readonly ms: number;
}

export interface WorkerStats {
  readonly sends: number;
  readonly acks: number;
  readonly unacked: number;
  readonly deliveries: number;
  readonly gaps: number;
  readonly duplicates: number;
  /** Sends that left more than 10 ms after their scheduled time (the client process lagged). */
  readonly lateSends: number;
  readonly errors: Record<string, number>;
  readonly fanout: string;
  readonly ack: string;
  /** DM round trips (pinger's stamp back at the pinger). */
  readonly rtt: string;
  readonly open: number;
  /** CPU time this client process used since the last collect, ms. */
  readonly cpuMs: number;
}

export type FromWorker =
  | { readonly op: "opened"; readonly result: OpenResult }
  | { readonly op: "stats"; readonly stats: WorkerStats }
  | { readonly op: "closed" }
  | { readonly op: "failed"; readonly message: string };
