import { encodeMsgHead, encodeMsgTail, type ClientEnvelopeOf } from "@parley/protocol";

/** Inputs: 64 distinct, realistic frames, so no case benefits from one hot string. */
export const POOL = 64;
export const mask = POOL - 1;
export const EPOCH = "9f3a1b2clq3x9k";

export type Send = ClientEnvelopeOf<"send">;

const words = ["hello", "team", "deploy", "is", "green", "again", "see", "the", "dashboard", "for", "p99", "numbers", "👍", "ça", "marche"];
const utf8 = new TextEncoder();

/** Reading a character flattens a concatenated string, as the first write to a socket would. */
export function flat(s: string): string {
  s.charCodeAt(s.length - 1);
  return s;
}

/**
 * The `msg` a gateway stores and publishes for an accepted `send`, built as message-frame.ts
 * builds it: the head at append, the tail once the store assigned the offset.
 */
export function toMsg(send: Send, offset: number): string {
  const head = encodeMsgHead({ room: send.room, from: "alice", text: send.text, ts: 1732170000000 + offset, ...(send.cid === undefined ? {} : { cid: send.cid }) });
  return flat(head + encodeMsgTail(EPOCH, offset));
}

/** The same frame through JSON.stringify (the baseline; what message-frame.ts used to do). */
export function toMsgStringified(send: Send, offset: number): string {
  return JSON.stringify({ type: "msg", room: send.room, from: "alice", text: send.text, ts: 1732170000000 + offset, cid: send.cid, epoch: EPOCH, offset });
}

function makeSend(i: number): Send {
  let text = "";
  for (let w = i; text.length < 120; w += 7) text += `${words[w % words.length]} `;
  return {
    type: "send",
    room: `room-${i % 8}`,
    text: text.trim(),
    cid: `01JD${(1e12 + i * 7919).toString(36).toUpperCase()}X${i.toString(36).padStart(4, "0")}`,
  };
}

/** The envelopes, as objects. */
export const sendEnvs: readonly Send[] = Array.from({ length: POOL }, (_, i) => makeSend(i));
/** As JSON text, spelled as the SDKs spell them. */
export const sendFrames: readonly string[] = sendEnvs.map((s) => JSON.stringify(s));
/** As bytes, spelled as the SDKs spell them (the canonical-frame shortcut applies). */
export const sendBytes: readonly Uint8Array[] = sendFrames.map((f) => utf8.encode(f));
/** The same envelopes spelled with other key orders, which the canonical shortcut does not take. */
export const otherBytes: readonly Uint8Array[] = sendEnvs.map(({ room, text, cid }) => utf8.encode(JSON.stringify({ type: "send", cid, room, text })));
/** Parsed, for the validate-only cases. */
export const parsedSends: readonly unknown[] = sendFrames.map((f) => JSON.parse(f) as unknown);
/** The stored `msg` of each. */
export const msgFrames: readonly string[] = sendEnvs.map((s, i) => toMsg(s, 1000 + i));

export const avgBytes = (frames: readonly string[]): number => Math.round(frames.reduce((n, f) => n + Buffer.byteLength(f), 0) / frames.length);

/** Input `i` of a pool, cycling (POOL is a power of two). */
export function at<T>(pool: readonly T[], i: number): T {
  return pool[i & mask] as T;
}
