import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GatewayProcess } from "../support/gateway-process.js";
import { TestClient, type Received } from "../support/test-client.js";

/*
 * Bad input of every class gets its error code, or a close with the proper code after repeated
 * abuse, and is counted; the node and the other users in the same room carry on (DESIGN
 * guarantee 8). Each case uses a fresh offender; alice and bob chat in the same room throughout.
 */

const MAX_PAYLOAD = 1024;
const ROOM = "calm";

describe("bad input on one gateway", () => {
  let gw: GatewayProcess;
  let alice: TestClient;
  let bob: TestClient;
  const offenders: TestClient[] = [];
  let seq = 0;

  beforeAll(async () => {
    gw = await GatewayProcess.start({ env: { PARLEY_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD) } });
    alice = await TestClient.connect(gw.url, { name: "alice" });
    bob = await TestClient.connect(gw.url, { name: "bob" });
    await alice.join(ROOM);
    await bob.join(ROOM);
  });
  afterEach(async () => {
    for (const o of offenders.splice(0)) o.terminate();
    await bystandersStillChat();
  });
  afterAll(async () => {
    alice.terminate();
    bob.terminate();
    await gw.stop("SIGTERM");
  });

  /** The node answers and two other users in the offender's room still chat both ways. */
  async function bystandersStillChat(): Promise<void> {
    expect(gw.alive).toBe(true);
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    const a = `a-${++seq}`;
    const b = `b-${seq}`;
    expect(await alice.post(ROOM, "still here?", a)).toMatchObject({ type: "ack" });
    expect(await bob.post(ROOM, "yes", b)).toMatchObject({ type: "ack" });
    await bob.next((m) => m.type === "msg" && m.cid === a);
    await alice.next((m) => m.type === "msg" && m.cid === b);
    expect(alice.closeCode).toBeUndefined();
    expect(bob.closeCode).toBeUndefined();
  }

  /**
   * A fresh offender in the room. A connection may make 10 mistakes in a burst (then it is
   * closed), so a case that sends more bad frames spreads them over several offenders.
   */
  async function join(name: string): Promise<TestClient> {
    const client = await TestClient.connect(gw.url, { name });
    offenders.push(client);
    await client.join(ROOM);
    return client;
  }

  /** Sends one raw frame and returns the error envelope it earned. */
  async function errorFor(client: TestClient, frame: string | Buffer, binary = false): Promise<Received> {
    const from = client.received.length;
    client.sendRaw(frame, binary);
    return client.next((m) => client.received.indexOf(m) >= from && m.type === "error");
  }

  /** The connection still serves valid requests after a single mistake. */
  async function stillServed(client: TestClient): Promise<void> {
    const from = client.received.length;
    client.send({ type: "presence", room: ROOM });
    await client.next((m) => client.received.indexOf(m) >= from && m.type === "presence");
    expect(client.closeCode).toBeUndefined();
  }

  const errors = (code: string): Promise<number> => gw.metric("parley_protocol_errors_total", { code });
  const closes = (code: number): Promise<number> => gw.metric("parley_connections_closed_total", { code: String(code) });

  it("malformed JSON gets bad_json", async () => {
    const client = await join("sloppy");
    const before = await errors("bad_json");
    for (const frame of ["{not json", "", '{"type":"send"', "\u0000"]) {
      expect(await errorFor(client, frame)).toMatchObject({ type: "error", code: "bad_json" });
    }
    expect(await errors("bad_json")).toBe(before + 4);
    await stillServed(client);
  });

  it("wrong types, missing fields, extra fields and non-objects get bad_request", async () => {
    const before = await errors("bad_request");
    const frames = [
      { type: "send", room: ROOM, text: 42, cid: "c1" },
      { type: "send", room: ROOM, cid: "c2" },
      { type: "send", room: ROOM, text: "", cid: "c3" },
      { type: "join", room: ROOM, admin: true },
      { type: "join", room: ROOM, since: { epoch: "e", offset: -1 } },
      { type: "history", room: ROOM, limit: 0 },
      { type: 7 },
      { room: ROOM },
    ];
    const careless = await join("careless");
    const sent: Received[] = [];
    for (const frame of frames) sent.push(await errorFor(careless, JSON.stringify(frame)));
    const confused = await join("confused");
    for (const frame of ["[1,2]", "null", "42", '"join"']) sent.push(await errorFor(confused, frame));
    expect(sent.map((e) => e.code)).toEqual(Array(frames.length + 4).fill("bad_request"));
    // The error names what it refers to, so a client can match it to its request.
    expect(sent[0]).toMatchObject({ ref: "c1", room: ROOM });
    expect(await errors("bad_request")).toBe(before + frames.length + 4);
    await stillServed(careless);
    await stillServed(confused);
  });

  it("an unknown type gets unknown_type", async () => {
    const client = await join("curious");
    const before = await errors("unknown_type");
    expect(await errorFor(client, JSON.stringify({ type: "shout", room: ROOM }))).toMatchObject({ code: "unknown_type" });
    expect(await errorFor(client, JSON.stringify({ type: "__proto__" }))).toMatchObject({ code: "unknown_type" });
    expect(await errorFor(client, JSON.stringify({ type: "constructor" }))).toMatchObject({ code: "unknown_type" });
    expect(await errors("unknown_type")).toBe(before + 3);
    await stillServed(client);
  });

  it("hostile room, user and cid values get bad_request", async () => {
    const before = await errors("bad_request");
    const rooms = ["a\u0000b", "a\nb", "evil\u202Eroom", "{calm}", "x".repeat(200), "dm:alice", "dm:a:b:c", "caf\u00e9", " calm", "@online"];
    const hostile = await join("hostile");
    for (const room of rooms.slice(0, 5)) {
      const error = await errorFor(hostile, JSON.stringify({ type: "join", room }));
      expect({ room, code: error.code }).toEqual({ room, code: "bad_request" });
    }
    const sneaky = await join("sneaky");
    for (const room of rooms.slice(5)) {
      const error = await errorFor(sneaky, JSON.stringify({ type: "join", room }));
      expect({ room, code: error.code }).toEqual({ room, code: "bad_request" });
    }
    expect(await errorFor(hostile, JSON.stringify({ type: "dm", to: "bob\u202E", text: "hi", cid: "d1" }))).toMatchObject({ code: "bad_request" });
    expect(await errorFor(hostile, JSON.stringify({ type: "send", room: ROOM, text: "hi", cid: "has space" }))).toMatchObject({ code: "bad_request" });
    expect(await errors("bad_request")).toBe(before + rooms.length + 2);
    await stillServed(hostile);
    await stillServed(sneaky);
  });

  it("a binary frame gets binary_unsupported; repeated ones close with 1003", async () => {
    const client = await join("binary");
    const before = { errors: await errors("binary_unsupported"), closes: await closes(1003) };
    expect(await errorFor(client, Buffer.from([1, 2, 3]), true)).toMatchObject({ code: "binary_unsupported" });
    await stillServed(client);
    for (let i = 0; i < 30; i++) client.sendRaw(Buffer.from([i]), true);
    expect(await client.waitClosed()).toBe(1003);
    expect(await closes(1003)).toBe(before.closes + 1);
    expect(await errors("binary_unsupported")).toBeGreaterThan(before.errors + 1);
  });

  it("a frame over PARLEY_MAX_PAYLOAD_BYTES gets too_large; repeated ones close with 1009", async () => {
    const client = await join("verbose");
    const before = { errors: await errors("too_large"), closes: await closes(1009) };
    const big = JSON.stringify({ type: "send", room: ROOM, text: "x".repeat(MAX_PAYLOAD), cid: "big" });
    expect(big.length).toBeLessThan(MAX_PAYLOAD * 4);
    expect(await errorFor(client, big)).toMatchObject({ code: "too_large" });
    await stillServed(client);
    // Nothing of it was stored or relayed.
    expect(bob.messages(ROOM).some((m) => m.cid === "big")).toBe(false);
    for (let i = 0; i < 30; i++) client.sendRaw(big);
    expect(await client.waitClosed()).toBe(1009);
    expect(await closes(1009)).toBe(before.closes + 1);
    expect(await errors("too_large")).toBeGreaterThan(before.errors + 1);
  });

  it("a frame beyond 4x the limit drops the connection at once (uWS hard limit)", async () => {
    const client = await join("huge");
    const before = await closes(1006);
    client.sendRaw("x".repeat(MAX_PAYLOAD * 4 + 1));
    // uWS closes the TCP connection without a close frame: the client sees 1006.
    expect(await client.waitClosed()).toBe(1006);
    expect(await closes(1006)).toBe(before + 1);
  });

  it("a text frame that is not UTF-8 drops the connection", async () => {
    const client = await join("garbled");
    client.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    // uWS validates text frames itself and drops the connection (no close frame).
    expect(await client.waitClosed()).toBe(1006);
  });

  it("a flood beyond PARLEY_RATE_PER_SECOND gets rate_limited, then a close with 1008, all counted", async () => {
    const client = await join("flooder");
    const burst = Number((client.welcome.limits as { burst: number }).burst);
    const before = { limited: await gw.metric("parley_rate_limited_total"), errors: await errors("rate_limited"), closes: await closes(1008) };
    for (let i = 0; i < burst + 60; i++) client.send({ type: "send", room: ROOM, text: `spam ${i}`, cid: `f${i}` });
    expect(await client.waitClosed()).toBe(1008);

    const acks = client.received.filter((m) => m.type === "ack");
    const limited = client.received.filter((m) => m.type === "error" && m.code === "rate_limited");
    // The bucket starts full (less the join); it refills slowly, so well short of the flood.
    expect(acks.length).toBeGreaterThanOrEqual(burst - 1);
    expect(acks.length).toBeLessThan(burst + 20);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ ref: expect.stringMatching(/^f\d+$/) as unknown, room: ROOM });
    expect(await gw.metric("parley_rate_limited_total")).toBe(before.limited + limited.length);
    expect(await errors("rate_limited")).toBe(before.errors + limited.length);
    expect(await closes(1008)).toBe(before.closes + 1);
    // What was accepted before the limit reached the room, in order; nothing after it did.
    const last = acks[acks.length - 1] as Received;
    await bob.next((m) => m.type === "msg" && m.cid === last.cid);
    const fromFlooder = bob.messages(ROOM).filter((m) => m.from === "flooder");
    expect(fromFlooder.map((m) => m.cid)).toEqual(acks.map((a) => a.cid));
  });

  it("repeated forbidden requests close with 1008", async () => {
    const client = await join("snoop");
    for (let i = 0; i < 30; i++) client.send({ type: "history", room: "dm:alice:bob" });
    expect(await client.waitClosed()).toBe(1008);
    expect(client.received.filter((m) => m.type === "error").every((m) => m.code === "forbidden")).toBe(true);
  });
});
