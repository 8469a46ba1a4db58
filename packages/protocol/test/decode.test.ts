import { describe, expect, it } from "vitest";
import { ErrorCode, Limits, decodeClient, decodeServer, encodeServer, isClientEnvelope, type MsgEnvelope } from "../src/index.js";
import { utf8Length } from "./arbitraries.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const send = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: "send", room: "general", text: "hi", cid: "c1", ...fields });

/** `json` padded with trailing whitespace (insignificant to JSON) to exactly `size` bytes. */
const padTo = (json: string, size: number): string => json + " ".repeat(size - utf8Length(json));

describe("decodeClient accepts valid envelopes", () => {
  it.each([
    { type: "join", room: "general" },
    { type: "join", room: "general", since: { epoch: "e1", offset: 0 } },
    { type: "join", room: "dm:alice:bob", since: { epoch: "lq3x9", offset: 42 } },
    { type: "leave", room: "general" },
    { type: "send", room: "general", text: "hello 👋 — ça va?", cid: "01HZX-abc_1" },
    { type: "dm", to: "bob", text: "hi bob", cid: "c2" },
    { type: "history", room: "general" },
    { type: "history", room: "general", before: 1, limit: Limits.maxHistoryLimit },
    { type: "presence", room: "general" },
    { type: "typing", room: "general" },
    { type: "join", room: "general", id: "r1" },
    { type: "leave", room: "general", id: "r2" },
    { type: "history", room: "general", limit: 5, id: "r3" },
    { type: "presence", room: "general", id: "r4" },
    { type: "typing", room: "general", id: "r5" },
  ])("$type %#", (env) => {
    expect(decodeClient(JSON.stringify(env))).toEqual({ ok: true, value: env });
    expect(decodeClient(bytes(JSON.stringify(env)))).toEqual({ ok: true, value: env });
  });

  it("accepts insignificant whitespace around and inside the object", () => {
    expect(decodeClient(' \n{ "type" : "leave",\t"room":"general" }\r\n')).toEqual({
      ok: true,
      value: { type: "leave", room: "general" },
    });
  });

  it("keeps multi-byte text intact from bytes, including astral characters", () => {
    const text = "日本語 😀 émoji \u00a0 नमस्ते";
    const result = decodeClient(bytes(send({ text })));
    expect(result.ok && result.value.type === "send" && result.value.text).toBe(text);
  });
});

describe("bad_json", () => {
  it.each(["", " ", "{", '{"type":"join"', "{'type':'join'}", '{"type":"join",}', "undefined", "NaN", "{type:join}", "\u0000"])(
    "malformed JSON %j",
    (frame) => {
      const result = decodeClient(frame);
      expect(result).toMatchObject({ ok: false, code: ErrorCode.badJson, message: "frame is not valid JSON" });
    },
  );

  it.each([
    ["lone continuation byte", [0x80]],
    ["invalid byte 0xff", [0x7b, 0xff, 0x7d]],
    ["truncated 2-byte sequence", [0xc3, 0x28]],
    ["overlong encoding of '/'", [0xc0, 0xaf]],
    ["UTF-8-encoded surrogate U+D800", [0xed, 0xa0, 0x80]],
    ["code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("invalid UTF-8 bytes: %s", (_name, raw) => {
    expect(decodeClient(Uint8Array.from(raw))).toMatchObject({
      ok: false,
      code: ErrorCode.badJson,
      message: "frame is not valid UTF-8",
    });
  });

  it("rejects invalid UTF-8 inside an otherwise valid envelope, rather than replacing it with U+FFFD", () => {
    const good = bytes(send({ text: "ab" }));
    const at = good.indexOf(0x61); // the 'a' of the text
    const bad = Uint8Array.from([...good.slice(0, at), 0xe2, 0x82, ...good.slice(at + 1)]);
    expect(decodeClient(bad)).toMatchObject({ ok: false, code: ErrorCode.badJson });
  });

  it("carries no ref or room, since nothing could be read", () => {
    const result = decodeClient('{"type":"send","room":"general","cid":"c1"');
    expect(result.ok).toBe(false);
    expect(result).not.toHaveProperty("ref");
    expect(result).not.toHaveProperty("room");
  });
});

describe("bad_request", () => {
  it.each(["[]", '[{"type":"join","room":"a"}]', "null", "42", '"join"', "true"])("non-object JSON %s", (frame) => {
    expect(decodeClient(frame)).toMatchObject({
      ok: false,
      code: ErrorCode.badRequest,
      message: "an envelope must be a JSON object",
    });
  });

  it.each(["{}", '{"room":"general"}', '{"type":1,"room":"general"}', '{"type":null}', '{"type":["join"]}'])(
    "missing or non-string type %s",
    (frame) => {
      expect(decodeClient(frame)).toMatchObject({
        ok: false,
        code: ErrorCode.badRequest,
        message: "missing string field 'type'",
      });
    },
  );

  it.each([
    ["missing room", { type: "join" }, "/room"],
    ["missing cid", { type: "send", room: "general", text: "hi" }, "/cid"],
    ["missing text", { type: "dm", to: "bob", cid: "c1" }, "/text"],
    ["room is a number", { type: "join", room: 7 }, "/room"],
    ["text is null", { type: "send", room: "general", text: null, cid: "c1" }, "/text"],
    ["empty text", { type: "send", room: "general", text: "", cid: "c1" }, "/text"],
    ["text one over the limit", { type: "send", room: "general", text: "x".repeat(Limits.maxTextLength + 1), cid: "c1" }, "/text"],
    ["cid with a space", { type: "send", room: "general", text: "hi", cid: "c 1" }, "/cid"],
    ["cid too long", { type: "send", room: "general", text: "hi", cid: "c".repeat(Limits.maxCidLength + 1) }, "/cid"],
    ["dm to an invalid user", { type: "dm", to: "bob smith", text: "hi", cid: "c1" }, "/to"],
    ["extra top-level field", { type: "leave", room: "general", force: true }, "/force"],
    ["extra field inside since", { type: "join", room: "general", since: { epoch: "e", offset: 1, x: 1 } }, "/since/x"],
    ["since without epoch", { type: "join", room: "general", since: { offset: 1 } }, "/since/epoch"],
    ["since with empty epoch", { type: "join", room: "general", since: { epoch: "", offset: 1 } }, "/since/epoch"],
    ["since with negative offset", { type: "join", room: "general", since: { epoch: "e", offset: -1 } }, "/since/offset"],
    ["since with fractional offset", { type: "join", room: "general", since: { epoch: "e", offset: 1.5 } }, "/since/offset"],
    ["history limit 0", { type: "history", room: "general", limit: 0 }, "/limit"],
    ["history limit over the maximum", { type: "history", room: "general", limit: Limits.maxHistoryLimit + 1 }, "/limit"],
    ["history before 0", { type: "history", room: "general", before: 0 }, "/before"],
    ["history before as a string", { type: "history", room: "general", before: "10" }, "/before"],
    ["request id with a space", { type: "join", room: "general", id: "r 1" }, "/id"],
    ["request id too long", { type: "history", room: "general", id: "r".repeat(Limits.maxCidLength + 1) }, "/id"],
    ["request id on a send (which has its cid)", { type: "send", room: "general", text: "hi", cid: "c1", id: "r1" }, "/id"],
    ["offset beyond 2^53", { type: "join", room: "general", since: { epoch: "e", offset: 2 ** 53 } }, "/since/offset"],
  ])("%s", (_name, env, path) => {
    const result = decodeClient(JSON.stringify(env));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest });
    // The sentence starts with the field at fault, as people name it (`since.epoch`).
    const keys = path.slice(1).split("/");
    const named = path === "/force" || path === "/since/x" ? `${keys.at(-1) ?? ""} is not a field of` : keys.join(".");
    if (!result.ok) expect(result.message.startsWith(named), result.message).toBe(true);
  });

  it.each([
    ["a too-long text", { type: "send", room: "general", text: "x".repeat(Limits.maxTextLength + 1), cid: "c1" }, "text is too long: at most 4000 characters (got 4001)"],
    ["an empty text", { type: "send", room: "general", text: "", cid: "c1" }, "text must not be empty"],
    ["a missing cid", { type: "send", room: "general", text: "hi" }, "cid is missing"],
    [
      "a room with a space",
      { type: "join", room: "bad room" },
      `room "bad room" is not a room name: letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64 characters (or dm:<user>:<user>)`,
    ],
    [
      "a user with a space",
      { type: "dm", to: "bob smith", text: "hi", cid: "c1" },
      `to "bob smith" is not a user name: letters, digits, '_', '.' or '-', starting with a letter or digit, at most 32 characters`,
    ],
    ["a bad request id", { type: "presence", room: "general", id: "r 1" }, `id "r 1" is not an id: 1 to 64 letters, digits, '_' or '-'`],
    ["an unknown field", { type: "leave", room: "general", force: true }, "force is not a field of a leave (its fields: type, room, id)"],
    ["an unknown nested field", { type: "join", room: "general", since: { epoch: "e", offset: 1, x: 1 } }, "x is not a field of since (its fields: epoch, offset)"],
    ["a negative offset", { type: "join", room: "general", since: { epoch: "e", offset: -1 } }, "since.offset must be at least 0 (got -1)"],
    ["a fractional offset", { type: "join", room: "general", since: { epoch: "e", offset: 1.5 } }, "since.offset must be a whole number, not 1.5"],
    ["a limit over the maximum", { type: "history", room: "general", limit: 101 }, "limit must be at most 100 (got 101)"],
    ["a number as a string", { type: "history", room: "general", before: "10" }, `before must be a whole number, not "10"`],
    ["a room that is a number", { type: "join", room: 7 }, "room must be a string, not 7"],
    ["an unsorted DM room", { type: "join", room: "dm:bob:alice" }, `room "dm:bob:alice" must name its two users sorted: "dm:alice:bob", as dmRoom() does`],
  ])("says what is wrong in a sentence: %s", (_name, env, sentence) => {
    expect(decodeClient(JSON.stringify(env))).toMatchObject({ ok: false, code: ErrorCode.badRequest, message: sentence });
  });

  it("treats 1e400 (Infinity after parsing) as not an integer", () => {
    expect(decodeClient('{"type":"history","room":"general","limit":1e400}')).toMatchObject({
      ok: false,
      code: ErrorCode.badRequest,
    });
  });

  it("rejects a __proto__ key as an extra field instead of treating it as the prototype", () => {
    const result = decodeClient('{"type":"leave","room":"general","__proto__":{"isAdmin":true}}');
    expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest });
    if (!result.ok) expect(result.message).toContain("__proto__ is not a field of a leave");
  });

  it("takes the last of duplicate keys, as JSON.parse does, and validates that", () => {
    expect(decodeClient('{"type":"leave","room":"bad room","room":"general"}')).toEqual({
      ok: true,
      value: { type: "leave", room: "general" },
    });
    expect(decodeClient('{"type":"leave","room":"general","room":"bad room"}')).toMatchObject({
      ok: false,
      code: ErrorCode.badRequest,
    });
  });
});

describe("DM rooms must be spelled as dmRoom() spells them", () => {
  it.each([
    { type: "join", room: "dm:bob:alice" },
    { type: "leave", room: "dm:bob:alice" },
    { type: "send", room: "dm:bob:alice", text: "hi", cid: "c1" },
    { type: "history", room: "dm:bob:alice" },
    { type: "presence", room: "dm:bob:alice" },
    { type: "typing", room: "dm:bob:alice" },
  ])("$type with an unsorted DM room is a bad_request naming the rule", (env) => {
    const result = decodeClient(JSON.stringify(env));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest, room: "dm:bob:alice" });
    if (!result.ok) expect(result.message).toContain("sorted");
    expect(isClientEnvelope(env)).toBe(false);
    expect(decodeClient(JSON.stringify({ ...env, room: "dm:alice:bob" })).ok).toBe(true);
  });

  it("decodeServer applies the same rule to rooms, but not to an error's echo of a bad request", () => {
    const msg = { type: "msg", room: "dm:bob:alice", epoch: "e", offset: 1, from: "bob", text: "hi", ts: 1 };
    expect(decodeServer(JSON.stringify(msg))).toMatchObject({ ok: false, code: ErrorCode.badRequest });
    const error = { type: "error", code: "bad_request", message: "room …", room: "dm:bob:alice" };
    expect(decodeServer(JSON.stringify(error))).toEqual({ ok: true, value: error });
  });
});

describe("unknown_type", () => {
  it.each(["nope", "JOIN", "", "welcome", "msg", "ack", "__proto__", "constructor", "toString", "hasOwnProperty"])(
    "type %j",
    (type) => {
      const result = decodeClient(JSON.stringify({ type, room: "general" }));
      expect(result).toMatchObject({ ok: false, code: ErrorCode.unknownType, message: `unknown type '${type}'` });
    },
  );

  it("quotes at most 32 characters of the type in the message", () => {
    const result = decodeClient(JSON.stringify({ type: "t".repeat(1000) }));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.unknownType, message: `unknown type '${"t".repeat(32)}'` });
  });

  it("decodeServer rejects client-only types", () => {
    expect(decodeServer(send())).toMatchObject({ ok: false, code: ErrorCode.unknownType });
  });
});

describe("too_large", () => {
  const max = Limits.maxFrameBytes;

  it("accepts a frame of exactly maxFrameBytes and rejects one byte more (string and bytes)", () => {
    const env = { type: "send", room: "general", text: "hi", cid: "c1" };
    const exact = padTo(JSON.stringify(env), max);
    const over = padTo(JSON.stringify(env), max + 1);
    expect(decodeClient(exact)).toEqual({ ok: true, value: env });
    expect(decodeClient(bytes(exact))).toEqual({ ok: true, value: env });
    expect(decodeClient(over)).toEqual({ ok: false, code: ErrorCode.tooLarge, message: `frame exceeds ${max} bytes` });
    expect(decodeClient(bytes(over))).toEqual({ ok: false, code: ErrorCode.tooLarge, message: `frame exceeds ${max} bytes` });
  });

  it("sizes multi-byte frames exactly: 3-byte characters up to the limit pass, one byte more fails", () => {
    const env = { type: "send", room: "general", text: "€".repeat(3000), cid: "c1" };
    const exact = padTo(JSON.stringify(env), max);
    // Long enough that the cheap "at most 3 bytes per code unit" bound cannot decide.
    expect(exact.length * 3).toBeGreaterThan(max);
    expect(exact.length).toBeLessThan(max);
    expect(decodeClient(exact)).toEqual({ ok: true, value: env });
    expect(decodeClient(`${exact} `)).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
  });

  it("counts multi-byte UTF-8 in bytes, not characters", () => {
    // 6000 × "€" is 6000 UTF-16 code units but 18000 UTF-8 bytes.
    const frame = JSON.stringify({ type: "send", room: "general", text: "€".repeat(6000), cid: "c1" });
    expect(frame.length).toBeLessThan(max);
    expect(decodeClient(frame)).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
    expect(decodeClient(bytes(frame))).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
  });

  it("honours a smaller custom maxFrameBytes, in bytes", () => {
    const options = { maxFrameBytes: 100 };
    const fits = JSON.stringify({ type: "send", room: "general", text: "€".repeat(10), cid: "c1" });
    const tooBig = JSON.stringify({ type: "send", room: "general", text: "€".repeat(20), cid: "c1" });
    expect(utf8Length(fits)).toBeLessThanOrEqual(100);
    expect(tooBig.length).toBeLessThanOrEqual(100);
    expect(utf8Length(tooBig)).toBeGreaterThan(100);
    expect(decodeClient(fits, options).ok).toBe(true);
    expect(decodeClient(tooBig, options)).toEqual({ ok: false, code: ErrorCode.tooLarge, message: "frame exceeds 100 bytes" });
    expect(decodeClient(bytes(tooBig), options)).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
    // Without the option the same frame is fine.
    expect(decodeClient(tooBig).ok).toBe(true);
  });

  it("a text within maxTextLength can still make a frame beyond maxFrameBytes once JSON-escaped", () => {
    const frame = send({ text: "\u0001".repeat(Limits.maxTextLength) });
    expect(utf8Length(frame)).toBeGreaterThan(max);
    expect(decodeClient(frame)).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
  });

  it.each([
    ["ASCII", "x"],
    ["CJK (3 UTF-8 bytes each)", "語"],
    ["emoji (4 bytes per 2 code units)", "😀"],
  ])("the longest send of %s text always fits the frame limit", (_what, char) => {
    const frame = JSON.stringify({
      type: "send",
      room: `dm:${"a".repeat(Limits.maxUserLength)}:${"b".repeat(Limits.maxUserLength)}`,
      text: char.repeat(Limits.maxTextLength / char.length),
      cid: "c".repeat(Limits.maxCidLength),
    });
    expect(decodeClient(frame).ok).toBe(true);
    expect(decodeClient(bytes(frame)).ok).toBe(true);
  });

  it("checks the size before parsing: an oversized frame of garbage is too_large, not bad_json", () => {
    expect(decodeClient("x".repeat(max + 1))).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
    expect(decodeClient(new Uint8Array(max + 1).fill(0xff))).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
  });

  it("decodeServer has no size limit unless asked for one", () => {
    const msg: MsgEnvelope = { type: "msg", room: "general", epoch: "e", offset: 1, from: "alice", text: "y".repeat(1_000_000), ts: 1 };
    expect(decodeServer(encodeServer(msg))).toEqual({ ok: true, value: msg });
    expect(decodeServer(encodeServer(msg), { maxFrameBytes: 1000 })).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
  });
});

describe("ref and room echo", () => {
  it("echoes cid as ref and the room of a rejected send", () => {
    expect(decodeClient(send({ text: "" }))).toMatchObject({ ok: false, code: ErrorCode.badRequest, ref: "c1", room: "general" });
  });

  it("echoes them for unknown types too", () => {
    expect(decodeClient(JSON.stringify({ type: "sned", room: "general", cid: "c9" }))).toMatchObject({
      code: ErrorCode.unknownType,
      ref: "c9",
      room: "general",
    });
  });

  it("echoes an invalid but readable cid and room, so the client can match its own request", () => {
    expect(decodeClient(send({ room: "bad room", cid: "bad cid" }))).toMatchObject({ ref: "bad cid", room: "bad room" });
  });

  it("does not echo non-string or overlong values", () => {
    const result = decodeClient(send({ cid: 12, room: "r".repeat(129) }));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest });
    expect(result).not.toHaveProperty("ref");
    expect(result).not.toHaveProperty("room");
    expect(decodeClient(send({ cid: "c".repeat(128) }))).toHaveProperty("ref", "c".repeat(128));
  });

  it("echoes the request id as ref for every request that is not a send or dm", () => {
    expect(decodeClient(JSON.stringify({ type: "join", room: "bad room", id: "j1" }))).toMatchObject({ code: ErrorCode.badRequest, ref: "j1", room: "bad room" });
    expect(decodeClient(JSON.stringify({ type: "history", room: "general", limit: 0, id: "h1" }))).toMatchObject({ ref: "h1", room: "general" });
    expect(decodeClient(JSON.stringify({ type: "presence", room: "general", extra: 1, id: "p1" }))).toMatchObject({ ref: "p1" });
  });

  it("keeps a send's cid as its ref even when the frame also carries an id", () => {
    expect(decodeClient(send({ id: "r1" }))).toMatchObject({ ok: false, code: ErrorCode.badRequest, ref: "c1" });
  });

  it("has no ref for a dm (which has no room) other than its cid", () => {
    const result = decodeClient(JSON.stringify({ type: "dm", to: "bad name", text: "hi", cid: "c3" }));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest, ref: "c3" });
    expect(result).not.toHaveProperty("room");
  });
});

describe("decodeServer", () => {
  it("accepts the msg frames the gateway builds, whose fields are in storage order", () => {
    // message-frame.ts writes type, room, from, text, ts, cid, then appends epoch and offset.
    const frame = '{"type":"msg","room":"general","from":"alice","text":"hi","ts":1732170000000,"cid":"c1","epoch":"9f3a1b2clq3x9","offset":7}';
    expect(decodeServer(frame)).toEqual({
      ok: true,
      value: { type: "msg", room: "general", epoch: "9f3a1b2clq3x9", offset: 7, from: "alice", text: "hi", ts: 1732170000000, cid: "c1" },
    });
  });

  it("accepts a history frame with spliced stored messages", () => {
    const stored = '{"type":"msg","room":"general","from":"bob","text":"yo","ts":1,"cid":"c2","epoch":"e","offset":1}';
    const frame = `{"type":"history","room":"general","epoch":"e","more":false,"messages":[${stored}]}`;
    const result = decodeServer(frame);
    expect(result.ok && result.value.type === "history" && result.value.messages.length).toBe(1);
  });

  it("rejects an error envelope with a code that is not in the table", () => {
    expect(decodeServer('{"type":"error","code":"oops","message":"x"}')).toMatchObject({ ok: false, code: ErrorCode.badRequest });
  });
});
