import { decodeServer, encodeMsgHead, encodeMsgTail } from "@parley/protocol";
import { describe, expect, it } from "vitest";
import { msgFrame, newEpoch, readMsgPosition, readPublication } from "../../src/domain/message-frame.js";

const input = { room: "general", from: "alice", text: 'hi "bob" \\ 👋 \ud800 </script>\n', cid: "01HZX-abc_1", ts: 1732170000000 };

/** What message-frame.ts wrote with JSON.stringify before the protocol's encoders: the stored format. */
function stringified(epoch: string, offset: number): string {
  const { room, from, text, ts, cid } = input;
  return `${JSON.stringify({ type: "msg", room, from, text, ts, cid }).slice(0, -1)},"epoch":"${epoch}","offset":${offset}}`;
}

describe("message frames", () => {
  it("are the stored format: JSON.stringify's text, fields in storage order", () => {
    const epoch = newEpoch();
    expect(msgFrame(input, epoch, 42)).toBe(stringified(epoch, 42));
    expect(encodeMsgHead(input) + encodeMsgTail(epoch, 42)).toBe(msgFrame(input, epoch, 42));
  });

  it("join a prefix and the tail the Redis script writes into a valid msg", () => {
    const epoch = newEpoch();
    // lua/lib/room-log.lua: frame_head .. ',"epoch":"' .. epoch .. '","offset":' .. offset .. '}'
    const fromScript = `${encodeMsgHead(input)},"epoch":"${epoch}","offset":7}`;
    expect(fromScript).toBe(msgFrame(input, epoch, 7));
    expect(decodeServer(fromScript)).toEqual({ ok: true, value: { type: "msg", ...input, epoch, offset: 7 } });
  });
});

describe("reading a relayed frame's position", () => {
  const tricky = [
    "plain",
    '","offset":99}',
    ',"ts":1,"cid":"x","epoch":"e","offset":5}',
    '\\",\\"epoch\\":\\"evil\\",\\"offset\\":7}',
    "👋 </script> \u2028 \ud800",
    "",
  ];

  it("reads room, epoch, offset and ts of every stored frame, whatever its text", () => {
    for (const text of tricky) {
      const epoch = newEpoch();
      const frame = msgFrame({ ...input, text, room: "dm:alice:bob" }, epoch, 123456);
      expect(readMsgPosition(frame)).toEqual({ room: "dm:alice:bob", epoch, offset: 123456, ts: input.ts });
      // The same routing fields as parsing it in full.
      const { room, epoch: e, offset, ts } = JSON.parse(frame) as Record<string, unknown>;
      expect(readPublication(frame)).toEqual({ kind: "stored", position: { room, epoch: e, offset, ts } });
    }
  });

  it("passes other events on as ephemeral, and refuses what is not JSON or a msg in another spelling", () => {
    const typing = JSON.stringify({ type: "typing", room: "general", user: "bob" });
    expect(readMsgPosition(typing)).toBeUndefined();
    expect(readPublication(typing)).toEqual({ kind: "ephemeral" });
    // Another spelling of a msg (keys reordered) is never misread as one of ours, nor passed on unordered.
    const reordered = JSON.stringify({ type: "msg", room: "general", epoch: "e1", offset: 3, from: "a", text: "t", ts: 5, cid: "c" });
    expect(readMsgPosition(reordered)).toBeUndefined();
    expect(readPublication(reordered)).toBeUndefined();
    expect(readMsgPosition(`${encodeMsgHead(input)},"epoch":"e","offset":1.5}`)).toBeUndefined();
    expect(readMsgPosition(msgFrame(input, "e", 1).slice(0, -1))).toBeUndefined();
    expect(readPublication("{not json")).toBeUndefined();
    expect(readPublication("42")).toBeUndefined();
  });
});
