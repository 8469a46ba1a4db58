/*
 * The web-platform globals this package uses, which every JavaScript runtime it targets has
 * (Node 20, browsers, web workers, Deno, Bun, edge runtimes): the WHATWG Encoding API. They are
 * declared here, as narrowly as the package uses them, instead of loading Node's or the DOM's
 * types, so that the compiler rejects any other host API (`Buffer`, `process`, `window`, ...).
 */

interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

declare class TextDecoder {
  constructor(label?: string, options?: TextDecoderOptions);
  /** Throws a TypeError on malformed input when constructed with `fatal: true`. */
  decode(input?: Uint8Array): string;
}

declare class TextEncoder {
  constructor();
  encode(input?: string): Uint8Array;
}
