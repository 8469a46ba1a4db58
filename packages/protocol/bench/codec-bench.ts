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
 *   pnpm bench:protocol                                                 # builds, then ~20 s
 *   node packages/protocol/bench/dist/codec-bench.js --quick            # ~2 s smoke run
 *   node packages/protocol/bench/dist/codec-bench.js --json out.json    # also write the figures
 *
 * The figure reported is the median ns/op over rounds (measure.ts); the best round (min) is
 * shown beside it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { cases, checkCases } from "./cases.js";
import { avgBytes, msgFrames, POOL, sendFrames } from "./frames.js";
import { measureAll, sinkValue, type CaseResult, type MeasureSettings } from "./measure.js";

function fail(message: string): never {
  console.error(`codec-bench: ${message}`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { quick: boolean; json: string | undefined } {
  const args: { quick: boolean; json: string | undefined } = { quick: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--json") {
      const path = argv[++i];
      if (path === undefined || path.startsWith("--")) fail("--json needs a file path");
      args.json = path;
    } else if (arg === "--help" || arg === "-h") {
      console.log("usage: codec-bench [--quick] [--json <path>]");
      process.exit(0);
    } else if (arg !== "--") fail(`unknown argument ${arg}`);
  }
  return args;
}

/** The headline figures (BENCHMARKS.md and `pnpm bench` read these names). */
function summarise(results: readonly CaseResult[]) {
  const byId = new Map(results.map((r) => [r.id, r]));
  const get = (id: string): CaseResult => {
    const r = byId.get(id);
    if (r === undefined) fail(`no case ${id}`);
    return r;
  };
  const median = (id: string): number => get(id).nsPerOpMedian;
  const ratio = (a: string, b: string, key: "nsPerOpMedian" | "nsPerOpMin" = "nsPerOpMedian"): number => Math.round((get(a)[key] / get(b)[key]) * 10) / 10;
  return {
    /** decodeClient from bytes, as the gateway calls it, of frames spelled as the SDKs spell them. */
    decodeValidateNs: median("decode-send-bytes"),
    /** The same for another key order: UTF-8 + JSON.parse + compiled check (the path before). */
    decodeValidateGeneralNs: median("decode-send-bytes-general"),
    decodeValidateStringNs: median("decode-send-string"),
    /** The gateway path: decodeClient from bytes, then the stored `msg` via encodeMsgHead/Tail. */
    decodeValidateEncodeNs: median("decode-encode"),
    /** The path before the shortcut and the encoders: general decode + JSON.stringify. */
    decodeValidateEncodeBeforeNs: median("decode-encode-before"),
    decodeValidateEncodeBeforeVsNow: ratio("decode-encode-before", "decode-encode"),
    decodeValidateEncodeBeforeVsNowBest: ratio("decode-encode-before", "decode-encode", "nsPerOpMin"),
    encodeMsgNs: median("encode-msg"),
    encodeMsgStringifyNs: median("encode-msg-stringify"),
    encodeAckNs: median("encode-ack"),
    encodeAckStringifyNs: median("encode-ack-stringify"),
    /** How many times longer JSON.stringify takes than the concatenating encoders (median; best rounds). */
    stringifyVsEncodeMsg: ratio("encode-msg-stringify", "encode-msg"),
    stringifyVsEncodeMsgBest: ratio("encode-msg-stringify", "encode-msg", "nsPerOpMin"),
    stringifyVsEncodeAck: ratio("encode-ack-stringify", "encode-ack"),
    stringifyVsEncodeAckBest: ratio("encode-ack-stringify", "encode-ack", "nsPerOpMin"),
    validateCompiledNs: median("check-compiled"),
    validateInterpretedNs: median("check-interpreted"),
    /** How many times longer the interpreted path takes (median, and best round against best round). */
    interpretedVsCompiledValidate: ratio("check-interpreted", "check-compiled"),
    interpretedVsCompiledValidateBest: ratio("check-interpreted", "check-compiled", "nsPerOpMin"),
    /** Both through UTF-8 + JSON.parse, so the ratio is the validator's alone. */
    interpretedVsCompiledDecode: ratio("value-check-send-bytes", "decode-send-bytes-general"),
    interpretedVsCompiledDecodeBest: ratio("value-check-send-bytes", "decode-send-bytes-general", "nsPerOpMin"),
  };
}

const args = parseArgs(process.argv.slice(2));
const settings: MeasureSettings = args.quick ? { warmMs: 40, roundMs: 15, rounds: 7 } : { warmMs: 300, roundMs: 40, rounds: 25 };
const problem = checkCases();
if (problem !== undefined) fail(problem);

const started = performance.now();
const results = measureAll(cases, settings);
const seconds = (performance.now() - started) / 1000;
const load = loadavg();
const summary = summarise(results);
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  platform: `${process.platform}-${process.arch}`,
  loadAverage1m: Math.round((load[0] ?? 0) * 100) / 100,
  mode: args.quick ? "quick" : "full",
  date: new Date().toISOString(),
  sendFrameBytes: avgBytes(sendFrames),
  msgFrameBytes: avgBytes(msgFrames),
};

const fmt = (n: number): string => n.toLocaleString("en-US");
const s = summary;
console.log(`## Parley protocol codec (${machine.mode} run, ${seconds.toFixed(1)} s)\n`);
console.log(`Node ${machine.node}, ${machine.cpu} (${machine.cores} cores), ${machine.platform}, load average ${machine.loadAverage1m}.`);
console.log(`Frames: \`send\` ≈ ${machine.sendFrameBytes} B, \`msg\` ≈ ${machine.msgFrameBytes} B; ${POOL} distinct frames cycled.`);
console.log(`Median of ${settings.rounds} interleaved rounds, ~${settings.roundMs} ms per case per round, after ${settings.warmMs} ms warm-up.\n`);
console.log("| case | ns/op (median) | best round | worst round | ops/s (median) |");
console.log("|---|---:|---:|---:|---:|");
for (const r of results) {
  console.log(`| ${r.name} | ${fmt(r.nsPerOpMedian)} | ${fmt(r.nsPerOpMin)} | ${fmt(r.nsPerOpMax)} | ${fmt(Math.round(1e9 / r.nsPerOpMedian))} |`);
}
console.log(
  `\nInterpreted Value.Check vs the compiled check decodeClient uses, times as long (median; best rounds): ` +
    `validate alone ${s.interpretedVsCompiledValidate}× (${s.interpretedVsCompiledValidateBest}×), ` +
    `decode+validate from bytes (general path) ${s.interpretedVsCompiledDecode}× (${s.interpretedVsCompiledDecodeBest}×).`,
);
console.log(
  `JSON.stringify vs the concatenating encoders, times as long (median; best rounds): ` +
    `\`msg\` ${s.stringifyVsEncodeMsg}× (${s.stringifyVsEncodeMsgBest}×), ` +
    `\`ack\` ${s.stringifyVsEncodeAck}× (${s.stringifyVsEncodeAckBest}×).`,
);
console.log(
  `Decode + validate + encode (gateway path): ${fmt(s.decodeValidateEncodeNs)} ns median, ` +
    `against ${fmt(s.decodeValidateEncodeBeforeNs)} ns for general decode + JSON.stringify ` +
    `(${s.decodeValidateEncodeBeforeVsNow}× as long; best rounds ${s.decodeValidateEncodeBeforeVsNowBest}×).`,
);
if ((load[0] ?? 0) > machine.cores) {
  console.log(`\nNote: the load average (${machine.loadAverage1m}) exceeded the core count; medians are inflated by other work.`);
}

if (args.json !== undefined) {
  const path = resolve(args.json);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ machine, settings, summary, results }, null, 2)}\n`);
  console.log(`\nWrote ${path}`);
}
if (sinkValue() < 0) console.log(sinkValue()); // keeps the sink observable to the optimiser
