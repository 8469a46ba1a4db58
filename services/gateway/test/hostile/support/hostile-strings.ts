import fc from "fast-check";

/*
 * Strings built to break renderers, logs and naive object lookups. Used as names (which must be
 * refused or work normally) and as message texts (which must round-trip byte for byte).
 */

/** Grapheme clusters and characters that renderers and terminals handle badly. */
export const NASTY_TEXTS: readonly string[] = [
  "\u0000\u0001\u0007\u0008\u001b[31mred\u001b[0m\u007f",
  "line one\r\nline two\n\u2028\u2029",
  '\r\n{"level":60,"msg":"forged log line"}\n',
  "\u202Eevil\u202C \u2066isolate\u2069 \u200F\u200E",
  "zero\u200Bwidth\u200C\u200D\uFEFF",
  `e${"\u0301".repeat(3000)}`,
  "👨‍👩‍👧‍👦".repeat(300),
  "🏳️‍🌈🇺🇳🧑🏽‍🚀",
  "Z̷̧̛̛̖͓͙̰̙͈̰̗̝͍̤̦̥̘̹̆̐̆͌̊͛͐̅̒̊̆̾͘͘͝A̴̢̞̩̯̣̘̙̬̪͖̫͛̅̎L̸̩͙̏̾̊̄͌G̵͓͍͕̙̟͋Ờ̶̮̩̓͗̒̓̒͂̀",
  "\uD800 lone high, lone low \uDC00",
  "__proto__",
  '{"__proto__":{"polluted":true}}',
  "constructor.prototype.polluted=1",
  "<script>alert(1)</script><img src=x onerror=alert(1)>",
  "${jndi:ldap://127.0.0.1/x} {{7*7}} %s%s%n %x",
  "'; DROP TABLE messages; --",
  "\\u0000 \\x00 \\n (escaped, not real)",
  "x".repeat(4000),
];

/** Names that look like object keys or are otherwise awkward, but are valid user/room names. */
export const VALID_AWKWARD_NAMES: readonly string[] = ["constructor", "toString", "hasOwnProperty", "prototype", "valueOf", "isPrototypeOf", "then", "null", "undefined", "NaN", "0"];

/** Names that must be refused everywhere (upgrade 400, `bad_request` in envelopes). */
export const INVALID_NAMES: readonly string[] = [
  "__proto__",
  "_admin",
  "a\u0000b",
  "a\nb",
  "a b",
  "evil\u202Eroom",
  "zero\u200Bwidth",
  "caf\u00e9",
  "e\u0301",
  "😀",
  "{tag}",
  "dm:x",
  "@online",
  "x".repeat(65),
  "",
];

/** Any string, tilted towards the nasty ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_TEXTS, ...INVALID_NAMES, ...VALID_AWKWARD_NAMES) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 50 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/) },
);
