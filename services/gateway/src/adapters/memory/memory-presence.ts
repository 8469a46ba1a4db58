import type { PresenceConfig } from "../../config.js";
import type { NodeInfo, NodeStats, Presence, ReapedHandler } from "../../domain/ports.js";
import type { MemoryBackend } from "./memory-backend.js";

/**
 * Presence over the in-process backend. Nodes heart-beat into the backend and reap each other
 * exactly as with Redis, so the contract suite can exercise node death without Redis.
 */
export class MemoryPresence implements Presence {
  private reaped: ReapedHandler = () => undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: MemoryBackend,
    private readonly nodeId: string,
    private readonly config: PresenceConfig,
  ) {}

  add(room: string, user: string): Promise<boolean> {
    let users = this.backend.presence.get(room);
    if (users === undefined) {
      users = new Map();
      this.backend.presence.set(room, users);
    }
    let nodes = users.get(user);
    if (nodes === undefined) {
      nodes = new Set();
      users.set(user, nodes);
    }
    const first = nodes.size === 0;
    if (nodes.has(this.nodeId)) return Promise.resolve(false);
    nodes.add(this.nodeId);
    let rooms = this.backend.nodeRooms.get(this.nodeId);
    if (rooms === undefined) {
      rooms = new Map();
      this.backend.nodeRooms.set(this.nodeId, rooms);
    }
    rooms.set(room, (rooms.get(room) ?? 0) + 1);
    return Promise.resolve(first);
  }

  remove(room: string, user: string): Promise<boolean> {
    return Promise.resolve(this.removeFrom(room, user, this.nodeId));
  }

  private removeFrom(room: string, user: string, node: string): boolean {
    const users = this.backend.presence.get(room);
    const nodes = users?.get(user);
    if (users === undefined || nodes === undefined || !nodes.delete(node)) return false;
    this.unlist(node, room);
    if (nodes.size > 0) return false;
    users.delete(user);
    if (users.size === 0) this.backend.presence.delete(room);
    return true;
  }

  /** One user fewer held by `node` in `room`; the room leaves the node's list with its last user. */
  private unlist(node: string, room: string): void {
    const rooms = this.backend.nodeRooms.get(node);
    const held = rooms?.get(room);
    if (rooms === undefined || held === undefined) return;
    if (held > 1) rooms.set(room, held - 1);
    else rooms.delete(room);
    if (rooms.size === 0) this.backend.nodeRooms.delete(node);
  }

  members(room: string): Promise<string[]> {
    return Promise.resolve([...(this.backend.presence.get(room)?.keys() ?? [])].sort());
  }

  isPresent(room: string, user: string): Promise<boolean> {
    return Promise.resolve(this.backend.presence.get(room)?.has(user) ?? false);
  }

  rooms(): Promise<string[]> {
    return Promise.resolve([...this.backend.presence.keys()].sort());
  }

  nodes(): Promise<NodeInfo[]> {
    const now = Date.now();
    return Promise.resolve(
      [...this.backend.nodes.entries()]
        .filter(([, info]) => now - info.lastSeen <= this.config.nodeTtlMs)
        .map(([node, info]) => ({ node, connections: info.connections, lastSeen: info.lastSeen }))
        .sort((a, b) => a.node.localeCompare(b.node)),
    );
  }

  onReaped(handler: ReapedHandler): void {
    this.reaped = handler;
  }

  start(stats: () => NodeStats): void {
    const beat = (): void => {
      this.backend.nodes.set(this.nodeId, { lastSeen: Date.now(), connections: stats().connections });
      this.reapDeadNodes();
    };
    beat();
    this.timer = setInterval(beat, this.config.heartbeatMs);
    this.timer.unref();
  }

  private reapDeadNodes(): void {
    const now = Date.now();
    for (const [node, info] of this.backend.nodes) {
      if (now - info.lastSeen <= this.config.nodeTtlMs) continue;
      this.backend.nodes.delete(node);
      for (const room of [...(this.backend.nodeRooms.get(node)?.keys() ?? [])]) {
        const gone = [...(this.backend.presence.get(room)?.keys() ?? [])].filter((user) => this.removeFrom(room, user, node));
        if (gone.length > 0) this.reaped(room, gone);
      }
      this.backend.nodeRooms.delete(node);
    }
  }

  /** Stops heart-beating. Like a crashed node, its entries stay until another node reaps them. */
  close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }
}
