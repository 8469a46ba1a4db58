import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ErrorCode,
  Limits,
  decodeServer,
  encodeAck,
  encodeMsg,
  encodeMsgHead,
  encodeMsgTail,
  type AckEnvelope,
  type MsgEnvelope,
} from "../src/index.js";
import { jsonNumber, jsonString } from "../src/json-text.js";
import { anyString, cid, epoch, offset, room, serverArbitraries, text, textUnit, user } from "./arbitraries.js";

/*
 * The concatenating encoders must write exactly what JSON.stringify writes for the same keys in
 * the same order: stored frames from before and after them look alike, and every reader
 * (JSON.parse, decodeServer, other languages) sees the same values.
 */

/** A `msg` as a plain object in storage order, which is what encodeMsg writes. */
function storageOrder(m: Omit<MsgEnvelope, "type">): Record<string, unknown> {
  return {
    type: "msg",
    room: m.room,
    from: m.from,
    text: m.text,
    ts: m.ts,
    ...(m.cid !== undefined ? { cid: m.cid } : {}),
    epoch: m.epoch,
    offset: m.offset,
  };
}

const ackObject = (a: Omit<AckEnvelope, "type">) => ({ type: "ack", cid: a.cid, room: a.room, epoch: a.epoch, offset: a.offset });

/** Strings JSON must escape, or that an encoder could mishandle, glued to ordinary text. */
const tricky = fc.constantFrom(
  '"',
  "\\",
  '\\"',
  "\\u0000",
  "</script>",
  "<!--",
  "\u0000",
  "\u0001",
  "\u001f",
  "\u007f",
  "\b\f\n\r\t",
  "\u2028\u2029",
  "\ud800",
  "\udfff",
  "\udc00\ud800",
  "😀",
  "\ud83d",
  "\ude00",
  "😀\ud83d",
  "\ud83d😀",
  "é€語",
  "\ufeff",
);
const trickyText = fc
  .array(fc.oneof({ weight: 3, arbitrary: fc.string({ unit: textUnit, maxLength: 8 }) }, { weight: 1, arbitrary: tricky }), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => parts.join(""));

/** Any string at all: every UTF-16 code unit, lone surrogates included. */
const anyUnits = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  trickyText,
);

/** Any number, including those JSON.stringify writes oddly (exponents, -0, null for NaN). */
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.integer({ min: 0x8000_0000, max: Number.MAX_SAFE_INTEGER }),
  // Just below and at multiples of a million: jsonNumber splits there.
  fc
    .tuple(fc.oneof(fc.integer({ min: 2148, max: 9_007_199_254 }), fc.integer({ min: 4_000_000_000, max: 9_007_199_254 })), fc.integer({ min: -2, max: 1 }))
    .map(([m, d]) => m * 1e6 + d),
  fc.constantFrom(0x7fff_ffff, 0x8000_0000, 2 ** 53, 2 ** 53 + 2, 1e21, -0, 0.1, -1e-7, NaN, Infinity, -Infinity),
);

const validMsg = fc.oneof(
  serverArbitraries.msg,
  fc.record(
    { room, from: user, text: fc.oneof(text, trickyText), ts: fc.integer({ min: 0, max: 4_102_444_800_000 }), cid, epoch, offset },
    { requiredKeys: ["room", "from", "text", "ts", "epoch", "offset"], noNullPrototype: true },
  ),
);

const PROPERTY_TIMEOUT = { timeout: 60_000 };

describe("jsonString and jsonNumber are JSON.stringify", PROPERTY_TIMEOUT, () => {
  it("for any string", () => {
    fc.assert(
      fc.property(fc.oneof(anyUnits, anyString(0, 300), fc.string({ unit: "grapheme", maxLength: 60 })), (s) => {
        expect(jsonString(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 5000 },
    );
  });

  it("for long strings: pairs pass, an unpaired half or an escape anywhere is caught", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), tricky, fc.nat(), (n, odd, at) => {
        const base = "😀a".repeat(n);
        const i = n === 0 ? 0 : (at % n) * 3; // a code-point boundary
        const s = base.slice(0, i) + odd + base.slice(i);
        expect(jsonString(s)).toBe(JSON.stringify(s));
        expect(jsonString(base)).toBe(`"${base}"`);
      }),
      { numRuns: 300 },
    );
  });

  it("for any number", () => {
    fc.assert(
      fc.property(anyNumber, (n) => {
        expect(jsonNumber(n)).toBe(JSON.stringify(n));
      }),
      { numRuns: 20_000 },
    );
  });

  it("for millisecond timestamps, which take the split path", () => {
    // Above about 2^52 / 1e6 the division rounds up just below a multiple of a million.
    const edges = [9e15 - 1, 8_589_934_592e6 - 1, 2 ** 53 - 1, 1e15, 1e15 - 1];
    for (const ts of [Date.now(), 1732170000000, 1732169999999, 1732170000001, 4_102_444_800_000, ...edges]) {
      expect(jsonNumber(ts)).toBe(String(ts));
    }
  });
});

describe("encodeMsg", PROPERTY_TIMEOUT, () => {
  it("writes JSON.stringify's text, in storage order, for valid messages (unicode, escapes, lone surrogates)", () => {
    fc.assert(
      fc.property(validMsg, (m) => {
        const frame = encodeMsg(m);
        expect(frame).toBe(JSON.stringify(storageOrder(m)));
        expect(Object.keys(JSON.parse(frame) as object)).toEqual(Object.keys(storageOrder(m)));
        expect(JSON.parse(frame)).toEqual({ ...m, type: "msg" });
        expect(encodeMsgHead(m) + encodeMsgTail(m.epoch, m.offset)).toBe(frame);
        expect(decodeServer(frame)).toEqual({ ok: true, value: { ...m, type: "msg" } });
      }),
      { numRuns: 2000 },
    );
  });

  it("writes JSON.stringify's text for any strings and numbers, names outside the grammar included", () => {
    const anyMsg = fc.record(
      { room: anyUnits, from: anyUnits, text: anyUnits, ts: anyNumber, cid: anyUnits, epoch: anyUnits, offset: anyNumber },
      { requiredKeys: ["room", "from", "text", "ts", "epoch", "offset"], noNullPrototype: true },
    );
    fc.assert(
      fc.property(anyMsg, (m) => {
        const frame = encodeMsg(m);
        expect(frame).toBe(JSON.stringify(storageOrder(m)));
        expect(JSON.parse(frame)).toEqual(JSON.parse(JSON.stringify(storageOrder(m))));
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps the stored frame's field order and omits an absent cid", () => {
    const m = { room: "general", from: "alice", text: 'say "hi" \\ </script>', ts: 1732170000000, epoch: "9f3a1b2clq3x9", offset: 7 };
    expect(encodeMsg({ ...m, cid: "c1" })).toBe(
      '{"type":"msg","room":"general","from":"alice","text":"say \\"hi\\" \\\\ </script>","ts":1732170000000,"cid":"c1","epoch":"9f3a1b2clq3x9","offset":7}',
    );
    expect(encodeMsg(m)).toBe(
      '{"type":"msg","room":"general","from":"alice","text":"say \\"hi\\" \\\\ </script>","ts":1732170000000,"epoch":"9f3a1b2clq3x9","offset":7}',
    );
    expect(encodeMsgHead({ ...m, cid: "c1" })).toBe(
      '{"type":"msg","room":"general","from":"alice","text":"say \\"hi\\" \\\\ </script>","ts":1732170000000,"cid":"c1"',
    );
    expect(encodeMsgTail("e", 0)).toBe(',"epoch":"e","offset":0}');
  });

  it("encodes the longest text of lone surrogates (6 bytes each) like JSON.stringify", () => {
    const t = "\ud800".repeat(Limits.maxTextLength);
    const m = { room: "general", from: "alice", text: t, ts: 1, cid: "c", epoch: "e", offset: 1 };
    expect(encodeMsg(m)).toBe(JSON.stringify(storageOrder(m)));
    expect(decodeServer(encodeMsg(m))).toMatchObject({ ok: true });
  });
});

describe("encodeAck", PROPERTY_TIMEOUT, () => {
  it("writes JSON.stringify's text for valid acks", () => {
    fc.assert(
      fc.property(serverArbitraries.ack, (a) => {
        const frame = encodeAck(a);
        expect(frame).toBe(JSON.stringify(ackObject(a)));
        expect(decodeServer(frame)).toEqual({ ok: true, value: a });
      }),
      { numRuns: 2000 },
    );
  });

  it("writes JSON.stringify's text for any strings and numbers", () => {
    fc.assert(
      fc.property(fc.record({ cid: anyUnits, room: anyUnits, epoch: anyUnits, offset: anyNumber }), (a) => {
        expect(encodeAck(a)).toBe(JSON.stringify(ackObject(a)));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes the fields in the order the gateway always has", () => {
    expect(encodeAck({ cid: "c1", room: "dm:alice:bob", epoch: "9f3a1b2clq3x9", offset: 42 })).toBe(
      '{"type":"ack","cid":"c1","room":"dm:alice:bob","epoch":"9f3a1b2clq3x9","offset":42}',
    );
  });

  it("is not valid for decodeServer when a field is outside the grammar, but still exact JSON", () => {
    const bad = { cid: 'a"b', room: "x\\y", epoch: "e", offset: 1 };
    expect(JSON.parse(encodeAck(bad))).toEqual({ type: "ack", ...bad });
    expect(decodeServer(encodeAck(bad))).toMatchObject({ ok: false, code: ErrorCode.badRequest });
  });
});
