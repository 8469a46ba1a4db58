/*
 * Pieces of JSON text for the hand-written encoders (encode.ts). Each returns exactly what
 * `JSON.stringify` returns for the same value, so a frame built from them is byte-for-byte the
 * frame `JSON.stringify` would write for an object with the same keys in the same order.
 */

/**
 * Strings that `JSON.stringify` writes between quotes unchanged: no `"`, no `\`, no control
 * character (U+0000–U+001F) and no lone surrogate. Read as: a run of ordinary code units, then
 * any number of (high surrogate, low surrogate, run of ordinary code units), so an emoji's
 * surrogate pair passes and an unpaired half does not. U+007F, U+2028 and U+2029 are not escaped
 * by `JSON.stringify` either. (This is `/^[^"\\\u0000-\u001f\ud800-\udfff]*$/u`, spelled out
 * without the `u` flag, which V8 runs slower.) Names (rooms, users, cids) always pass, since
 * their grammar is a small ASCII alphabet (names.ts); message text usually does. Testing costs
 * about half of what escaping does.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*(?:[\ud800-\udbff][\udc00-\udfff][^"\\\u0000-\u001f\ud800-\udfff]*)*$/;

/** `JSON.stringify(s)`, without its escaping pass when `s` needs none. */
export function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * `JSON.stringify(n)`: the shortest round-trip decimal, or `null` for NaN and ±Infinity.
 *
 * An integer beyond 32 bits (a millisecond timestamp) is not a V8 small integer, so printing it
 * takes the general double-to-decimal path, which costs several times what printing two small
 * integers does: such integers are printed as millions and a zero-padded remainder.
 */
export function jsonNumber(n: number): string {
  if (n >= 0x8000_0000 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
    // Exact: n / 1e6 is below 2^34, where doubles are at most 2^-19 apart, so the division rounds
    // by under 1e-6; a quotient that is not an integer is at least 1e-6 below the next integer.
    const high = Math.floor(n / 1e6);
    const low = n - high * 1e6;
    return `${high}${low < 10 ? "00000" : low < 100 ? "0000" : low < 1000 ? "000" : low < 10_000 ? "00" : low < 100_000 ? "0" : ""}${low}`;
  }
  return Number.isFinite(n) ? `${n}` : "null";
}
