import type { HttpResponse } from "./uws.js";

/**
 * Reads a request body to its end, then calls `done` once with it, or with `too_large` when it
 * grew past `maxBytes` (what came after is counted and dropped, not kept). The body is always
 * read to its end before anyone answers: uWS would otherwise parse the unread rest of the body as
 * the next request on the connection. uWS hands chunks that are valid only during the callback,
 * so each kept one is copied. Register `onAborted` before calling this.
 */
export function readBody(res: HttpResponse, maxBytes: number, done: (body: Buffer | "too_large") => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (size <= maxBytes) chunks.push(Buffer.from(new Uint8Array(chunk)));
    else chunks.length = 0;
    if (isLast) done(size > maxBytes ? "too_large" : Buffer.concat(chunks, size));
  });
}
