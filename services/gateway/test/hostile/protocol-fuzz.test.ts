import { ERROR_CODES, decodeServer } from "@parley/protocol";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient, type Received } from "../support/test-client.js";
import { hostileString } from "./support/hostile-strings.js";
import { HostileNode } from "./support/hostile-node.js";

/*
 * Protocol fuzzer: fast-check builds envelopes — valid ones with hostile field values, wrong
 * shapes, unknown types, prototype-pollution keys, deep nesting, raw non-JSON — and sends each
 * through a real socket, followed by a sentinel request. Property: whatever came back before the
 * sentinel's answer is a valid server envelope, errors carry a known code, and the connection
 * stays up. Afterwards the usual HostileNode checks, every error envelope counted, and canaries
 * that would change if anything had reached Object.prototype inside the gateway.
 */

const TYPES = ["join", "leave", "send", "dm", "history", "presence", "typing"] as const;
const ROOM = "fuzz-room";

const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constant(ROOM) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, Number.MAX_SAFE_INTEGER, -1, 0) },
  { weight: 1, arbitrary: fc.record({ epoch: hostileString, offset: fc.integer({ min: -5, max: 1e6 }) }) },
);

/** Envelope-shaped objects: a known or odd type, and any mix of fields with hostile values. */
const envelope = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom(...TYPES), hostileString),
      room: fieldValue,
      text: fieldValue,
      cid: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), hostileString),
      to: fieldValue,
      since: fieldValue,
      before: fieldValue,
      limit: fieldValue,
      extra: fieldValue,
    },
    { requiredKeys: ["type"] },
  )
  .map((value) => JSON.stringify(value));

/** Raw frames: pollution keys, deep nesting, huge numbers, duplicate keys, not-JSON. */
const raw = fc.oneof(
  fc.constantFrom(
    '{"type":"join","room":"x","__proto__":{"polluted":"yes","type":"join"}}',
    '{"__proto__":{"room":"fuzz-room","type":"presence"}}',
    '{"type":"presence","room":"fuzz-room","constructor":{"prototype":{"polluted":"yes"}}}',
    '{"type":"__proto__"}',
    '{"type":"constructor","room":"x"}',
    '{"type":"hasOwnProperty"}',
    '{"type":"send","type":"join","room":"fuzz-room"}',
    '{"type":"history","room":"fuzz-room","limit":1e308}',
    '{"type":"history","room":"fuzz-room","before":-0}',
    '{"type":"join","room":"fuzz-room","since":{"epoch":"e","offset":9007199254740993}}',
    "[".repeat(5000) + "]".repeat(5000),
    '{"a":'.repeat(2000) + "1" + "}".repeat(2000),
    "\uFEFF{}",
    "NaN",
    "",
  ),
  fc.json({ maxDepth: 6 }),
  fc.string({ unit: "binary", maxLength: 300 }),
);

describe("hostile: protocol fuzzer", () => {
  let node: HostileNode;
  let fuzzer: TestClient;
  let sentinels = 0;

  beforeAll(async () => {
    node = await HostileNode.start("protocol", {
      // One connection sends everything: keep it open however wrong it gets.
      PARLEY_RATE_PER_SECOND: "100000",
      PARLEY_ERRORS_PER_SECOND: "10000",
      PARLEY_MAX_ROOMS: "100000",
    });
  });
  afterAll(async () => {
    fuzzer?.terminate();
    await node?.stop();
  });

  /** Sends one frame, then a sentinel; returns what arrived in between (sentinel excluded). */
  async function roundTrip(frame: string): Promise<Received[]> {
    const from = fuzzer.received.length;
    const sentinel = `sentinel-${++sentinels}`;
    fuzzer.sendRaw(frame);
    fuzzer.send({ type: "history", room: sentinel, limit: 1 });
    const reply = await fuzzer.next((m) => m.type === "history" && m.room === sentinel, 5000);
    return fuzzer.received.slice(from, fuzzer.received.indexOf(reply));
  }

  it("answers every fuzzed frame with valid envelopes and known error codes, and stays up", async () => {
    const before = await node.snapshot();
    fuzzer = await TestClient.connect(node.gw.url, { name: "fuzzer" });
    await fuzzer.join(ROOM);
    const known = new Set<string>(ERROR_CODES);
    const errorsBefore = fuzzer.received.filter((m) => m.type === "error").length;
    await fc.assert(
      fc.asyncProperty(fc.oneof(envelope, raw), async (frame) => {
        const replies = await roundTrip(frame);
        for (const reply of replies) {
          expect(decodeServer(JSON.stringify(reply)).ok, JSON.stringify(reply).slice(0, 300)).toBe(true);
          if (reply.type === "error") expect(known.has(reply.code as string)).toBe(true);
        }
        expect(fuzzer.closeCode).toBeUndefined();
      }),
      { numRuns: 1000, seed: 20261121, endOnFailure: true },
    );
    // Prototype-pollution canaries: answers that would change if Object.prototype had gained
    // `type`, `room` or `polluted` inside the gateway.
    const missingType = (await roundTrip('{"room":"fuzz-room"}')).find((m) => m.type === "error");
    expect(missingType).toMatchObject({ code: "bad_request", message: "missing string field 'type'" });
    const missingRoom = (await roundTrip('{"type":"presence"}')).find((m) => m.type === "error");
    expect(missingRoom).toMatchObject({ code: "bad_request" });
    const rooms = (await (await fetch(`${node.gw.httpUrl}/api/rooms`)).json()) as Record<string, unknown>;
    expect(Object.keys(rooms)).toEqual(["rooms"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const errorEnvelopes = fuzzer.received.filter((m) => m.type === "error").length - errorsBefore;
    fuzzer.terminate();
    const after = await node.checkAfter(before);
    expect(after.value("parley_protocol_errors_total") - before.value("parley_protocol_errors_total")).toBe(errorEnvelopes);
    node.checkLogs();
  });
});
