/**
 * What the domain knows of a client connection. The transport implements it over a uWS socket;
 * tests can implement it over anything. The domain never sees uWS.
 */
export interface Connection {
  readonly session: string;
  readonly user: string;
  /** Sends one text frame. Returns false if the socket is closed or the frame was dropped. */
  send(frame: string): boolean;
  /** Closes with a code from `CloseCode`. */
  close(code: number, reason: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
}

/** Fans a frame out to every local connection subscribed to a topic (uWS `app.publish`). */
export interface LocalFanout {
  publish(topic: string, frame: string): void;
  /**
   * Like `publish`, except that the subscriber whose session is `session` (when it is on this
   * node) gets `instead` rather than `frame`.
   */
  publishExcept(topic: string, frame: string, session: string, instead: string): void;
}
