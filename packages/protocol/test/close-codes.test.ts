import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CloseCode, shouldReconnect } from "../src/index.js";

/**
 * What a client must do after each code Parley names. Typed as a total record, so a new close
 * code does not compile until someone decides here whether clients reconnect after it.
 */
const expected: Record<keyof typeof CloseCode, boolean> = {
  normal: false,
  goingAway: true,
  protocolError: false,
  unsupportedData: false,
  noStatus: true,
  abnormal: true,
  invalidPayload: false,
  policyViolation: false,
  messageTooBig: false,
  internalError: true,
  serviceRestart: true,
  tryAgainLater: true,
  tokenExpired: true,
  serverDisconnect: true,
  forbidden: false,
  serverTerminate: false,
  nameTaken: false,
};

describe("shouldReconnect", () => {
  it.each(Object.entries(expected))("%s", (name, reconnect) => {
    const code = CloseCode[name as keyof typeof CloseCode];
    expect(shouldReconnect(code)).toBe(reconnect);
  });

  it("uses the documented numbers", () => {
    expect(CloseCode).toMatchObject({
      goingAway: 1001,
      unsupportedData: 1003,
      policyViolation: 1008,
      messageTooBig: 1009,
      tryAgainLater: 1013,
      tokenExpired: 4001,
      serverDisconnect: 4002,
      forbidden: 4503,
      serverTerminate: 4504,
    });
  });

  it("Parley's own codes sit in the range that matches their meaning", () => {
    for (const code of Object.values(CloseCode)) {
      if (code >= 4000 && code <= 4499) expect(shouldReconnect(code)).toBe(true);
      if (code >= 4500 && code <= 4999) expect(shouldReconnect(code)).toBe(false);
    }
  });

  it("reconnects after 1005 (no status) and 1014 (bad gateway), which are observed, not sent", () => {
    expect(shouldReconnect(1005)).toBe(true);
    expect(shouldReconnect(1014)).toBe(true);
  });

  it.each([1000, 1002, 1003, 1004, 1007, 1008, 1009, 1010, 1015, 2999, 3000, 3999])(
    "gives up after RFC or registered code %i",
    (code) => {
      expect(shouldReconnect(code)).toBe(false);
    },
  );

  it("reconnects for every code in 4000-4499", () => {
    fc.assert(fc.property(fc.integer({ min: 4000, max: 4499 }), (code) => shouldReconnect(code)));
    expect(shouldReconnect(4000)).toBe(true);
    expect(shouldReconnect(4499)).toBe(true);
  });

  it("gives up for every code in 4500-4999", () => {
    fc.assert(fc.property(fc.integer({ min: 4500, max: 4999 }), (code) => !shouldReconnect(code)));
    expect(shouldReconnect(4500)).toBe(false);
    expect(shouldReconnect(4999)).toBe(false);
  });

  it("gives up for codes outside every range", () => {
    for (const code of [-1, 0, 999, 5000, 65535, Number.NaN]) expect(shouldReconnect(code)).toBe(false);
  });
});
