/**
 * Open connections per key (a user, a client address) on this node. Only keys with at least one
 * connection are kept, so memory follows the open sockets.
 */
export class ConnectionCounts {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }

  remove(key: string): void {
    const count = this.get(key);
    if (count <= 1) this.counts.delete(key);
    else this.counts.set(key, count - 1);
  }
}
