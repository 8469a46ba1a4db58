import type { HttpResponse } from "./uws.js";

/**
 * Reads a request body, up to `maxBytes`, then calls `done` once with it, or with `too_large`
 * as soon as it grows past the bound (the rest is not kept). uWS hands chunks that are valid only
 * during the callback, so each is copied. Register `onAborted` before calling this.
 */
export function readBody(res: HttpResponse, maxBytes: number, done: (body: Buffer | "too_large") => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    size += chunk.byteLength;
    if (size > maxBytes) {
      finished = true;
      done("too_large");
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) {
      finished = true;
      done(Buffer.concat(chunks, size));
    }
  });
}
