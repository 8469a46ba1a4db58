import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { parseCanonicalMessage } from "../src/canonical-frame.js";
import { ErrorCode, Limits, decodeClient, encodeClient, type DecodeResult } from "../src/index.js";
import { cid, room, text, textUnit, user } from "./arbitraries.js";

/*
 * The canonical-frame shortcut must be invisible: for every byte string, decodeClient(bytes)
 * gives what decoding the strict UTF-8 text would give (decodeClient(string) never takes the
 * shortcut, so it is the reference), and the shortcut is really taken for what the SDKs send.
 */

const utf8 = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

function reference(bytes: Uint8Array): DecodeResult<unknown> {
  if (bytes.byteLength > Limits.maxFrameBytes) {
    return { ok: false, code: ErrorCode.tooLarge, message: `frame exceeds ${Limits.maxFrameBytes} bytes` };
  }
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return { ok: false, code: ErrorCode.badJson, message: "frame is not valid UTF-8" };
  }
  return decodeClient(text);
}

const sameAsReference = (bytes: Uint8Array) => {
  expect(decodeClient(bytes)).toEqual(reference(bytes));
};

/** Text written raw between the quotes: any UTF-8, and bytes JSON forbids there or UTF-8 rejects. */
const rawTextBytes = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: textUnit, maxLength: 6 }).map((s) => [...utf8.encode(s)]) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          [0x00],
          [0x1f],
          [0x0a],
          [0x7f],
          [0x5c],
          [0x5c, 0x22],
          [0x22],
          [0xef, 0xbb, 0xbf], // BOM: kept inside the text
          [0xed, 0xa0, 0x80], // a surrogate: not UTF-8
          [0xc0, 0x80], // overlong
          [0xe2, 0x82], // truncated
          [0x80],
          [0xff],
          [0xf4, 0x90, 0x80, 0x80],
        ),
      },
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.flat());

/** A name slot: valid names, names with bytes outside the grammar, or empty. */
const nameBytes = fc
  .oneof(user, room, cid, fc.constantFrom("", "a b", "a:b", "dm:bob:alice", "é", "x".repeat(200), "__proto__"))
  .map((s) => [...utf8.encode(s)]);

/** Frames in the SDKs' exact spelling, with each slot filled with anything. */
const canonicalShaped = fc
  .tuple(fc.constantFrom('{"type":"send","room":"', '{"type":"dm","to":"'), nameBytes, rawTextBytes, nameBytes)
  .map(([head, name, raw, id]) =>
    Uint8Array.from([...utf8.encode(head), ...name, ...utf8.encode('","text":"'), ...raw, ...utf8.encode('","cid":"'), ...id, ...utf8.encode('"}')]),
  );

const sdkFrame = fc.oneof(
  fc.record({ type: fc.constant("send" as const), room, text, cid }).map(encodeClient),
  fc.record({ type: fc.constant("dm" as const), to: user, text, cid }).map(encodeClient),
);

/** Inserts, deletes or replaces bytes at random places. */
const edited = (base: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(base, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.uint8Array({ maxLength: 2 })), { minLength: 1, maxLength: 3 }))
    .map(([bytes, edits]) => {
      let out = [...bytes];
      for (const [at, del, ins] of edits) {
        const i = at % (out.length + 1);
        out = [...out.slice(0, i), ...ins, ...out.slice(i + del)];
      }
      return Uint8Array.from(out);
    });

const PROPERTY_TIMEOUT = { timeout: 60_000 };

describe("the canonical-frame shortcut", PROPERTY_TIMEOUT, () => {
  it("is taken for every message an SDK sends whose text needs no escape, and returns JSON.parse's object", () => {
    fc.assert(
      fc.property(sdkFrame, (json) => {
        const bytes = utf8.encode(json);
        const parsed = JSON.parse(json) as object;
        const quick = parseCanonicalMessage(bytes);
        if (!json.includes("\\")) {
          expect(quick).toEqual(parsed);
          expect(Object.keys(quick ?? {})).toEqual(Object.keys(parsed));
        } else {
          expect(quick).toBeUndefined();
        }
        sameAsReference(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("whatever fills the slots, the result is the reference's", () => {
    fc.assert(
      fc.property(canonicalShaped, (bytes) => {
        const quick = parseCanonicalMessage(bytes);
        if (quick !== undefined) expect(quick).toEqual(JSON.parse(strict.decode(bytes)));
        sameAsReference(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it("SDK and canonically shaped frames with bytes inserted, deleted or replaced", () => {
    fc.assert(fc.property(edited(fc.oneof(canonicalShaped, sdkFrame.map((j) => utf8.encode(j)))), sameAsReference), { numRuns: 5000 });
  });

  it("reads a view into a larger buffer at its own offset", () => {
    const inner = utf8.encode('{"type":"send","room":"general","text":"hé 👋","cid":"c1"}');
    const outer = new Uint8Array(inner.length + 20).fill(0x41);
    outer.set(inner, 7);
    const view = outer.subarray(7, 7 + inner.length);
    expect(parseCanonicalMessage(view)).toEqual({ type: "send", room: "general", text: "hé 👋", cid: "c1" });
    expect(decodeClient(view)).toEqual({ ok: true, value: { type: "send", room: "general", text: "hé 👋", cid: "c1" } });
  });

  it.each([
    ["a BOM that starts the text is kept", '{"type":"send","room":"general","text":"\ufeffhi","cid":"c1"}'],
    ["a BOM before the frame is dropped (general path)", '\ufeff{"type":"send","room":"general","text":"hi","cid":"c1"}'],
    ["an empty text", '{"type":"send","room":"general","text":"","cid":"c1"}'],
    ["an unsorted DM room", '{"type":"send","room":"dm:bob:alice","text":"hi","cid":"c1"}'],
    ["a colon in a plain room", '{"type":"send","room":"a:b","text":"hi","cid":"c1"}'],
    ["a dm to a bad user", '{"type":"dm","to":"a:b","text":"hi","cid":"c1"}'],
    ["a cid with a dot", '{"type":"send","room":"general","text":"hi","cid":"c.1"}'],
    ["an empty cid", '{"type":"send","room":"general","text":"hi","cid":""}'],
    ["trailing whitespace", '{"type":"send","room":"general","text":"hi","cid":"c1"} '],
    ["a duplicate key after the cid", '{"type":"send","room":"general","text":"hi","cid":"c1","cid":"c2"}'],
    ["DEL and U+2028 in the text", '{"type":"send","room":"general","text":"a\u007f\u2028b","cid":"c1"}'],
    ["a text over maxTextLength", `{"type":"send","room":"general","text":"${"x".repeat(4001)}","cid":"c1"}`],
  ])("gives the reference's answer for %s", (_name, json) => {
    sameAsReference(utf8.encode(json));
  });

  it("gives the reference's answer for invalid UTF-8 in the text, with the same code and message", () => {
    const head = utf8.encode('{"type":"send","room":"general","text":"a');
    const tail = utf8.encode('b","cid":"c1"}');
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0x80], [0xff], [0xe2, 0x82]]) {
      const frame = Uint8Array.from([...head, ...bad, ...tail]);
      expect(decodeClient(frame)).toEqual({ ok: false, code: ErrorCode.badJson, message: "frame is not valid UTF-8" });
    }
  });

  it("works without Node's Buffer (browsers, workers): the same answers, and no throw on long strings", async () => {
    vi.resetModules();
    vi.stubGlobal("Buffer", undefined);
    let portable: typeof parseCanonicalMessage;
    let portableDecode: typeof decodeClient;
    try {
      ({ parseCanonicalMessage: portable } = await import("../src/canonical-frame.js"));
      ({ decodeClient: portableDecode } = await import("../src/decode.js"));
      // Strings long enough that their size in bytes must be counted (the report: 6,000
      // characters gave "Buffer is not defined").
      expect(portableDecode("é".repeat(6000))).toMatchObject({ ok: false, code: ErrorCode.badJson });
      expect(portableDecode("😀".repeat(5000))).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
      const send = JSON.stringify({ type: "send", room: "general", text: "é".repeat(Limits.maxTextLength), cid: "c1" });
      expect(portableDecode(send, { maxFrameBytes: send.length * 2 })).toMatchObject({ ok: true });
      expect(portableDecode(send, { maxFrameBytes: send.length })).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
    } finally {
      vi.unstubAllGlobals();
    }
    fc.assert(
      fc.property(fc.oneof(canonicalShaped, sdkFrame.map((j) => utf8.encode(j))), (bytes) => {
        expect(portable(bytes)).toEqual(parseCanonicalMessage(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
