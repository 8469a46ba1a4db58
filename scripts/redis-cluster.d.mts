/** Types of redis-cluster.mjs, for the TypeScript tests that import it. */
import type { ChildProcess } from "node:child_process";

export type RedisReply = string | number | null | Error | RedisReply[];

export interface ClusterNodeRow {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly master: string | undefined;
  readonly connected: boolean;
  readonly slots: readonly string[];
}

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly replicas?: number;
  readonly ports?: number[];
  readonly nodeTimeoutMs?: number;
  readonly appendOnly?: boolean;
  readonly detached?: boolean;
  readonly redisServer?: string;
  readonly redisCli?: string;
  readonly readyTimeoutMs?: number;
  /** Called with the cluster before any of its processes starts. */
  readonly created?: (cluster: LocalRedisCluster) => void;
}

export function freeLoopbackPort(): Promise<number>;
export function freeClusterPort(taken?: readonly number[]): Promise<number>;
export function redisCommand(port: number, args: readonly (string | number)[], timeoutMs?: number): Promise<RedisReply>;
export function clusterNodes(port: number): Promise<ClusterNodeRow[]>;

export class ClusterNode {
  readonly port: number;
  readonly dir: string;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
  get alive(): boolean;
  get pid(): number | undefined;
  start(): Promise<void>;
  signal(signal: NodeJS.Signals): Promise<void>;
  kill(): Promise<void>;
  command(...args: (string | number)[]): Promise<RedisReply>;
}

export class LocalRedisCluster {
  readonly root: string;
  readonly nodes: ClusterNode[];
  get startupNodes(): string;
  node(port: number): ClusterNode;
  anyLive(): ClusterNode;
  topology(port?: number): Promise<ClusterNodeRow[]>;
  masterPorts(port?: number): Promise<number[]>;
  ownerOf(slot: number, port?: number): Promise<number | undefined>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  unhealthyReason(): Promise<string>;
  migrateSlot(slot: number, toPort: number, options?: { batch?: number; timeoutMs?: number }): Promise<number>;
  stop(): Promise<void>;
}

export function startRedisCluster(options?: RedisClusterOptions): Promise<LocalRedisCluster>;
