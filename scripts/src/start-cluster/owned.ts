import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import type { GatewayListening } from "@parley/gateway/ready-signal";
import type { LocalRedisCluster } from "../redis-cluster.js";
import type { LocalSentinelGroup } from "../redis-sentinel.js";

/** A child process this script started and must not leave behind. */
export interface OwnedProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  alive: boolean;
}

export interface OwnedRedis extends OwnedProcess {
  /** Its temporary directory, removed on exit. */
  readonly dir: string;
}

export interface GatewayNode extends OwnedProcess {
  /** node-i */
  readonly name: string;
  readonly adminPort: number;
  /** What the gateway said on its IPC channel once it listened. */
  listening: GatewayListening | undefined;
}

/** Everything the script started, so every way out (stop, crash, signal) can clean up. */
export class Owned {
  readonly gateways: GatewayNode[] = [];
  redis: OwnedRedis | undefined;
  cluster: LocalRedisCluster | undefined;
  sentinels: LocalSentinelGroup | undefined;
  /** Set once a stop began: exits from then on are expected. */
  stopping = false;

  killAll(signal: NodeJS.Signals): void {
    for (const child of [...this.gateways, ...(this.redis === undefined ? [] : [this.redis])]) {
      if (child.alive) child.proc.kill(signal);
    }
    for (const node of this.cluster?.nodes ?? []) if (node.alive) node.proc?.kill(signal);
    for (const p of this.sentinels?.processes ?? []) if (p.alive) p.proc?.kill(signal);
  }

  removeFiles(): void {
    if (this.redis !== undefined) rmSync(this.redis.dir, { recursive: true, force: true });
    if (this.cluster !== undefined) rmSync(this.cluster.root, { recursive: true, force: true });
    if (this.sentinels !== undefined) rmSync(this.sentinels.root, { recursive: true, force: true });
  }
}

/** `proc` as an owned process whose `alive` turns false when it exits. */
export function own<T extends object>(proc: ChildProcess, extra: T): T & OwnedProcess {
  const owned: T & OwnedProcess = { ...extra, proc, alive: true, exited: new Promise((resolve) => proc.once("exit", () => resolve())) };
  proc.once("exit", () => {
    owned.alive = false;
  });
  return owned;
}
