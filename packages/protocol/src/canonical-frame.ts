/*
 * A shortcut past UTF-8 decoding of the whole frame and JSON.parse, for the frames a gateway
 * receives most: a message written exactly as the Parley SDKs write it (`JSON.stringify` of
 * `{type, room, text, cid}` or `{type, to, text, cid}`), with no whitespace and no escape in it.
 *
 * Why it is safe: for such bytes, JSON.parse of their UTF-8 text returns exactly the object built
 * here. Names are ASCII bytes taken as they are; the text is the bytes between its quotes, which
 * hold no backslash (so no escape) and no raw `"` or control character, decoded as strict UTF-8;
 * UTF-8 cannot hide a `"` or a `\` inside a multi-byte sequence, and the bytes around the text
 * are all ASCII, so the frame is valid UTF-8 exactly when the text's bytes are. Anything else,
 * and anything the caller's schema check then rejects, goes through the general path, which
 * therefore still produces every error (decode.ts). Every string returned is a copy: nothing
 * refers to `frame`, which a uWebSockets.js handler may only read until it returns.
 */

const encoder = new TextEncoder();
const SEND_HEAD = encoder.encode('{"type":"send","room":"');
const DM_HEAD = encoder.encode('{"type":"dm","to":"');
const TEXT_KEY = encoder.encode('","text":"');
const CID_KEY = encoder.encode('","cid":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

/** Bytes a name may be made of (names.ts): `A-Z a-z 0-9 _ . -` and the `:` of DM rooms. */
const NAME_BYTE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-:") NAME_BYTE[c.charCodeAt(0)] = 1;

// `ignoreBOM`: a U+FEFF is text like any other, kept as JSON.parse keeps it (never the first
// character decoded here anyway: that is a name's or a key's ASCII).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function hasAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

function nameEnd(bytes: Uint8Array, at: number): number {
  let i = at;
  while (i < bytes.length && NAME_BYTE[bytes[i] as number] === 1) i++;
  return i;
}

/** The index of the quote that ends a text without escapes, or -1. */
function textEnd(bytes: Uint8Array, at: number): number {
  for (let i = at; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === QUOTE) return i;
    if (b === BACKSLASH || b < 0x20) return -1;
  }
  return -1;
}

/** A `send` or `dm` exactly as the SDKs write it, not yet validated. */
export type CanonicalMessage =
  | { type: "send"; room: string; text: string; cid: string }
  | { type: "dm"; to: string; text: string; cid: string };

/**
 * The object `JSON.parse` would make of `frame`'s UTF-8 text, when `frame` is a `send` or `dm` in
 * the SDKs' exact spelling; otherwise undefined. It checks the spelling, not the schema.
 */
export function parseCanonicalMessage(frame: Uint8Array): CanonicalMessage | undefined {
  const isSend = hasAt(frame, 0, SEND_HEAD);
  if (!isSend && !hasAt(frame, 0, DM_HEAD)) return undefined;
  const nameStart = isSend ? SEND_HEAD.length : DM_HEAD.length;
  const nameStop = nameEnd(frame, nameStart);
  if (!hasAt(frame, nameStop, TEXT_KEY)) return undefined;
  const textStart = nameStop + TEXT_KEY.length;
  const textStop = textEnd(frame, textStart);
  if (textStop < 0 || !hasAt(frame, textStop, CID_KEY)) return undefined;
  const cidStart = textStop + CID_KEY.length;
  const cidStop = nameEnd(frame, cidStart);
  if (cidStop !== frame.length - 2 || frame[cidStop] !== QUOTE || frame[cidStop + 1] !== CLOSE_BRACE) return undefined;
  // One decoder call for name, text and cid together (with the ASCII keys between them): a call
  // costs more than the bytes it decodes, so this is as fast as Node's Buffer#latin1Slice for
  // the names and needs no Node API. The names are ASCII, so their lengths in code units are
  // their lengths in bytes, and they sit at the two ends of the decoded span.
  let span: string;
  try {
    span = strictUtf8.decode(frame.subarray(nameStart, cidStop));
  } catch {
    return undefined; // not UTF-8: the general path reports it
  }
  const nameLength = nameStop - nameStart;
  const cidLength = cidStop - cidStart;
  const name = span.slice(0, nameLength);
  const text = span.slice(nameLength + TEXT_KEY.length, span.length - cidLength - CID_KEY.length);
  const cid = span.slice(span.length - cidLength);
  return isSend ? { type: "send", room: name, text, cid } : { type: "dm", to: name, text, cid };
}
