import { clientSchemas, decodeClient, decodeServer, encodeAck } from "@parley/protocol";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type * as CanonicalFrame from "../dist/canonical-frame.js";
import { Value } from "@sinclair/typebox/value";
import { at, EPOCH, flat, msgFrames, otherBytes, parsedSends, POOL, sendBytes, sendEnvs, sendFrames, toMsg, toMsgStringified } from "./frames.js";

/** One timed operation; `run(i)` returns something truthy derived from its result, so V8 cannot drop the work. */
export interface Case {
  readonly id: string;
  readonly name: string;
  readonly run: (i: number) => unknown;
}

/*
 * Internal, on purpose: the cases must time what they say, so the bench checks which inputs take
 * the shortcut. Not exported by the package, so it is loaded from the package's build: the URL is
 * relative to this file's compiled place (bench/dist/), the type to its source's (bench/).
 */
const { parseCanonicalMessage } = (await import(new URL("../../dist/canonical-frame.js", import.meta.url).href)) as typeof CanonicalFrame;

// The same compilation decode.ts does once at module load.
const compiledSend = TypeCompiler.Compile(clientSchemas.send);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What decodeClient does, but with TypeBox's interpreter instead of the compiled check. */
function decodeInterpreted(frame: Uint8Array): { ok: boolean } {
  const value = JSON.parse(utf8.decode(frame)) as unknown;
  const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  const schema = typeof type === "string" && Object.hasOwn(clientSchemas, type) ? clientSchemas[type as keyof typeof clientSchemas] : undefined;
  return { ok: schema !== undefined && Value.Check(schema, value) };
}

export const cases: readonly Case[] = [
  { id: "check-compiled", name: "`send`: validate only, compiled (as decodeClient)", run: (i) => compiledSend.Check(at(parsedSends, i)) },
  { id: "check-interpreted", name: "`send`: validate only, interpreted `Value.Check`", run: (i) => Value.Check(clientSchemas.send, at(parsedSends, i)) },
  { id: "json-parse", name: "`send`: JSON.parse only (baseline)", run: (i) => (JSON.parse(at(sendFrames, i)) as { text: string }).text.length },
  { id: "decode-send-string", name: "`send`: decodeClient(string): parse + validate", run: (i) => decodeClient(at(sendFrames, i)).ok },
  {
    id: "decode-send-bytes",
    name: "`send`: decodeClient(Uint8Array), SDK spelling: shortcut + validate (gateway path)",
    run: (i) => decodeClient(at(sendBytes, i)).ok,
  },
  {
    id: "decode-send-bytes-general",
    name: "`send`: decodeClient(Uint8Array), other key order: UTF-8 + parse + validate",
    run: (i) => decodeClient(at(otherBytes, i)).ok,
  },
  { id: "encode-msg", name: "`msg`: encodeMsgHead + encodeMsgTail only (gateway path)", run: (i) => toMsg(at(sendEnvs, i), i).length },
  { id: "encode-msg-stringify", name: "`msg`: JSON.stringify only (baseline)", run: (i) => toMsgStringified(at(sendEnvs, i), i).length },
  {
    id: "encode-ack",
    name: "`ack`: encodeAck",
    run: (i) => {
      const s = at(sendEnvs, i);
      return flat(encodeAck({ cid: s.cid ?? "", room: s.room, epoch: EPOCH, offset: i })).length;
    },
  },
  {
    id: "encode-ack-stringify",
    name: "`ack`: JSON.stringify (baseline)",
    run: (i) => {
      const s = at(sendEnvs, i);
      return JSON.stringify({ type: "ack", cid: s.cid, room: s.room, epoch: EPOCH, offset: i }).length;
    },
  },
  {
    id: "decode-encode",
    name: "`send` → `msg`: decodeClient(Uint8Array) + encodeMsgHead/Tail (gateway path)",
    run: (i) => {
      const r = decodeClient(at(sendBytes, i));
      return r.ok && r.value.type === "send" && toMsg(r.value, i).length;
    },
  },
  {
    id: "decode-encode-before",
    name: "`send` → `msg`: UTF-8 + parse + validate + JSON.stringify(msg) (baseline: the path before)",
    run: (i) => {
      const r = decodeClient(at(otherBytes, i));
      return r.ok && r.value.type === "send" && toMsgStringified(r.value, i).length;
    },
  },
  { id: "decode-msg-string", name: "`msg`: decodeServer(string): parse + validate", run: (i) => decodeServer(at(msgFrames, i)).ok },
  { id: "value-check-send-bytes", name: "`send`: UTF-8 + JSON.parse + `Value.Check`", run: (i) => decodeInterpreted(at(otherBytes, i)).ok },
];

/**
 * Why the cases would not time what they say, or undefined: the encoders must give
 * JSON.stringify's bytes, the SDK spelling must take the canonical shortcut and the other
 * spelling must not, and every case must succeed on every input (else it times the error path).
 */
export function checkCases(): string | undefined {
  for (let i = 0; i < POOL; i++) {
    const send = at(sendEnvs, i);
    if (toMsg(send, i) !== toMsgStringified(send, i)) return `encodeMsgHead + encodeMsgTail differ from JSON.stringify on input ${i}`;
    if (parseCanonicalMessage(at(sendBytes, i)) === undefined) return `input ${i} in the SDKs' spelling does not take the canonical-frame shortcut`;
    if (parseCanonicalMessage(at(otherBytes, i)) !== undefined) return `input ${i} in another key order takes the canonical-frame shortcut`;
  }
  for (const c of cases) for (let i = 0; i < POOL; i++) if (!c.run(i)) return `case ${c.id} failed on input ${i}`;
  return undefined;
}
