/*
 * The gateway's readiness contract with the process that started it. Log lines are for people
 * and depend on LOG_LEVEL; a parent (`pnpm start`, the tests, the benchmarks) learns that a
 * gateway listens, and on which ports, from this one message instead.
 *
 * A gateway spawned with an IPC channel (`stdio: [..., "ipc"]`) sends exactly one
 * `GatewayListening` once both ports are bound, at every log level. Without an IPC channel (a
 * container, a terminal) nothing is sent: poll `GET /readyz` on the public port instead.
 */

export const GATEWAY_LISTENING = "parley.gateway.listening";

export interface GatewayListening {
  readonly type: typeof GATEWAY_LISTENING;
  /** NODE_ID. */
  readonly nodeId: string;
  readonly pid: number;
  /** The public port actually bound (PORT=0 asks for a free one). */
  readonly port: number;
  /** The admin (metrics) port actually bound. */
  readonly adminPort: number;
  readonly backend: "memory" | "redis" | "redis-cluster";
  /** Whether `/` serves the web app. */
  readonly webApp: boolean;
}

/** Tells the parent, if there is one on an IPC channel, that this gateway listens. */
export function announceListening(message: Omit<GatewayListening, "type" | "pid">, onError: (err: Error) => void): void {
  if (process.send === undefined) return;
  const full: GatewayListening = { type: GATEWAY_LISTENING, pid: process.pid, ...message };
  // With a callback, a parent that went away is reported here instead of as an 'error' event.
  process.send(full, undefined, {}, (err: Error | null) => {
    if (err !== null) onError(err);
  });
  // The channel must not keep the process alive: a gateway's lifetime is its listeners' and drain's.
  process.channel?.unref();
}

/** The message as a `GatewayListening`, or undefined when it is anything else. */
export function asGatewayListening(message: unknown): GatewayListening | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const m = message as Record<string, unknown>;
  const port = (value: unknown): boolean => Number.isInteger(value) && (value as number) > 0 && (value as number) < 65_536;
  if (m["type"] !== GATEWAY_LISTENING || typeof m["nodeId"] !== "string" || !["memory", "redis", "redis-cluster"].includes(m["backend"] as string) || typeof m["webApp"] !== "boolean") return undefined;
  if (!port(m["port"]) || !port(m["adminPort"]) || !Number.isInteger(m["pid"])) return undefined;
  return m as unknown as GatewayListening;
}
