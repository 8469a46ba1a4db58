import { SUBPROTOCOL as PROTOCOL_SUBPROTOCOL, decodeClient, encodeServer } from "@parley/protocol";
import { describe, expect, it } from "vitest";
import { SequenceTracker } from "../dist/k6/lib/sequence.js";
import { deliveryLatencyMs, frameStamp, readStamp, stampedText } from "../dist/k6/lib/stamp.js";
import { SUBPROTOCOL, cid, dmFrame, dmRoom, frameKind, intField, joinFrame, roomName, sendFrame, stringField, userName } from "../dist/k6/lib/wire.js";

describe("k6/lib shared protocol steps", () => {
  it("speaks the protocol package's subprotocol and builds envelopes it accepts", () => {
    expect(SUBPROTOCOL).toBe(PROTOCOL_SUBPROTOCOL);
    const room = roomName("run1", 7);
    const text = stampedText(1732170000123.456, 200);
    for (const frame of [joinFrame(room), sendFrame(room, text, cid("run1s0", 1)), dmFrame(userName("run1", 2), text, cid("p0", 3))]) {
      const decoded = decodeClient(frame);
      expect(decoded.ok, frame).toBe(true);
    }
    expect(dmRoom("bob", "alice")).toBe("dm:alice:bob");
  });

  it("stamps texts of the asked length and reads the stamp back from a msg frame", () => {
    const text = stampedText(1732170000123.456, 200);
    expect(text).toHaveLength(200);
    expect(readStamp(text)).toBeCloseTo(1732170000123.456, 3);
    const frame = encodeServer({ type: "msg", room: "r", epoch: "e1", offset: 42, from: "alice", text, ts: 1732170000124, cid: "c-1" });
    expect(frameKind(frame)).toBe("msg");
    expect(frameStamp(frame)).toBeCloseTo(1732170000123.456, 3);
    expect(deliveryLatencyMs(frame, 1732170000125.456)).toBeCloseTo(2, 3);
    expect(intField(frame, "offset")).toBe(42);
    expect(stringField(frame, "room")).toBe("r");
    // The Socket.IO peer's framing around the same object.
    expect(frameStamp(`42["msg",${frame}]`)).toBeCloseTo(1732170000123.456, 3);
    // No stamp: the server's ts.
    const plain = encodeServer({ type: "msg", room: "r", epoch: "e1", offset: 1, from: "a", text: "hi", ts: 1000 });
    expect(deliveryLatencyMs(plain, 1005)).toBe(5);
  });

  it("classifies frames whatever their field order", () => {
    expect(frameKind('{"type":"ack","cid":"x","room":"r","epoch":"e","offset":1}')).toBe("ack");
    expect(frameKind('{"room":"r","type":"subscribed","epoch":"e","offset":0}')).toBe("subscribed");
    expect(frameKind("not json")).toBe("other");
  });

  it("counts gaps by missing offsets and duplicates", () => {
    const seq = new SequenceTracker();
    seq.start("r", 10);
    expect(seq.observe("r", 11)).toBe("in-order");
    expect(seq.observe("r", 14)).toBe("gap");
    expect(seq.lastGap).toBe(2);
    expect(seq.observe("r", 14)).toBe("duplicate");
    expect(seq.observe("r", 13)).toBe("duplicate");
    expect(seq.observe("other", 5)).toBe("in-order");
    expect(seq.totals).toEqual({ inOrder: 3, gaps: 2, duplicates: 2 });
  });
});
