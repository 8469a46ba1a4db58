import { describe, expect, it } from "vitest";
import { ClientAddress } from "../../src/transport/client-address.js";
import { DeadlineSweep } from "../../src/transport/deadline-sweep.js";

describe("DeadlineSweep (token expiry, first-frame deadline)", () => {
  it("fires each item once, never early and at most one tick late; removed items never", () => {
    let now = 10_000;
    const fired: string[] = [];
    const sweep = new DeadlineSweep<string>(1000, (item) => fired.push(item), () => now);
    sweep.add("a", 11_500);
    sweep.add("b", 12_000);
    sweep.add("gone", 11_000);
    sweep.add("past", 5_000);
    sweep.remove("gone");
    now = 10_999;
    sweep.sweep();
    expect(fired).toEqual([]);
    now = 11_000;
    sweep.sweep();
    expect(fired).toEqual(["past"]);
    now = 11_999;
    sweep.sweep();
    expect(fired).toEqual(["past"]);
    now = 12_000;
    sweep.sweep();
    expect(fired).toEqual(["past", "a", "b"]);
    now = 20_000;
    sweep.sweep();
    expect(fired).toEqual(["past", "a", "b"]);
    expect(sweep.size).toBe(0);
    sweep.stop();
  });

  it("a re-added item keeps only its latest deadline", () => {
    let now = 0;
    const fired: number[] = [];
    const sweep = new DeadlineSweep<number>(100, (item) => fired.push(item), () => now);
    sweep.add(1, 100);
    sweep.add(1, 1000);
    now = 500;
    sweep.sweep();
    expect(fired).toEqual([]);
    now = 1000;
    sweep.sweep();
    expect(fired).toEqual([1]);
    sweep.stop();
  });
});

describe("ClientAddress (PARLEY_TRUSTED_PROXIES)", () => {
  it("uses the TCP peer unless it is a trusted proxy", () => {
    const none = new ClientAddress([]);
    expect(none.resolve("203.0.113.7", "198.51.100.1")).toBe("203.0.113.7");
    const trusting = new ClientAddress(["10.0.0.0/8", "127.0.0.1"]);
    expect(trusting.resolve("203.0.113.7", "198.51.100.1")).toBe("203.0.113.7");
    expect(trusting.resolve("10.1.2.3", "")).toBe("10.1.2.3");
  });

  it("takes the right-most untrusted hop: a client can prepend, never append", () => {
    const trusting = new ClientAddress(["10.0.0.0/8", "127.0.0.1"]);
    expect(trusting.resolve("10.1.2.3", "198.51.100.1")).toBe("198.51.100.1");
    expect(trusting.resolve("127.0.0.1", "1.1.1.1, 198.51.100.1, 10.9.9.9")).toBe("198.51.100.1");
    expect(trusting.resolve("::ffff:127.0.0.1", "198.51.100.2")).toBe("198.51.100.2");
    // Garbage in the header: stop at the last address that was believable.
    expect(trusting.resolve("10.1.2.3", "not-an-ip")).toBe("10.1.2.3");
    expect(trusting.resolve("10.1.2.3", "10.2.2.2, 10.3.3.3")).toBe("10.2.2.2");
  });
});
