#!/usr/bin/env node
/*
 * Micro-benchmark of the wire codec: what one inbound `send` costs a gateway (decodeClient from
 * bytes: the SDKs' spelling of a message takes the canonical-frame shortcut, any other spelling
 * UTF-8 + JSON.parse; then the compiled schema check), what answering it with a `msg` costs
 * (+ encodeMsgHead and encodeMsgTail, as message-frame.ts builds the stored frame), the baseline
 * before both (general decode + JSON.stringify), and the same validation through TypeBox's
 * interpreting `Value.Check`, which is what compiling the validator once at load saves.
 *
 * Encoders that concatenate return a rope that V8 flattens when the string is first read (by
 * the socket or the Redis client); every encode case flattens its result, so that cost is
 * timed too. The `ts` is a millisecond timestamp, as in the gateway.
 *
 *   pnpm bench:protocol                                             # builds, then ~20 s
 *   node packages/protocol/bench/codec-bench.mjs --quick            # ~2 s smoke run
 *   node packages/protocol/bench/codec-bench.mjs --json out.json    # also write the figures
 *
 * Each case is warmed up (lets V8 optimise) and given a batch size that takes ~`roundMs`; then
 * `rounds` rounds each time one batch of every case, in a rotating order, so background load on
 * a shared machine hits all cases alike. The figure reported is the median ns/op over rounds;
 * the best round (min) is shown beside it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";

function fail(message) {
  console.error(`codec-bench: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { quick: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--json") {
      args.json = argv[++i];
      if (args.json === undefined || args.json.startsWith("--")) fail("--json needs a file path");
    } else if (arg === "--help" || arg === "-h") {
      console.log("usage: codec-bench.mjs [--quick] [--json <path>]");
      process.exit(0);
    } else if (arg !== "--") fail(`unknown argument ${arg}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const { clientSchemas, decodeClient, decodeServer, encodeAck, encodeMsgHead, encodeMsgTail } = await import("../dist/index.js").catch((err) =>
  fail(`cannot load ../dist/index.js (${err.code ?? err.message}); run \`pnpm build\` first`),
);
const settings = args.quick ? { warmMs: 40, roundMs: 15, rounds: 7 } : { warmMs: 300, roundMs: 40, rounds: 25 };

// ---- inputs: 64 distinct, realistic frames, so no case benefits from one hot string ----

const POOL = 64;
const mask = POOL - 1;
const EPOCH = "9f3a1b2clq3x9k";
const words = ["hello", "team", "deploy", "is", "green", "again", "see", "the", "dashboard", "for", "p99", "numbers", "👍", "ça", "marche"];
const sendEnvs = [];
const sendFrames = [];
const sendBytes = [];
/** The same envelopes spelled with other key orders, which the canonical shortcut does not take. */
const otherBytes = [];
const msgFrames = [];
for (let i = 0; i < POOL; i++) {
  let text = "";
  for (let w = i; text.length < 120; w += 7) text += `${words[w % words.length]} `;
  const send = {
    type: "send",
    room: `room-${i % 8}`,
    text: text.trim(),
    cid: `01JD${(1e12 + i * 7919).toString(36).toUpperCase()}X${i.toString(36).padStart(4, "0")}`,
  };
  const json = JSON.stringify(send);
  sendEnvs.push(send);
  sendFrames.push(json);
  sendBytes.push(new TextEncoder().encode(json));
  const { room, text: t, cid } = send;
  otherBytes.push(new TextEncoder().encode(JSON.stringify({ type: "send", cid, room, text: t })));
  msgFrames.push(toMsg(send, 1000 + i));
}
const parsedSends = sendFrames.map((f) => JSON.parse(f));
const avgBytes = (frames) => Math.round(frames.reduce((n, f) => n + Buffer.byteLength(f), 0) / frames.length);

/**
 * The `msg` a gateway stores and publishes for an accepted `send`, built as message-frame.ts
 * builds it: the head at append, the tail once the store assigned the offset.
 */
function toMsg(send, offset) {
  return flat(
    encodeMsgHead({ room: send.room, from: "alice", text: send.text, ts: 1732170000000 + offset, cid: send.cid }) +
      encodeMsgTail(EPOCH, offset),
  );
}

/** The same frame through JSON.stringify (the baseline; what message-frame.ts used to do). */
function toMsgStringified(send, offset) {
  return JSON.stringify({
    type: "msg",
    room: send.room,
    from: "alice",
    text: send.text,
    ts: 1732170000000 + offset,
    cid: send.cid,
    epoch: EPOCH,
    offset,
  });
}

/** Reading a character flattens a concatenated string, as the first write to a socket would. */
function flat(s) {
  s.charCodeAt(s.length - 1);
  return s;
}

// The cases must time what they say: the same frames, the shortcut taken or not as labelled.
const { parseCanonicalMessage } = await import("../dist/canonical-frame.js");
for (let i = 0; i < POOL; i++) {
  if (toMsg(sendEnvs[i], i) !== toMsgStringified(sendEnvs[i], i)) fail(`encodeMsgHead + encodeMsgTail differ from JSON.stringify on input ${i}`);
  if (parseCanonicalMessage(sendBytes[i]) === undefined) fail(`input ${i} in the SDKs' spelling does not take the canonical-frame shortcut`);
  if (parseCanonicalMessage(otherBytes[i]) !== undefined) fail(`input ${i} in another key order takes the canonical-frame shortcut`);
}

// The same compilation decode.ts does once at module load.
const compiledSend = TypeCompiler.Compile(clientSchemas.send);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What decodeClient does, but with TypeBox's interpreter instead of the compiled check. */
function decodeInterpreted(frame) {
  const value = JSON.parse(typeof frame === "string" ? frame : utf8.decode(frame));
  const schema = typeof value === "object" && value !== null ? clientSchemas[value.type] : undefined;
  return schema !== undefined && Value.Check(schema, value) ? { ok: true, value } : { ok: false };
}

// Every case returns something truthy derived from its result, so V8 cannot drop the work.
const cases = [
  {
    id: "check-compiled",
    name: "`send`: validate only, compiled (as decodeClient)",
    run: (i) => compiledSend.Check(parsedSends[i & mask]),
  },
  {
    id: "check-interpreted",
    name: "`send`: validate only, interpreted `Value.Check`",
    run: (i) => Value.Check(clientSchemas.send, parsedSends[i & mask]),
  },
  {
    id: "json-parse",
    name: "`send`: JSON.parse only (baseline)",
    run: (i) => JSON.parse(sendFrames[i & mask]).text.length,
  },
  {
    id: "decode-send-string",
    name: "`send`: decodeClient(string): parse + validate",
    run: (i) => decodeClient(sendFrames[i & mask]).ok,
  },
  {
    id: "decode-send-bytes",
    name: "`send`: decodeClient(Uint8Array), SDK spelling: shortcut + validate (gateway path)",
    run: (i) => decodeClient(sendBytes[i & mask]).ok,
  },
  {
    id: "decode-send-bytes-general",
    name: "`send`: decodeClient(Uint8Array), other key order: UTF-8 + parse + validate",
    run: (i) => decodeClient(otherBytes[i & mask]).ok,
  },
  {
    id: "encode-msg",
    name: "`msg`: encodeMsgHead + encodeMsgTail only (gateway path)",
    run: (i) => toMsg(sendEnvs[i & mask], i).length,
  },
  {
    id: "encode-msg-stringify",
    name: "`msg`: JSON.stringify only (baseline)",
    run: (i) => toMsgStringified(sendEnvs[i & mask], i).length,
  },
  {
    id: "encode-ack",
    name: "`ack`: encodeAck",
    run: (i) => {
      const s = sendEnvs[i & mask];
      return flat(encodeAck({ cid: s.cid, room: s.room, epoch: EPOCH, offset: i })).length;
    },
  },
  {
    id: "encode-ack-stringify",
    name: "`ack`: JSON.stringify (baseline)",
    run: (i) => {
      const s = sendEnvs[i & mask];
      return JSON.stringify({ type: "ack", cid: s.cid, room: s.room, epoch: EPOCH, offset: i }).length;
    },
  },
  {
    id: "decode-encode",
    name: "`send` → `msg`: decodeClient(Uint8Array) + encodeMsgHead/Tail (gateway path)",
    run: (i) => {
      const r = decodeClient(sendBytes[i & mask]);
      return r.ok && toMsg(r.value, i).length;
    },
  },
  {
    id: "decode-encode-before",
    name: "`send` → `msg`: UTF-8 + parse + validate + JSON.stringify(msg) (baseline: the path before)",
    run: (i) => {
      const r = decodeClient(otherBytes[i & mask]);
      return r.ok && toMsgStringified(r.value, i).length;
    },
  },
  {
    id: "decode-msg-string",
    name: "`msg`: decodeServer(string): parse + validate",
    run: (i) => decodeServer(msgFrames[i & mask]).ok,
  },
  {
    id: "value-check-send-bytes",
    name: "`send`: UTF-8 + JSON.parse + `Value.Check`",
    run: (i) => decodeInterpreted(otherBytes[i & mask]).ok,
  },
];

// Every case must succeed on every input, or we would be timing the error path.
for (const c of cases) for (let i = 0; i < POOL; i++) if (!c.run(i)) fail(`case ${c.id} failed on input ${i}`);

let sink = 0;

function timeBatch(run, n) {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (run(i)) acc++;
  const ns = Number(process.hrtime.bigint() - start);
  sink += acc;
  return ns;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Warms a case up and returns a batch size that takes about `roundMs`. */
function calibrate(c) {
  const warmEnd = performance.now() + settings.warmMs;
  while (performance.now() < warmEnd) timeBatch(c.run, 1000);
  let n = 1000;
  for (;;) {
    const ns = timeBatch(c.run, n);
    if (ns >= settings.roundMs * 1e6 * 0.5) return Math.max(1000, Math.round((n * settings.roundMs * 1e6) / ns));
    n *= 2;
  }
}

function measureAll() {
  const batch = cases.map(calibrate);
  const perOp = cases.map(() => []);
  for (let r = 0; r < settings.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const j = (k + r) % cases.length;
      perOp[j].push(timeBatch(cases[j].run, batch[j]) / batch[j]);
    }
  }
  return cases.map((c, j) => ({
    id: c.id,
    name: c.name,
    nsPerOpMedian: Math.round(median(perOp[j])),
    nsPerOpMin: Math.round(Math.min(...perOp[j])),
    nsPerOpMax: Math.round(Math.max(...perOp[j])),
    opsPerRound: batch[j],
    rounds: settings.rounds,
  }));
}

const started = performance.now();
const results = measureAll();
const seconds = (performance.now() - started) / 1000;
const load = loadavg();

const byId = Object.fromEntries(results.map((r) => [r.id, r]));
const ratio = (a, b, key = "nsPerOpMedian") => Math.round((byId[a][key] / byId[b][key]) * 10) / 10;
const summary = {
  /** decodeClient from bytes, as the gateway calls it, of frames spelled as the SDKs spell them. */
  decodeValidateNs: byId["decode-send-bytes"].nsPerOpMedian,
  /** The same for another key order: UTF-8 + JSON.parse + compiled check (the path before). */
  decodeValidateGeneralNs: byId["decode-send-bytes-general"].nsPerOpMedian,
  decodeValidateStringNs: byId["decode-send-string"].nsPerOpMedian,
  /** The gateway path: decodeClient from bytes, then the stored `msg` via encodeMsgHead/Tail. */
  decodeValidateEncodeNs: byId["decode-encode"].nsPerOpMedian,
  /** The path before the shortcut and the encoders: general decode + JSON.stringify. */
  decodeValidateEncodeBeforeNs: byId["decode-encode-before"].nsPerOpMedian,
  decodeValidateEncodeBeforeVsNow: ratio("decode-encode-before", "decode-encode"),
  decodeValidateEncodeBeforeVsNowBest: ratio("decode-encode-before", "decode-encode", "nsPerOpMin"),
  encodeMsgNs: byId["encode-msg"].nsPerOpMedian,
  encodeMsgStringifyNs: byId["encode-msg-stringify"].nsPerOpMedian,
  encodeAckNs: byId["encode-ack"].nsPerOpMedian,
  encodeAckStringifyNs: byId["encode-ack-stringify"].nsPerOpMedian,
  /** How many times longer JSON.stringify takes than the concatenating encoders (median; best rounds). */
  stringifyVsEncodeMsg: ratio("encode-msg-stringify", "encode-msg"),
  stringifyVsEncodeMsgBest: ratio("encode-msg-stringify", "encode-msg", "nsPerOpMin"),
  stringifyVsEncodeAck: ratio("encode-ack-stringify", "encode-ack"),
  stringifyVsEncodeAckBest: ratio("encode-ack-stringify", "encode-ack", "nsPerOpMin"),
  validateCompiledNs: byId["check-compiled"].nsPerOpMedian,
  validateInterpretedNs: byId["check-interpreted"].nsPerOpMedian,
  /** How many times longer the interpreted path takes (median, and best round against best round). */
  interpretedVsCompiledValidate: ratio("check-interpreted", "check-compiled"),
  interpretedVsCompiledValidateBest: ratio("check-interpreted", "check-compiled", "nsPerOpMin"),
  /** Both through UTF-8 + JSON.parse, so the ratio is the validator's alone. */
  interpretedVsCompiledDecode: ratio("value-check-send-bytes", "decode-send-bytes-general"),
  interpretedVsCompiledDecodeBest: ratio("value-check-send-bytes", "decode-send-bytes-general", "nsPerOpMin"),
};
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  platform: `${process.platform}-${process.arch}`,
  loadAverage1m: Math.round(load[0] * 100) / 100,
  mode: args.quick ? "quick" : "full",
  date: new Date().toISOString(),
  sendFrameBytes: avgBytes(sendFrames),
  msgFrameBytes: avgBytes(msgFrames),
};

const fmt = (n) => n.toLocaleString("en-US");
console.log(`## Parley protocol codec (${machine.mode} run, ${seconds.toFixed(1)} s)\n`);
console.log(`Node ${machine.node}, ${machine.cpu} (${machine.cores} cores), ${machine.platform}, load average ${machine.loadAverage1m}.`);
console.log(`Frames: \`send\` ≈ ${machine.sendFrameBytes} B, \`msg\` ≈ ${machine.msgFrameBytes} B; ${POOL} distinct frames cycled.`);
console.log(
  `Median of ${settings.rounds} interleaved rounds, ~${settings.roundMs} ms per case per round, after ${settings.warmMs} ms warm-up.\n`,
);
console.log("| case | ns/op (median) | best round | worst round | ops/s (median) |");
console.log("|---|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${fmt(r.nsPerOpMedian)} | ${fmt(r.nsPerOpMin)} | ${fmt(r.nsPerOpMax)} | ${fmt(Math.round(1e9 / r.nsPerOpMedian))} |`,
  );
}
console.log(
  `\nInterpreted Value.Check vs the compiled check decodeClient uses, times as long (median; best rounds): ` +
    `validate alone ${summary.interpretedVsCompiledValidate}× (${summary.interpretedVsCompiledValidateBest}×), ` +
    `decode+validate from bytes (general path) ${summary.interpretedVsCompiledDecode}× (${summary.interpretedVsCompiledDecodeBest}×).`,
);
console.log(
  `JSON.stringify vs the concatenating encoders, times as long (median; best rounds): ` +
    `\`msg\` ${summary.stringifyVsEncodeMsg}× (${summary.stringifyVsEncodeMsgBest}×), ` +
    `\`ack\` ${summary.stringifyVsEncodeAck}× (${summary.stringifyVsEncodeAckBest}×).`,
);
console.log(
  `Decode + validate + encode (gateway path): ${fmt(summary.decodeValidateEncodeNs)} ns median, ` +
    `against ${fmt(summary.decodeValidateEncodeBeforeNs)} ns for general decode + JSON.stringify ` +
    `(${summary.decodeValidateEncodeBeforeVsNow}× as long; best rounds ${summary.decodeValidateEncodeBeforeVsNowBest}×).`,
);
if (load[0] > machine.cores) {
  console.log(`\nNote: the load average (${machine.loadAverage1m}) exceeded the core count; medians are inflated by other work.`);
}

if (args.json !== undefined) {
  const path = resolve(args.json);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ machine, settings, summary, results }, null, 2)}\n`);
  console.log(`\nWrote ${path}`);
}
if (sink < 0) console.log(sink); // keeps `sink` observable to the optimiser
