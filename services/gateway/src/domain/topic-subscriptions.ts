import type { Broker, Topic } from "./ports.js";

interface TopicState {
  refs: number;
  subscribed: boolean;
  /** Subscribe/unsubscribe calls for this topic, issued strictly one after another. */
  chain: Promise<void>;
}

/**
 * Reference-counted relay subscriptions. The first `acquire` of a topic subscribes, the last
 * `release` unsubscribes; calls for one topic are serialised, so a quick leave-and-rejoin can
 * never end with the unsubscribe landing after the new subscribe.
 */
export class TopicSubscriptions {
  private readonly topics = new Map<Topic, TopicState>();

  constructor(private readonly broker: Broker) {}

  /** Number of topics currently subscribed at the broker. */
  get size(): number {
    let n = 0;
    for (const state of this.topics.values()) if (state.subscribed) n += 1;
    return n;
  }

  /**
   * Takes a reference; resolves once the topic is subscribed. On rejection the caller still
   * holds the reference and must `release` it.
   */
  acquire(topic: Topic): Promise<void> {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { refs: 0, subscribed: false, chain: Promise.resolve() };
      this.topics.set(topic, state);
    }
    state.refs += 1;
    const s = state;
    const done = s.chain.then(async () => {
      if (s.subscribed) return;
      await this.broker.subscribe(topic);
      s.subscribed = true;
    });
    s.chain = done.catch(() => undefined);
    return done;
  }

  release(topic: Topic): void {
    const state = this.topics.get(topic);
    if (state === undefined || state.refs === 0) return;
    state.refs -= 1;
    if (state.refs > 0) return;
    const s = state;
    s.chain = s.chain
      .then(async () => {
        if (s.refs > 0 || !s.subscribed) return;
        s.subscribed = false;
        await this.broker.unsubscribe(topic);
      })
      .catch(() => undefined)
      .finally(() => {
        if (s.refs === 0 && !s.subscribed && this.topics.get(topic) === s) this.topics.delete(topic);
      });
  }
}
