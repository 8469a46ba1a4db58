import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, frame, handshake, type Exchange } from "./support/frames.js";
import { HostileNode } from "./support/hostile-node.js";

/*
 * Raw-socket fuzzer: malformed handshakes, frames no conforming client sends (reserved opcodes
 * and bits, unmasked frames, long or fragmented control frames, continuation without a start,
 * oversized and lying lengths, invalid UTF-8, bad close frames), huge headers, random bytes
 * before and after the handshake, and slowloris sockets. Each run ends with HostileNode's
 * checks: the node is alive, memory settled, the bystanders noticed nothing, every connection
 * closed and counted — and every refusal the gateway answered shows in its metrics.
 */

const text = (s: string): Buffer => Buffer.from(s, "utf8");
const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
const closePayload = (code: number, reason = Buffer.alloc(0)): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
};

/** A deterministic byte source, so a failing run can be repeated. */
function seeded(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

describe("hostile: raw sockets", () => {
  let node: HostileNode;
  beforeAll(async () => {
    node = await HostileNode.start("raw", {
      // The fuzzer opens a few hundred sockets from one address within seconds.
      PARLEY_IP_RATE_PER_SECOND: "1000",
      PARLEY_IP_RATE_BURST: "1000",
      // Stalled sockets (an unmasked frame leaves uWS waiting for bytes) go within 2 s.
      PARLEY_FIRST_FRAME_TIMEOUT_MS: "2000",
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("refuses or drops every malformed handshake, frame and byte stream, and nobody else notices", async () => {
    const before = await node.snapshot();
    const port = node.port;

    // Slowloris, started first and checked last: sockets that never finish a request head
    // (silent, or one byte every 500 ms) are closed by uWS's fixed HTTP timeout (~10 s).
    const slow = Array.from({ length: 24 }, (_, i) => slowloris(port, i % 2 === 0 ? "silent" : "trickle"));

    const handshakes: [string, string | Buffer][] = [
      ["version 8", handshake(undefined, { "sec-websocket-version": "8" })],
      ["no version", handshake(undefined, { "sec-websocket-version": null })],
      ["no Upgrade header", handshake(undefined, { upgrade: null })],
      ["Upgrade: h2c", handshake(undefined, { upgrade: "h2c" })],
      ["Connection: keep-alive", handshake(undefined, { connection: "keep-alive" })],
      ["short key", handshake(undefined, { "sec-websocket-key": "c2hvcnQ=" })],
      ["key not base64", handshake(undefined, { "sec-websocket-key": "!!!!!!!!!!!!!!!!!!!!!!==" })],
      ["no key", handshake(undefined, { "sec-websocket-key": null })],
      ["no subprotocol", handshake(undefined, { "sec-websocket-protocol": null })],
      ["POST", handshake().replace(/^GET/, "POST")],
      ["bad name bytes", handshake("/ws?name=%FF%FE")],
      ["control chars in name", handshake("/ws?name=a%0D%0Ab")],
      ["RTL override name", handshake("/ws?name=%E2%80%AEnimda")],
      ["token without a key configured", handshake(`/ws?token=${"x".repeat(3000)}`)],
      ["hostile origin", handshake(undefined, { origin: "http://evil.example" })],
      ["path of 5000 bytes", handshake(`/ws?name=${"a".repeat(5000)}`)],
      ["200 KiB header", handshake(undefined, { "x-big": "a".repeat(200 * 1024) })],
      ["60 headers", handshake(undefined, Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, "v"])))],
      ["600 headers", handshake(undefined, Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`x-h${i}`, "v"])))],
      ["HTTP/1.0", handshake().replace("HTTP/1.1", "HTTP/1.0")],
      ["NUL in a header", handshake(undefined, { "x-nul": "a\u0000b" })],
      ["header without colon", handshake().replace("\r\n\r\n", "\r\nnot a header\r\n\r\n")],
      ["garbage request line", "\u0000\u0001 GARBAGE \u00ff\r\n\r\n"],
      ["chunked body on an upgrade", handshake(undefined, { "transfer-encoding": "chunked" }).replace(/\r\n\r\n$/, "\r\n\r\n5\r\nhello\r\n0\r\n\r\n")],
      ["content-length smuggling", handshake(undefined, { "content-length": "10", "transfer-encoding": "chunked" })],
    ];
    // Some of these uWS leaves unanswered (more than ~50 headers, HTTP/1.0, a garbage request
    // line): its fixed HTTP timeout ends them, like the slowloris sockets, within ~11 s.
    const handshaking = Promise.all(handshakes.map(([, bytes]) => exchange(port, bytes, [], 14_000)));

    const payloadOf = (n: number): Buffer => Buffer.alloc(n, 0x61);
    const frames: [string, Buffer[]][] = [
      ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer[]] => [`reserved opcode ${op}`, [frame({ opcode: op, payload: text("x") })]]),
      ...[1, 2, 4].map((rsv): [string, Buffer[]] => [`RSV bits ${rsv}`, [frame({ opcode: OP.text, rsv, payload: text('{"type":"presence","room":"a"}') })]]),
      ["unmasked frame", [frame({ opcode: OP.text, masked: false, payload: text('{"type":"presence","room":"a"}') })]],
      ["ping of 126 bytes", [frame({ opcode: OP.ping, payload: payloadOf(126) })]],
      ["close of 200 bytes", [frame({ opcode: OP.close, payload: Buffer.concat([closePayload(1000), payloadOf(198)]) })]],
      ["fragmented ping", [frame({ opcode: OP.ping, fin: false, payload: text("a") }), frame({ opcode: OP.cont, payload: text("b") })]],
      ["continuation without a start", [frame({ opcode: OP.cont, payload: text("orphan") })]],
      ["new message inside a fragmented one", [frame({ opcode: OP.text, fin: false, payload: text('{"type":') }), frame({ opcode: OP.text, payload: text("{}") })]],
      [
        "fragments adding up past the hard limit",
        Array.from({ length: 40 }, (_, i) => frame({ opcode: i === 0 ? OP.text : OP.cont, fin: i === 39, payload: payloadOf(4096) })),
      ],
      ["announced length of 1 GiB", [frame({ opcode: OP.text, payload: text("{}"), declaredLength: 2 ** 30 })]],
      ["announced length with the top bit set", [Buffer.concat([Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1]), randomBytes(4), text("{}")])]],
      ["frame of 80 KiB", [frame({ opcode: OP.text, payload: payloadOf(80 * 1024) })]],
      ["invalid UTF-8", [frame({ opcode: OP.text, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) })]],
      ["overlong UTF-8 encoding of '/'", [frame({ opcode: OP.text, payload: Buffer.from([0xc0, 0xaf]) })]],
      ["UTF-16 surrogate encoded in UTF-8", [frame({ opcode: OP.text, payload: Buffer.from([0xed, 0xa0, 0x80]) })]],
      ["UTF-8 split badly across fragments", [frame({ opcode: OP.text, fin: false, payload: Buffer.from([0xe2, 0x82]) }), frame({ opcode: OP.cont, payload: Buffer.from([0x41]) })]],
      ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535].map((code): [string, Buffer[]] => [`close code ${code}`, [frame({ opcode: OP.close, payload: closePayload(code) })]]),
      ["close frame of 1 byte", [frame({ opcode: OP.close, payload: Buffer.from([3]) })]],
      ["close reason not UTF-8", [frame({ opcode: OP.close, payload: closePayload(1000, Buffer.from([0xff, 0xfe])) })]],
    ];
    const frameResults = await Promise.all(frames.map(([, after]) => exchange(port, handshake(), after, 5000)));
    frames.forEach(([name], i) => {
      const r = frameResults[i] as Exchange;
      expect({ name, status: r.status, ended: r.ended }).toEqual({ name, status: 101, ended: true });
    });

    // In-protocol abuse that earns error envelopes and then a close: binary frames, a frame
    // above the protocol limit (but under the hard one), a ping flood (answered, harmless).
    const softer = await Promise.all([
      exchange(port, handshake(), Array.from({ length: 15 }, () => frame({ opcode: OP.binary, payload: randomBytes(32) })), 5000),
      exchange(port, handshake(), Array.from({ length: 15 }, () => frame({ opcode: OP.text, payload: payloadOf(20 * 1024) })), 5000),
      exchange(port, handshake(), [Buffer.concat(Array.from({ length: 2000 }, () => frame({ opcode: OP.ping })))], 1500),
    ]);
    expect(softer[0]?.closeCode).toBe(1003);
    expect(softer[1]?.closeCode).toBe(1009);
    expect(softer[2]?.status).toBe(101);

    // Application close codes of the client's choosing (4000-4999; uWS itself reports 1012-3999
    // as abnormal, 1006) must not mint metric series: they are counted as `other`.
    const chosen = await Promise.all(
      Array.from({ length: 40 }, (_, i) => exchange(port, handshake(), [frame({ opcode: OP.close, payload: closePayload(4000 + i * 25) })], 3000)),
    );
    expect(chosen.every((r) => r.ended)).toBe(true);

    // Random bytes, before any handshake and after a valid one.
    const random = seeded(0x5eed);
    const noise = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => exchange(port, random(16 + ((i * 97) % 4000)), [], 3000)),
      ...Array.from({ length: 40 }, (_, i) => exchange(port, handshake(), [random(2 + ((i * 131) % 3000))], 4000)),
    ]);
    for (const r of noise.slice(0, 40)) expect(r.status === undefined || r.status >= 400).toBe(true);

    const ended = await Promise.all(slow);
    expect(ended.filter((e) => !e)).toEqual([]);
    const handshakeResults = await handshaking;
    handshakes.forEach(([name], i) => {
      const r = handshakeResults[i] as Exchange;
      // Refused with a status or dropped, and gone within the bound: never upgraded.
      expect({ name, status: r.status === 101 ? 101 : "not upgraded", ended: r.ended }).toEqual({ name, status: "not upgraded", ended: true });
    });

    // Every refusal the gateway itself answered is counted: upgrade refusals by reason, 404s,
    // error envelopes by code.
    const all = [...handshakeResults, ...frameResults, ...softer, ...noise, ...chosen];
    const after = await node.checkAfter(before);
    const closeCodes = new Set([...after.text.matchAll(/^parley_connections_closed_total\{code="([^"]+)"\}/gm)].map((m) => m[1]));
    expect(closeCodes.size).toBeLessThanOrEqual(16);
    expect(after.value("parley_connections_closed_total", { code: "other" }) - before.value("parley_connections_closed_total", { code: "other" })).toBeGreaterThanOrEqual(40);
    const delta = (name: string): number => after.value(name) - before.value(name);
    const statuses = all.map((r) => r.status ?? 0);
    expect(delta("parley_upgrades_rejected_total")).toBe(statuses.filter((s) => s >= 400 && s !== 404).length);
    expect(delta("parley_http_not_found_total")).toBe(statuses.filter((s) => s === 404).length);
    const errorEnvelopes = all.flatMap((r) => r.messages).filter((m) => m.type === "error").length;
    expect(delta("parley_protocol_errors_total")).toBe(errorEnvelopes);
    expect(errorEnvelopes).toBeGreaterThan(0);
    node.checkLogs();
  });
});

/** A socket that never completes its request head; resolves whether the server ended it in time. */
function slowloris(port: number, kind: "silent" | "trickle"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const head = handshake();
    let i = 0;
    let drip: NodeJS.Timeout | undefined;
    const finish = (ended: boolean): void => {
      clearTimeout(limit);
      clearInterval(drip);
      socket.destroy();
      resolve(ended);
    };
    const limit = setTimeout(() => finish(false), 14_000);
    socket.on("error", () => undefined);
    socket.on("close", () => finish(true));
    socket.on("connect", () => {
      if (kind === "trickle") drip = setInterval(() => socket.write(head[i++ % (head.length - 4)] as string), 500);
    });
  });
}
