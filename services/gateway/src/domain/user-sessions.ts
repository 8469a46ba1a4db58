/**
 * The sessions of each user on this node. Most users have one tab, so a user's entry is the
 * session itself until a second one opens; only then is a Set made (an empty Set costs more than
 * the rest of an idle connection's domain state).
 */
export class UserSessions<S> {
  private readonly byUser = new Map<string, S | Set<S>>();

  add(user: string, session: S): void {
    const entry = this.byUser.get(user);
    if (entry === undefined) this.byUser.set(user, session);
    else if (entry instanceof Set) entry.add(session);
    else if (entry !== session) this.byUser.set(user, new Set([entry, session]));
  }

  /** Removes a session; true when it was the user's last one here. */
  delete(user: string, session: S): boolean {
    const entry = this.byUser.get(user);
    if (entry === undefined) return false;
    if (entry instanceof Set) {
      entry.delete(session);
      if (entry.size > 1) return false;
      const [only] = entry;
      if (only === undefined) this.byUser.delete(user);
      else this.byUser.set(user, only);
      return only === undefined;
    }
    if (entry !== session) return false;
    this.byUser.delete(user);
    return true;
  }

  /** The user's sessions here (none when the user has no tab on this node). */
  *of(user: string): Iterable<S> {
    const entry = this.byUser.get(user);
    if (entry === undefined) return;
    if (entry instanceof Set) yield* [...entry];
    else yield entry;
  }

  /** Every session on this node (the node keeps no other registry of them). */
  *all(): Iterable<S> {
    for (const entry of this.byUser.values()) {
      if (entry instanceof Set) yield* [...entry];
      else yield entry;
    }
  }

  /** How many sessions the user has here. */
  count(user: string): number {
    const entry = this.byUser.get(user);
    return entry === undefined ? 0 : entry instanceof Set ? entry.size : 1;
  }
}
