import { SUBPROTOCOL, frameKind, joinFrame, sendFrame, dmFrame, stringField } from "../k6/lib/wire.ts";

/** The systems the bench drives. */
export type SystemName = "parley" | "socketio" | "uws-limit";
export const SYSTEMS: readonly SystemName[] = ["parley", "socketio", "uws-limit"];

/** What an incoming frame means to a load client (no allocation per frame: a small code). */
export const Incoming = {
  /** Handshake traffic answered by `reply` (Socket.IO open packet, pings). */
  Reply: 0,
  /** The session is set up: rooms may be joined. */
  Welcome: 1,
  /** A join took effect; `offset` is the room's position then. */
  Subscribed: 2,
  Msg: 3,
  Ack: 4,
  Error: 5,
  Other: 6,
} as const;
export type Incoming = (typeof Incoming)[keyof typeof Incoming];

/**
 * How one system's clients talk: the URL, the subprotocol, the request frames, and how a server
 * frame is classified. Field names inside messages are the same for every system (`room`,
 * `offset`, `cid`, `text` with the sender's stamp), so wire.ts / stamp.ts read them all.
 */
export interface Dialect {
  readonly system: SystemName;
  path(user: string): string;
  readonly protocol: string | undefined;
  /**
   * Whether a room's messages carry one contiguous offset sequence (Parley; the one-node limit).
   * Otherwise (the Socket.IO peer, whose nodes number messages independently) order and loss are
   * checked per sender, from the sequence number in each message's cid.
   */
  readonly roomOffsets: boolean;
  classify(frame: string): Incoming;
  /** The frame to answer a `Reply` frame with. */
  reply(frame: string): string | undefined;
  join(room: string): string;
  send(room: string, text: string, cid: string): string;
  dm(to: string, text: string, cid: string): string;
}

const parleyKinds: Record<ReturnType<typeof frameKind>, Incoming> = {
  welcome: Incoming.Welcome,
  subscribed: Incoming.Subscribed,
  msg: Incoming.Msg,
  ack: Incoming.Ack,
  error: Incoming.Error,
  other: Incoming.Other,
};

/** Parley's own protocol; the raw-uWS limit server speaks the same subset. */
function parleyDialect(system: SystemName): Dialect {
  return {
    system,
    path: (user) => `/ws?name=${encodeURIComponent(user)}`,
    protocol: SUBPROTOCOL,
    roomOffsets: true,
    classify: (frame) => parleyKinds[frameKind(frame)],
    reply: () => undefined,
    join: joinFrame,
    send: sendFrame,
    dm: dmFrame,
  };
}

/**
 * Socket.IO 4 over its WebSocket transport (Engine.IO v4 packets, Socket.IO v5 packets):
 * `0{...}` open -> we send `40` (connect the main namespace) -> `40{...}`; the server pings with
 * `2`, we answer `3`; events are `42["name",data]`; acknowledgements `43<id>[data]`.
 * Joins and sends ask for an ack (ids 1 and 2 are enough: replies are matched by their fields).
 */
const socketIoDialect: Dialect = {
  system: "socketio",
  path: (user) => `/socket.io/?EIO=4&transport=websocket&name=${encodeURIComponent(user)}`,
  protocol: undefined,
  roomOffsets: false,
  classify(frame) {
    const c0 = frame.charCodeAt(0);
    if (c0 === 0x34 /* 4 */) {
      const c1 = frame.charCodeAt(1);
      if (c1 === 0x32 /* 2 */) return frame.startsWith('42["msg"') ? Incoming.Msg : Incoming.Other;
      if (c1 === 0x33 /* 3 */) return frame.includes('"cid":"') ? Incoming.Ack : Incoming.Subscribed;
      if (c1 === 0x30 /* 0 */) return Incoming.Welcome;
      return Incoming.Error; // 41 disconnect, 44 connect_error
    }
    if (c0 === 0x30 /* 0: open */ || frame === "2") return Incoming.Reply;
    return Incoming.Other;
  },
  reply: (frame) => (frame === "2" ? "3" : frame.startsWith("0") ? "40" : undefined),
  join: (room) => `421${JSON.stringify(["join", room])}`,
  send: (room, text, cid) => `422${JSON.stringify(["send", { room, text, cid }])}`,
  dm: () => {
    throw new Error("the Socket.IO peer has no direct messages");
  },
};

export function dialectOf(system: SystemName): Dialect {
  return system === "socketio" ? socketIoDialect : parleyDialect(system);
}

/** The error code of an `error` envelope (or Socket.IO error packet), for the error table. */
export function errorCode(frame: string): string {
  return stringField(frame, "code") ?? (frame.startsWith("4") ? `socketio-${frame.slice(0, 2)}` : "unknown");
}
