import type { ClientEnvelope, MsgEnvelope } from "@parley/protocol";
import { describe, expect, it } from "vitest";
import { RoomStreams } from "../src/room-streams.js";
import type { LossInfo } from "../src/types.js";

/*
 * The SDK's per-room delivery rules, frame by frame in the order a node can send them. The race
 * they cover is timing-dependent end to end (services/gateway/test/faults, scenarios g and h):
 * until the server has handled a connection's `feed` request, a node also hands DMs from its inbox
 * shards to the socket, outside the DM room's stream and ahead of the room's re-join.
 */

const EPOCH = "e1";
const DM = "dm:ann:bob";

function msg(room: string, offset: number): MsgEnvelope {
  return { type: "msg", room, epoch: EPOCH, offset, from: "bob", text: `m${offset}`, ts: 1 };
}

/** RoomStreams with its hooks recording what the app and the server would see. */
function streams(autoJoinDms = true) {
  const sent: ClientEnvelope[] = [];
  const delivered: string[] = [];
  const losses: LossInfo[] = [];
  const rooms = new RoomStreams(
    {
      transmit: (envelope) => sent.push(envelope) > 0,
      message: (m) => delivered.push(`${m.room}#${m.offset}`),
      loss: (info) => losses.push(info),
      subscribed: () => undefined,
      error: () => undefined,
      connection: () => 1,
    },
    { requestTimeoutMs: 1000, autoJoinDms, backoff: { initialMs: 10, maxMs: 10 } },
  );
  const joins = () => sent.filter((e): e is Extract<ClientEnvelope, { type: "join" }> => e.type === "join");
  const subscribed = (room: string, offset: number) => rooms.subscribed({ type: "subscribed", room, epoch: EPOCH, offset });
  return { rooms, delivered, losses, joins, subscribed };
}

describe("room streams: DMs that arrive outside their room's stream", () => {
  it("leaves a DM that skips ahead of a room being re-joined to the re-join's replay: nothing lost, no loss reported", () => {
    const { rooms, delivered, losses, joins, subscribed } = streams();
    rooms.joinDmFrom(DM, { epoch: EPOCH, offset: 1 });
    for (const offset of [1, 2, 3]) rooms.message(msg(DM, offset));
    subscribed(DM, 3);
    // The node dies; DMs 4 and 5 are stored meanwhile. On the new node the client re-joins from 3.
    rooms.connectionLost();
    rooms.connected();
    expect(joins().at(-1)).toMatchObject({ room: DM, since: { epoch: EPOCH, offset: 3 } });
    // DM 6 reaches the socket through the inbox before the node handled the re-join...
    rooms.message(msg(DM, 6));
    // ...then the re-join's replay, its answer, and the live stream.
    for (const offset of [4, 5, 6]) rooms.message(msg(DM, offset));
    subscribed(DM, 6);
    rooms.message(msg(DM, 7));
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6, 7].map((o) => `${DM}#${o}`));
    expect(losses).toEqual([]);
  });

  it("still reports a gap in a room's live stream", () => {
    const { rooms, delivered, losses, subscribed } = streams();
    void rooms.join("lobby", true).catch(() => undefined);
    subscribed("lobby", 0);
    rooms.message(msg("lobby", 1));
    rooms.message(msg("lobby", 3));
    expect(delivered).toEqual(["lobby#1", "lobby#3"]);
    expect(losses).toEqual([{ room: "lobby", reason: "gap" }]);
  });

  it("leaves a DM of a room it has not joined to the join the feed's note makes, which replays from the first message", () => {
    const { rooms, delivered, losses, joins, subscribed } = streams();
    // DMs 1 and 2 were sent while the client was away; 3 arrives through the inbox first.
    rooms.message(msg(DM, 3));
    expect(delivered).toEqual([]);
    expect(joins()).toEqual([]);
    // The feed's `dm` note names the conversation's first message.
    rooms.joinDmFrom(DM, { epoch: EPOCH, offset: 1 });
    expect(joins().at(-1)).toMatchObject({ room: DM, since: { epoch: EPOCH, offset: 0 } });
    for (const offset of [1, 2, 3]) rooms.message(msg(DM, offset));
    subscribed(DM, 3);
    expect(delivered).toEqual([1, 2, 3].map((o) => `${DM}#${o}`));
    expect(losses).toEqual([]);
  });

  it("without automatic DM joins (a client that follows DMs itself), takes inbox DMs as they come", () => {
    const { rooms, delivered, joins } = streams(false);
    rooms.message(msg(DM, 3));
    rooms.message(msg(DM, 4));
    expect(delivered).toEqual([`${DM}#3`, `${DM}#4`]);
    expect(joins()).toEqual([]);
  });
});
