import type { Broker, PublicationHandler, Topic } from "../../domain/ports.js";
import type { MemoryBackend } from "./memory-backend.js";

/** Broker over the in-process backend. Subscribing cannot fail and the link never drops. */
export class MemoryBroker implements Broker {
  private handler: PublicationHandler = () => undefined;
  private readonly listener = (topic: Topic, payload: string): void => this.handler(topic, payload);
  private readonly topics = new Set<Topic>();

  constructor(private readonly backend: MemoryBackend) {}

  onPublication(handler: PublicationHandler): void {
    this.handler = handler;
  }

  onResubscribed(): void {
    // The in-process link never drops, so there is never anything to resubscribe.
  }

  subscribe(topic: Topic): Promise<void> {
    this.topics.add(topic);
    this.backend.subscribe(topic, this.listener);
    return Promise.resolve();
  }

  unsubscribe(topic: Topic): Promise<void> {
    this.topics.delete(topic);
    this.backend.unsubscribe(topic, this.listener);
    return Promise.resolve();
  }

  publish(topic: Topic, payload: string): Promise<void> {
    this.backend.publish(topic, payload);
    return Promise.resolve();
  }

  isReady(): boolean {
    return true;
  }

  close(): Promise<void> {
    for (const topic of this.topics) this.backend.unsubscribe(topic, this.listener);
    this.topics.clear();
    return Promise.resolve();
  }
}
