import { decodeServer } from "@parley/protocol";
import { describe, expect, it } from "vitest";
import { msgFrame, msgFramePrefix, msgFrameSuffix, newEpoch } from "../../src/domain/message-frame.js";

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
    expect(msgFramePrefix(input) + msgFrameSuffix(epoch, 42)).toBe(msgFrame(input, epoch, 42));
  });

  it("join a prefix and the tail the Redis script writes into a valid msg", () => {
    const epoch = newEpoch();
    // redis-scripts.ts: ARGV[3] .. ',"epoch":"' .. epoch .. '","offset":' .. offset .. '}'
    const fromScript = `${msgFramePrefix(input)},"epoch":"${epoch}","offset":7}`;
    expect(fromScript).toBe(msgFrame(input, epoch, 7));
    expect(decodeServer(fromScript)).toEqual({ ok: true, value: { type: "msg", ...input, epoch, offset: 7 } });
  });
});
