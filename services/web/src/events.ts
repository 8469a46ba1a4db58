/** A small typed event hub between the chat store and the views. */
export class Events<Map extends { [K in keyof Map]: (...args: never[]) => void }> {
  private readonly handlers = new globalThis.Map<keyof Map, Set<Map[keyof Map]>>();

  on<K extends keyof Map>(event: K, handler: Map[K]): () => void {
    let set = this.handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  emit<K extends keyof Map>(event: K, ...args: Parameters<Map[K]>): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      try {
        (handler as (...a: Parameters<Map[K]>) => void)(...args);
      } catch (err) {
        // One broken view must not stop the others (or the connection logic) from updating.
        console.error("parley: view update failed", err);
      }
    }
  }
}
