import type { AckEnvelope, ClientEnvelope, MsgEnvelope, ServerEnvelope } from "./envelopes.js";
import { jsonNumber, jsonString } from "./json-text.js";

/**
 * Envelopes are plain JSON objects; encoding is `JSON.stringify`. These helpers exist so that
 * callers state which direction they encode and the compiler checks the envelope's shape.
 */
export function encodeServer(envelope: ServerEnvelope): string {
  return JSON.stringify(envelope);
}

export function encodeClient(envelope: ClientEnvelope): string {
  return JSON.stringify(envelope);
}

/*
 * The frames a server writes once per message, on the hot path of every send: built by
 * concatenation, quoting only what needs it (json-text.ts). The output is exactly what
 * `JSON.stringify` writes for an object with the same keys in the order given, for any values,
 * including names outside the grammar: those are just escaped the slow way.
 */

/** A `msg` before the store gave it a position: what an accepted `send` or `dm` becomes. */
export type MsgHead = Pick<MsgEnvelope, "room" | "from" | "text" | "ts" | "cid">;

/**
 * The start of a stored `msg` frame, without its position and closing brace:
 * `{"type":"msg","room":…,"from":…,"text":…,"ts":…,"cid":…` (no `cid` key when `cid` is
 * undefined). A store completes it with `encodeMsgTail` once it has assigned the offset; the
 * gateway's Redis script appends the same tail itself.
 */
export function encodeMsgHead(msg: MsgHead): string {
  const head = `{"type":"msg","room":${jsonString(msg.room)},"from":${jsonString(msg.from)},"text":${jsonString(msg.text)},"ts":${jsonNumber(msg.ts)}`;
  return msg.cid === undefined ? head : `${head},"cid":${jsonString(msg.cid)}`;
}

/** The end of a stored `msg` frame: `,"epoch":…,"offset":…}`. */
export function encodeMsgTail(epoch: string, offset: number): string {
  return `,"epoch":${jsonString(epoch)},"offset":${jsonNumber(offset)}}`;
}

/**
 * A whole `msg` frame in storage order — type, room, from, text, ts, cid, epoch, offset — the
 * order every stored and relayed `msg` has (the schema's key order does not matter to readers).
 * Equal to `JSON.stringify` of an object with those keys in that order.
 */
export function encodeMsg(msg: Omit<MsgEnvelope, "type">): string {
  return encodeMsgHead(msg) + encodeMsgTail(msg.epoch, msg.offset);
}

/**
 * The `ack` of a stored send: `{"type":"ack","cid":…,"room":…,"epoch":…,"offset":…}`, equal to
 * `JSON.stringify({ type: "ack", cid, room, epoch, offset })`.
 */
export function encodeAck(ack: Omit<AckEnvelope, "type">): string {
  return `{"type":"ack","cid":${jsonString(ack.cid)},"room":${jsonString(ack.room)},"epoch":${jsonString(ack.epoch)},"offset":${jsonNumber(ack.offset)}}`;
}
