/**
 * Counts, per room, how many local connections each user has, so the cluster-wide Presence is
 * told only about a user's first and last connection on this node.
 */
export class LocalPresence {
  private readonly rooms = new Map<string, Map<string, number>>();

  /** True when this is the user's first local connection in the room. */
  add(room: string, user: string): boolean {
    let users = this.rooms.get(room);
    if (users === undefined) {
      users = new Map();
      this.rooms.set(room, users);
    }
    const count = (users.get(user) ?? 0) + 1;
    users.set(user, count);
    return count === 1;
  }

  /** True when that was the user's last local connection in the room. */
  remove(room: string, user: string): boolean {
    const users = this.rooms.get(room);
    const count = users?.get(user);
    if (users === undefined || count === undefined) return false;
    if (count > 1) {
      users.set(user, count - 1);
      return false;
    }
    users.delete(user);
    if (users.size === 0) this.rooms.delete(room);
    return true;
  }
}
