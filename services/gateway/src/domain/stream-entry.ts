import type { StreamPosition } from "@parley/protocol";
import type { Metrics } from "../metrics.js";
import type { Relay } from "./relay.js";
import type { RoomFeed } from "./room-feed.js";
import type { Session } from "./session.js";

/** How a session holds a stream while it enters it (a room in its room set, or its `feed`). */
export interface StreamClaim {
  /** Records the session's claim on the feed, before anything awaits. */
  readonly take: (feed: RoomFeed) => void;
  /** Takes the claim back: the feed could not start. */
  readonly undo: () => void;
  /** Whether the session still holds the claim once the replay is read (it may have left meanwhile). */
  readonly held: (feed: RoomFeed) => boolean;
}

/** A stream the session has entered: replayed and subscribed. */
export interface Entered {
  readonly feed: RoomFeed;
  /** The stream's position at the moment the socket subscribed: what the reply tells the client. */
  readonly epoch: string;
  readonly offset: number;
  /** Set for a resume (`since`): whether history still held everything missed. */
  readonly recovered: boolean | undefined;
}

/**
 * The one way a session enters a stream, a room or its user's feed: take a reference on the
 * stream's feed, wait until it runs, read what the session missed after `since`, then send that
 * replay and subscribe the socket in the same tick, so no publication slips between the replay
 * and the live stream.
 */
export class StreamEntry {
  constructor(
    private readonly relay: Relay,
    private readonly metrics: Metrics,
  ) {}

  /** Resolves with undefined when the session closed or gave up the claim while it waited. */
  async enter(session: Session, stream: string, since: StreamPosition | undefined, claim: StreamClaim): Promise<Entered | undefined> {
    const feed = this.relay.retain(stream);
    claim.take(feed);
    try {
      await feed.ready;
    } catch (err) {
      claim.undo();
      this.relay.release(feed);
      throw err;
    }
    let replay: readonly string[] = [];
    let recovered: boolean | undefined;
    if (since !== undefined) {
      const caught = await feed.catchUp(since.epoch, since.offset);
      replay = caught.frames;
      recovered = caught.recovered;
      this.metrics.resumes.inc({ outcome: recovered ? "recovered" : "lost" });
    }
    if (session.closed || !claim.held(feed)) return undefined;
    // From here to the subscribe nothing awaits.
    for (const frame of replay) session.conn.send(frame);
    this.metrics.messagesDelivered.inc(replay.length);
    session.conn.subscribe(feed.topic);
    return { feed, epoch: feed.epoch, offset: feed.head, recovered };
  }
}
