import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ERROR_CODES,
  ErrorCode,
  Limits,
  clientSchemas,
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  isClientEnvelope,
  isServerEnvelope,
  type ClientType,
  type DecodeResult,
  type ServerType,
} from "../src/index.js";
import { anyString, clientArbitraries, clientEnvelope, fittingClientEnvelope, serverArbitraries, serverEnvelope, utf8Length } from "./arbitraries.js";

const utf8 = new TextEncoder();
const CLIENT_TYPES = Object.keys(clientArbitraries) as ClientType[];
const SERVER_TYPES = Object.keys(serverArbitraries) as ServerType[];

/**
 * The decode contract for any input: it returned (did not throw), and the result is either a
 * value the validator accepts or a coded error a client can switch on.
 */
function expectWellFormed<T>(result: DecodeResult<T>, isValid: (v: unknown) => boolean): void {
  if (result.ok) {
    expect(isValid(result.value)).toBe(true);
    return;
  }
  expect(ERROR_CODES).toContain(result.code);
  expect(typeof result.message).toBe("string");
  expect(result.message.length).toBeGreaterThan(0);
  // Correlation fields are echoed only when short strings.
  if (result.ref !== undefined) expect(result.ref.length).toBeLessThanOrEqual(128);
  if (result.room !== undefined) expect(result.room.length).toBeLessThanOrEqual(128);
}

function checkBoth(frame: string | Uint8Array): void {
  expectWellFormed(decodeClient(frame), isClientEnvelope);
  expectWellFormed(decodeServer(frame), isServerEnvelope);
}

/** Inserts, deletes or replaces characters of a string at random places. */
const mutated = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(
      base,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: "binary", maxLength: 3 })), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([s, edits]) => {
      let out = s;
      for (const [at, del, ins] of edits) {
        const i = out.length === 0 ? 0 : at % (out.length + 1);
        out = out.slice(0, i) + ins + out.slice(i + del);
      }
      return out;
    });

/** Thousands of runs each: generous, so a busy CI machine slows them down without failing them. */
const PROPERTY_TIMEOUT = { timeout: 60_000 };

const validFrame = fc.oneof(clientEnvelope.map(encodeClient), serverEnvelope.map(encodeServer));

/** Valid frames' bytes with one to four bytes overwritten. */
const flippedFrames = fc
  .tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
  .map(([json, flips]) => {
    const bytes = utf8.encode(json);
    for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
    return bytes;
  });

describe("decode never throws (random bytes and strings)", PROPERTY_TIMEOUT, () => {
  it("random byte frames", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), checkBoth), { numRuns: 2000 });
  });

  it("valid frames with random bytes flipped", () => {
    fc.assert(fc.property(flippedFrames, checkBoth), { numRuns: 2000 });
  });

  it("random strings of any code points, including lone surrogates", () => {
    const str = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.string({ unit: "grapheme", maxLength: 300 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
    );
    fc.assert(fc.property(str, checkBoth), { numRuns: 2000 });
  });

  it("valid frames with random edits", () => {
    fc.assert(fc.property(mutated(validFrame), checkBoth), { numRuns: 3000 });
  });
});

const fits = (json: string): boolean => utf8Length(json) <= Limits.maxFrameBytes;

/** A JSON object text built from entries, so `__proto__` and duplicate keys are written as-is. */
function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

const ALL_KEYS = [
  ...new Set(Object.values(clientSchemas).flatMap((s) => Object.keys(s.properties))),
  "messages",
  "users",
  "epoch",
  "offset",
  "from",
  "ts",
  "code",
  "message",
  "ref",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "",
];
const TYPE_NAMES = [...CLIENT_TYPES, ...SERVER_TYPES, "__proto__", "constructor", "toString", "hasOwnProperty", "", "JOIN"];

/** Raw JSON value texts that JSON.parse accepts but that are extreme as numbers or nesting. */
const rawValue = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "1e400",
      "-1e400",
      "1e-400",
      "-0",
      "0.5",
      "9007199254740992",
      "9007199254740993",
      "123456789012345678901234567890",
      "-1",
      "null",
      "true",
      '""',
      '"\\u0000"',
      '"\\ud800"',
      "{}",
      "[]",
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((n) => "[".repeat(n) + "]".repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 500 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)) },
);

const typedObject = fc
  .tuple(
    fc.constantFrom(...TYPE_NAMES),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...ALL_KEYS), fc.string({ maxLength: 8 })), rawValue), { maxLength: 6 }),
  )
  .map(([type, fields]) => objectText([["type", JSON.stringify(type)], ...fields]));

describe("decode never throws (random JSON)", PROPERTY_TIMEOUT, () => {
  it("any JSON value: a valid result is exactly what JSON.parse saw", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify(value);
        // fc.jsonValue can produce -0, which JSON.stringify writes as 0.
        checkBoth(json);
        checkBoth(utf8.encode(json));
        const result = decodeClient(json);
        if (result.ok) expect(result.value).toEqual(JSON.parse(json));
        else if (!fits(json)) expect(result.code).toBe(ErrorCode.tooLarge);
        else if (typeof value !== "object" || value === null || Array.isArray(value)) {
          expect(result.code).toBe(ErrorCode.badRequest);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("objects with a real or tricky type, random fields, __proto__ keys, huge numbers and deep nesting", () => {
    fc.assert(
      fc.property(typedObject, (json) => {
        checkBoth(json);
        const result = decodeClient(json);
        // A duplicated "type" key may have replaced the first one with any value.
        const parsed = JSON.parse(json) as { type: unknown };
        if (result.ok) {
          expect(result.value).toEqual(parsed);
          expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
        } else if (!fits(json)) {
          expect(result.code).toBe(ErrorCode.tooLarge);
        } else if (typeof parsed.type === "string" && !Object.hasOwn(clientSchemas, parsed.type)) {
          expect(result.code).toBe(ErrorCode.unknownType);
        } else {
          expect(result.code).toBe(ErrorCode.badRequest);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a valid envelope with a `__proto__` key is rejected as an extra field, not merged", () => {
    fc.assert(
      fc.property(fittingClientEnvelope, rawValue, (env, raw) => {
        const json = `${encodeClient(env).slice(0, -1)},"__proto__":${raw}}`;
        expect(decodeClient(json)).toMatchObject({ ok: false, code: fits(json) ? ErrorCode.badRequest : ErrorCode.tooLarge });
      }),
    );
  });
});

describe("valid envelopes round-trip", PROPERTY_TIMEOUT, () => {
  it.each(CLIENT_TYPES)("client %s: decodeClient(encode(e)) deep-equals e (text and bytes)", (type) => {
    fc.assert(
      fc.property(clientArbitraries[type], (env) => {
        expect(isClientEnvelope(env)).toBe(true);
        const json = encodeClient(env);
        const fromText = decodeClient(json);
        const fromBytes = decodeClient(utf8.encode(json));
        if (utf8Length(json) <= Limits.maxFrameBytes) {
          expect(fromText).toEqual({ ok: true, value: env });
          expect(fromBytes).toEqual({ ok: true, value: env });
        } else {
          // A text within maxTextLength can still escape to a frame beyond maxFrameBytes.
          expect(fromText).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
          expect(fromBytes).toMatchObject({ ok: false, code: ErrorCode.tooLarge });
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each(SERVER_TYPES)("server %s: decodeServer(encode(e)) deep-equals e (text and bytes)", (type) => {
    fc.assert(
      fc.property(serverArbitraries[type], (env) => {
        expect(isServerEnvelope(env)).toBe(true);
        const json = encodeServer(env);
        expect(decodeServer(json)).toEqual({ ok: true, value: env });
        expect(decodeServer(utf8.encode(json))).toEqual({ ok: true, value: env });
      }),
      { numRuns: 300 },
    );
  });

  it("client envelopes are not server envelopes and vice versa, even where type names are shared", () => {
    // `presence`, `history` and `typing` exist in both directions with different shapes.
    const expectedCode = (type: string, other: readonly string[]) =>
      other.includes(type) ? ErrorCode.badRequest : ErrorCode.unknownType;
    fc.assert(
      fc.property(clientEnvelope, (env) => {
        expect(decodeServer(encodeClient(env))).toMatchObject({ ok: false, code: expectedCode(env.type, SERVER_TYPES) });
      }),
    );
    fc.assert(
      fc.property(serverEnvelope, (env) => {
        expect(decodeClient(encodeServer(env))).toMatchObject({ ok: false, code: expectedCode(env.type, CLIENT_TYPES) });
      }),
    );
  });
});

describe("mutating one field of a valid client envelope", PROPERTY_TIMEOUT, () => {
  /**
   * A rejected request still names its reference (a send's or dm's `cid`, any other request's
   * `id`) and its `room`, so the client can tell which one failed.
   */
  const expectCorrelated = (sent: { type?: unknown; cid?: unknown; id?: unknown; room?: unknown }, result: DecodeResult<unknown>) => {
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = (v: unknown) => (typeof v === "string" && v.length <= 128 ? v : undefined);
    const ref = sent.type === "send" || sent.type === "dm" ? named(sent.cid) : (named(sent.id) ?? named(sent.cid));
    expect(result.ref).toBe(ref);
    expect(result.room).toBe(typeof sent.room === "string" ? sent.room : undefined);
  };

  it("an extra field gives bad_request naming the field, echoing cid and room", () => {
    fc.assert(
      fc.property(fittingClientEnvelope, fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), (env, key, value) => {
        fc.pre(!Object.hasOwn(clientSchemas[env.type].properties, key));
        const copy: Record<string, unknown> = { ...env };
        const json = objectText([...Object.entries(copy).map(([k, v]) => [k, JSON.stringify(v)] as const), [key, JSON.stringify(value)]]);
        const result = decodeClient(json);
        expectCorrelated(copy, result);
        if (!result.ok) {
          expect(result.code).toBe(ErrorCode.badRequest);
          expect(result.message).toContain("is not a field of a");
        }
      }),
    );
  });

  it("a missing required field gives bad_request", () => {
    fc.assert(
      fc.property(fittingClientEnvelope, fc.nat(), (env, pick) => {
        const required = (clientSchemas[env.type].required ?? []).filter((k) => k !== "type");
        // `feed` and `conversations` need nothing but their type.
        if (required.length === 0) return;
        const key = required[pick % required.length] as string;
        const copy: Record<string, unknown> = { ...env };
        delete copy[key];
        const result = decodeClient(JSON.stringify(copy));
        expectCorrelated(copy, result);
        if (!result.ok) {
          expect(result.code).toBe(ErrorCode.badRequest);
          expect(result.message).toContain(`${key} is missing`);
        }
      }),
    );
  });

  it("a field of the wrong type or shape gives bad_request naming the field", () => {
    const wrong = fc.constantFrom<unknown>(null, true, [], {}, 1.5, -1, "", "x".repeat(200), "bad name", "a:b");
    fc.assert(
      fc.property(fittingClientEnvelope, fc.nat(), wrong, (env, pick, value) => {
        const keys = Object.keys(env).filter((k) => k !== "type");
        const key = keys[pick % keys.length] as string;
        const copy: Record<string, unknown> = { ...env, [key]: value };
        const result = decodeClient(JSON.stringify(copy));
        // Of these replacements only a non-empty string is still a valid message text.
        if (key === "text" && typeof value === "string" && value !== "") {
          expect(result).toEqual({ ok: true, value: copy });
        } else {
          expect(result).toMatchObject({ ok: false, code: ErrorCode.badRequest });
          if (!result.ok) expect(result.message.startsWith(key)).toBe(true);
        }
      }),
    );
  });

  it("an unknown type gives unknown_type, still echoing cid and room", () => {
    const unknown = fc.string({ maxLength: 40 }).filter((t) => !Object.hasOwn(clientSchemas, t));
    fc.assert(
      fc.property(fittingClientEnvelope, unknown, (env, type) => {
        const copy: Record<string, unknown> = { ...env, type };
        const result = decodeClient(JSON.stringify(copy));
        expectCorrelated(copy, result);
        if (!result.ok) {
          expect(result.code).toBe(ErrorCode.unknownType);
          expect(result.message).toContain(type.slice(0, 32));
        }
      }),
    );
  });
});

/*
 * decodeClient(bytes) is decodeClient(text) of the bytes' strict UTF-8 text: a leading BOM is
 * dropped (as TextDecoder does), and anything that is not UTF-8 — overlong forms, surrogates,
 * code points above U+10FFFF, truncated or stray continuation bytes — is `bad_json` before any
 * JSON is read. The reference below decodes by hand, per RFC 3629, independently of the decoder.
 */
function referenceUtf8(bytes: Uint8Array): string | undefined {
  let out = "";
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length) {
    const b0 = bytes[i] as number;
    let need: number;
    let cp: number;
    let min: number;
    if (b0 < 0x80) [need, cp, min] = [0, b0, 0];
    else if (b0 >= 0xc2 && b0 <= 0xdf) [need, cp, min] = [1, b0 & 0x1f, 0x80];
    else if (b0 >= 0xe0 && b0 <= 0xef) [need, cp, min] = [2, b0 & 0x0f, 0x800];
    else if (b0 >= 0xf0 && b0 <= 0xf4) [need, cp, min] = [3, b0 & 0x07, 0x10000];
    else return undefined;
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

function referenceDecodeClient(bytes: Uint8Array): DecodeResult<unknown> {
  if (bytes.byteLength > Limits.maxFrameBytes) return decodeClient(bytes);
  const text = referenceUtf8(bytes);
  return text === undefined ? { ok: false, code: ErrorCode.badJson, message: "frame is not valid UTF-8" } : decodeClient(text);
}

/** Byte sequences around the edges of UTF-8 validity. */
const utf8Piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 4 }).map((s) => [...utf8.encode(s)]) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      [0xef, 0xbb, 0xbf], // BOM
      [0xc0, 0x80], // overlong NUL
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xe0, 0x9f, 0xbf], // overlong, just below U+0800
      [0xe0, 0xa0, 0x80], // U+0800
      [0xed, 0x9f, 0xbf], // U+D7FF
      [0xed, 0xa0, 0x80], // U+D800, a surrogate
      [0xed, 0xbf, 0xbf], // U+DFFF
      [0xee, 0x80, 0x80], // U+E000
      [0xf0, 0x8f, 0xbf, 0xbf], // overlong
      [0xf0, 0x90, 0x80, 0x80], // U+10000
      [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xff],
      [0xfe],
      [0x80],
      [0xbf],
      [0xe2, 0x82], // truncated €
      [0xf0, 0x9f, 0x98], // truncated 😀
      [0x22],
      [0x5c],
    ),
  },
);
const utf8ish = fc.array(utf8Piece, { maxLength: 40 }).map((pieces) => Uint8Array.from(pieces.flat()));

describe("decodeClient(bytes) is decodeClient of the strict UTF-8 text", PROPERTY_TIMEOUT, () => {
  const same = (bytes: Uint8Array) => {
    expect(decodeClient(bytes)).toEqual(referenceDecodeClient(bytes));
  };

  it("the reference agrees with the examples everyone knows", () => {
    expect(referenceUtf8(utf8.encode("héllo 😀 €"))).toBe("héllo 😀 €");
    expect(referenceUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toBeUndefined();
    expect(referenceUtf8(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b))).toBe("{");
  });

  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), same), { numRuns: 3000 });
  });

  it("sequences around the edges of UTF-8, alone and inside a valid send's text", () => {
    fc.assert(fc.property(utf8ish, same), { numRuns: 3000 });
    fc.assert(
      fc.property(utf8ish, fc.boolean(), (inner, bom) => {
        const head = utf8.encode('{"type":"send","room":"general","text":"a');
        const tail = utf8.encode('b","cid":"c1"}');
        const frame = Uint8Array.from([...(bom ? [0xef, 0xbb, 0xbf] : []), ...head, ...inner, ...tail]);
        same(frame);
      }),
      { numRuns: 3000 },
    );
  });

  it("valid frames with random bytes flipped", () => {
    fc.assert(fc.property(flippedFrames, same), { numRuns: 2000 });
  });
});

describe("the frame size limit counts UTF-8 bytes exactly, without Node's Buffer", PROPERTY_TIMEOUT, () => {
  it("a string frame is too_large exactly when its UTF-8 encoding exceeds maxFrameBytes", () => {
    // Long strings of multi-byte characters, emoji and lone surrogates, around the limit.
    const frame = anyString(0, 6000);
    fc.assert(
      fc.property(frame, fc.double({ min: 0, max: 1.2, noNaN: true }), (s, ratio) => {
        const bytes = utf8Length(s);
        const maxFrameBytes = Math.floor(bytes * ratio);
        const result = decodeClient(s, { maxFrameBytes });
        const tooLarge = !result.ok && result.code === ErrorCode.tooLarge;
        expect(tooLarge).toBe(bytes > maxFrameBytes);
      }),
    );
  });
});
