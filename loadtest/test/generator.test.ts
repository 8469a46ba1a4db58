import { afterAll, describe, expect, it } from "vitest";
import { connectionHold, dmPingPong, fanoutLadder, type FanoutSettings } from "../dist/src/scenarios.js";
import type { SystemOptions } from "../dist/src/systems.js";

/*
 * The Node load generator's scenarios, at toy sizes, against real processes: 3 gateways on a
 * redis-server of their own (and the two peers). Numbers are not judged here (the machine is
 * shared); what must hold is the protocol side: every message delivered, in order, acknowledged,
 * no errors.
 */
const options: SystemOptions = { nodes: 3, gatewayEnv: {}, cpuProfileDir: undefined };
const lines: string[] = [];
const log = (line: string): void => void lines.push(line);
const settings: FanoutSettings = {
  rooms: 4,
  members: 10,
  senders: 2,
  textBytes: 200,
  stepMs: 1000,
  drainMs: 3000,
  rates: [400, 800],
  // Latency is not what this test checks: a busy CI machine must not fail it.
  p99LimitMs: 60_000,
  workers: 2,
  opensPerSecond: 500,
};

afterAll(() => {
  if (process.env["LOADTEST_VERBOSE"] === "1") console.log(lines.join("\n"));
});

describe("load generator against real servers", () => {
  it("room fan-out on Parley: every message delivered to every member, in order, acked", async () => {
    const result = await fanoutLadder("parley", options, settings, `t${Date.now().toString(36)}`, log);
    expect(result.connections).toBe(40);
    expect(result.steps).toHaveLength(2);
    for (const step of result.steps) {
      expect(step.errors).toEqual({});
      expect(step.gaps).toBe(0);
      expect(step.duplicates).toBe(0);
      expect(step.unacked).toBe(0);
      expect(step.sends).toBeGreaterThan(0);
      expect(step.deliveries).toBe(step.sends * settings.members);
      expect(step.fanout.count).toBe(step.deliveries);
      expect(step.ack.count).toBe(step.sends);
      expect(step.usage.find((u) => u.label === "gateway-1")?.rssMaxBytes).toBeGreaterThan(0);
    }
    expect(result.sustainedOffered).toBe(800);
  });

  it.each(["socketio", "uws-limit"] as const)("room fan-out on the %s peer through the same clients", async (system) => {
    const result = await fanoutLadder(system, options, { ...settings, rates: [400] }, `t${Date.now().toString(36)}`, log);
    const step = result.steps[0];
    expect(step?.errors).toEqual({});
    expect(step?.gaps).toBe(0);
    expect(step?.unacked).toBe(0);
    expect(step?.deliveries).toBe((step?.sends ?? -1) * settings.members);
  });

  it("connection ramp and hold: idle connections, RSS per node, growth to a total", async () => {
    const result = await connectionHold("parley", options, { perNode: 50, total: 200, holdMs: 500, opensPerSecond: 500, settleMs: 200 }, `t${Date.now().toString(36)}`, log);
    expect(result.totalReady).toBe(200);
    expect(result.openErrors).toEqual({});
    expect(result.holdErrors).toEqual({});
    expect(result.memory).toHaveLength(3);
  });

  it("DM ping-pong: round trips across two gateways", async () => {
    const result = await dmPingPong(options, 4, 1000, `t${Date.now().toString(36)}`, log);
    expect(result.errors).toEqual({});
    expect(result.roundTrips).toBeGreaterThan(4);
    expect(result.unacked).toBe(0);
  });
});
