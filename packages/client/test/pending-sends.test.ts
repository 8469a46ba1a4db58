import { describe, expect, it } from "vitest";
import { ParleyError } from "../src/errors.js";
import { PendingSends } from "../src/pending-sends.js";

/*
 * Which acks answer our own sends. A re-sent send can be acknowledged twice (the first answer was
 * only late, during a Redis stall for example); the second must not be taken for the ack of a
 * server API publish that skipped this tab, which moves the room's position past the message and
 * so drops our own message when it arrives (fault scenario d found this).
 */

const at = { room: "lobby", epoch: "e1", offset: 7 };

describe("pending sends", () => {
  it("remembers an acknowledged send, so its second ack is known as ours", async () => {
    const pending = new PendingSends();
    const result = pending.add({ type: "send", room: "lobby", text: "hi", cid: "c1" }, 0);
    expect(pending.ack("c1", at)).toBe(true);
    await expect(result).resolves.toEqual({ ...at, cid: "c1" });
    expect(pending.ack("c1", at)).toBe(false);
    expect(pending.settledBefore("c1")).toBe(true);
    expect(pending.settledBefore("someone-elses")).toBe(false);
  });

  it("remembers a send that failed (timed out), whose ack may still come", async () => {
    const pending = new PendingSends();
    const result = pending.add({ type: "dm", to: "bob", text: "hi", cid: "c2" }, 0);
    expect(pending.fail("c2", new ParleyError("timeout", "no acknowledgement from the server"))).toBe(true);
    await expect(result).rejects.toThrow(/no acknowledgement/);
    expect(pending.settledBefore("c2")).toBe(true);
  });

  it("forgets the oldest settled sends past a bound", () => {
    const pending = new PendingSends();
    for (let i = 0; i < 10_001; i++) {
      void pending.add({ type: "send", room: "lobby", text: "x", cid: `c${i}` }, 0);
      pending.ack(`c${i}`, at);
    }
    expect(pending.settledBefore("c0")).toBe(false);
    expect(pending.settledBefore("c1")).toBe(true);
    expect(pending.settledBefore("c10000")).toBe(true);
  });
});
