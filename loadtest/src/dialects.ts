import { createHmac } from "node:crypto";
import { SUBPROTOCOL, frameKind, joinFrame, sendFrame, dmFrame, intField, stringField } from "../k6/lib/wire.ts";

/** The systems the bench drives. */
export type SystemName = "parley" | "centrifugo" | "soketi" | "socketio" | "uws-limit";
export const SYSTEMS: readonly SystemName[] = ["parley", "centrifugo", "soketi", "socketio", "uws-limit"];

/** What an incoming frame means to a load client (no allocation per frame: a small code). */
export const Incoming = {
  /** Handshake or keep-alive traffic answered by `reply` (Socket.IO open packet, pings). */
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
 * frame is classified. Every system carries the bench's own message fields (`text` with the
 * sender's stamp, `cid`) through unchanged, so wire.ts / stamp.ts read them in every dialect.
 */
export interface Dialect {
  readonly system: SystemName;
  path(user: string): string;
  readonly protocol: string | undefined;
  /**
   * Whether a room's messages carry one contiguous offset sequence (Parley, Centrifugo with
   * history, the one-node limit). Otherwise (Socket.IO and soketi, whose nodes relay without a
   * shared numbering) order and loss are checked per sender, from the sequence number in its cid.
   */
  readonly roomOffsets: boolean;
  /** Whether a sender receives its own message (soketi does not echo client events). */
  readonly echo: boolean;
  /** Whether a send is acknowledged (soketi's client events are not). */
  readonly acks: boolean;
  /** Whether one WebSocket frame may carry several messages, one per line (Centrifugo). */
  readonly batched: boolean;
  /** The first frame the client writes once the WebSocket is open, if the protocol starts so. */
  hello(user: string): string | undefined;
  classify(frame: string): Incoming;
  /** The frame to answer a `Reply` frame with. */
  reply(frame: string): string | undefined;
  /** What the client must remember from its `Welcome` to join (soketi: the socket id it signs). */
  session(frame: string): string;
  join(room: string, session: string): string;
  /** A send; `seq` is the sender's own count (1, 2, ...), which some protocols use as request id. */
  send(room: string, text: string, cid: string, seq: number): string;
  /** The key an acknowledgement of this send will carry (`ackOf` of the reply). */
  ackKey(cid: string, seq: number): string;
  ackOf(frame: string): string | undefined;
  /** The room position in a `Subscribed` frame, if the protocol gives one. */
  joinedAt(frame: string): number | undefined;
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

const cidOf = (frame: string): string | undefined => stringField(frame, "cid");
const noDm = (system: string) => (): string => {
  throw new Error(`the ${system} peer has no direct messages in this bench`);
};

/** Parley's own protocol; the raw-uWS limit server speaks the same subset. */
function parleyDialect(system: SystemName): Dialect {
  return {
    system,
    path: (user) => `/ws?name=${encodeURIComponent(user)}`,
    protocol: SUBPROTOCOL,
    roomOffsets: true,
    echo: true,
    acks: true,
    batched: false,
    hello: () => undefined,
    classify: (frame) => parleyKinds[frameKind(frame)],
    reply: () => undefined,
    session: () => "",
    join: (room) => joinFrame(room),
    send: (room, text, cid) => sendFrame(room, text, cid),
    ackKey: (cid) => cid,
    ackOf: cidOf,
    joinedAt: (frame) => intField(frame, "offset"),
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
  echo: true,
  acks: true,
  batched: false,
  hello: () => undefined,
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
  session: () => "",
  join: (room) => `421${JSON.stringify(["join", room])}`,
  send: (room, text, cid) => `422${JSON.stringify(["send", { room, text, cid }])}`,
  ackKey: (cid) => cid,
  ackOf: cidOf,
  joinedAt: () => undefined,
  dm: noDm("Socket.IO"),
};

/**
 * Centrifugo v6's JSON client protocol (one JSON object per line; a frame may carry several).
 * `{"id":1,"connect":{}}` -> `{"id":1,"connect":{...}}`; subscribe asks for the stream position
 * (history is on, so the reply carries `offset`, omitted when 0); a publish is a request whose
 * reply (`{"id":n,"publish":{}}`) is the acknowledgement, matched by request id; publications
 * arrive as `{"push":{"channel":...,"pub":{"data":{...},"offset":n}}}`; the server's ping is `{}`,
 * answered with `{}`. Request ids: 1 connect, 2 subscribe, 2 + n the n-th publish.
 */
const centrifugoDialect: Dialect = {
  system: "centrifugo",
  path: () => "/connection/websocket",
  protocol: undefined,
  roomOffsets: true,
  echo: true,
  acks: true,
  batched: true,
  hello: (user) => `{"id":1,"connect":{"name":${JSON.stringify(user)}}}`,
  classify(frame) {
    if (frame.startsWith('{"push":')) return frame.includes('"pub":') ? Incoming.Msg : Incoming.Other;
    if (frame === "{}") return Incoming.Reply;
    if (!frame.startsWith('{"id":')) return Incoming.Other;
    if (frame.includes('"error":')) return Incoming.Error;
    if (frame.includes('"publish":')) return Incoming.Ack;
    if (frame.includes('"subscribe":')) return Incoming.Subscribed;
    if (frame.includes('"connect":')) return Incoming.Welcome;
    return Incoming.Other;
  },
  reply: (frame) => (frame === "{}" ? "{}" : undefined),
  session: () => "",
  join: (room) => `{"id":2,"subscribe":{"channel":${JSON.stringify(room)}}}`,
  send: (room, text, cid, seq) => `{"id":${seq + 2},"publish":{"channel":${JSON.stringify(room)},"data":${JSON.stringify({ text, cid })}}}`,
  ackKey: (_cid, seq) => String(seq + 2),
  ackOf: (frame) => {
    const id = intField(frame.slice(0, 24), "id");
    return id === undefined ? undefined : String(id);
  },
  // Zero values are left out of Centrifugo's JSON: a subscribe reply without `offset` is at 0.
  joinedAt: (frame) => intField(frame, "offset") ?? 0,
  dm: noDm("Centrifugo"),
};

/** The one app the bench's soketi nodes serve (loadtest/src/systems.ts starts them with it). */
export const SOKETI_APP = { id: "parley-bench", key: "parley-bench-key", secret: "parley-bench-secret" } as const;

/**
 * The Pusher protocol (7) as soketi 1.6 speaks it. `pusher:connection_established` carries the
 * socket id; rooms are `private-` channels, joined with the HMAC-SHA256 signature of
 * `<socket id>:<channel>` that an app's auth endpoint would return (computed here with the app
 * secret, as that endpoint would); sends are client events (`client-msg`), which soketi relays to
 * the channel's other members only and never acknowledges.
 */
const soketiDialect: Dialect = {
  system: "soketi",
  path: () => `/app/${SOKETI_APP.key}?protocol=7&client=js&version=8.4.0&flash=false`,
  protocol: undefined,
  roomOffsets: false,
  echo: false,
  acks: false,
  batched: false,
  hello: () => undefined,
  classify(frame) {
    if (frame.startsWith('{"event":"client-msg"')) return Incoming.Msg;
    if (frame.startsWith('{"event":"pusher:connection_established"')) return Incoming.Welcome;
    if (frame.startsWith('{"event":"pusher_internal:subscription_succeeded"')) return Incoming.Subscribed;
    if (frame.startsWith('{"event":"pusher:ping"')) return Incoming.Reply;
    if (frame.startsWith('{"event":"pusher:error"')) return Incoming.Error;
    return Incoming.Other;
  },
  reply: () => '{"event":"pusher:pong","data":{}}',
  // data is a JSON string inside the JSON: {"socket_id":"123.456",...} with escaped quotes.
  session: (frame) => /socket_id\\":\\"([^\\"]+)/.exec(frame)?.[1] ?? "",
  join: (room, socketId) => {
    const channel = `private-${room}`;
    const signature = createHmac("sha256", SOKETI_APP.secret).update(`${socketId}:${channel}`).digest("hex");
    return JSON.stringify({ event: "pusher:subscribe", data: { channel, auth: `${SOKETI_APP.key}:${signature}` } });
  },
  send: (room, text, cid) => `{"event":"client-msg","channel":"private-${room}","data":${JSON.stringify({ text, cid })}}`,
  ackKey: (cid) => cid,
  ackOf: () => undefined,
  joinedAt: () => undefined,
  dm: noDm("soketi"),
};

export function dialectOf(system: SystemName): Dialect {
  switch (system) {
    case "socketio":
      return socketIoDialect;
    case "centrifugo":
      return centrifugoDialect;
    case "soketi":
      return soketiDialect;
    default:
      return parleyDialect(system);
  }
}

/** The error code of an error frame (Parley `error`, Socket.IO error packet, Centrifugo, Pusher). */
export function errorCode(frame: string): string {
  const text = stringField(frame, "code");
  if (text !== undefined) return text;
  const number = intField(frame, "code");
  if (number !== undefined) return `code ${number}`;
  return frame.startsWith("4") ? `socketio-${frame.slice(0, 2)}` : "unknown";
}
