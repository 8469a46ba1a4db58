/*
 * Delivery latency: the sender writes the time it meant to send (ms since the Unix epoch, with a
 * fraction where its clock has one) at the start of the message text; every receiver subtracts it
 * from its own clock. Senders and receivers run on one machine, so one wall clock serves both.
 * The server's own `ts` (ms, stamped at acceptance) is the fallback for texts without a stamp.
 */

const MARK = "@";
const FILL = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A message text of exactly `length` characters (ASCII) that starts with `@<sentAtMs> `, or just
 * the stamp when `length` is shorter.
 */
export function stampedText(sentAtMs: number, length: number): string {
  const head = `${MARK}${sentAtMs.toFixed(3)} `;
  if (head.length >= length) return head.trimEnd();
  let body = "";
  while (body.length < length - head.length) body += FILL;
  return head + body.slice(0, length - head.length);
}

/** The stamp of a text written by `stampedText`, or undefined. */
export function readStamp(text: string): number | undefined {
  if (!text.startsWith(MARK)) return undefined;
  const end = text.indexOf(" ");
  const value = Number(end < 0 ? text.slice(1) : text.slice(1, end));
  return Number.isFinite(value) ? value : undefined;
}

const TEXT_KEY = `"text":"${MARK}`;

/**
 * The sender's stamp read straight out of a `msg` frame (the JSON text, or any framing around
 * it), without parsing the frame: the gateway relays the text unchanged, and a stamp is digits
 * and a dot, which JSON never escapes.
 */
export function frameStamp(frame: string): number | undefined {
  const at = frame.indexOf(TEXT_KEY);
  if (at < 0) return undefined;
  const start = at + TEXT_KEY.length;
  let end = start;
  for (; end < frame.length; end++) {
    const c = frame.charCodeAt(end);
    if (c !== 46 && (c < 48 || c > 57)) break;
  }
  if (end === start) return undefined;
  const value = Number(frame.slice(start, end));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Milliseconds from the sender's stamp (or, without one, the server's `ts`) to `nowMs`; undefined
 * when the frame carries neither.
 */
export function deliveryLatencyMs(frame: string, nowMs: number): number | undefined {
  const sent = frameStamp(frame);
  if (sent !== undefined) return Math.max(0, nowMs - sent);
  const match = /"ts":(\d+)/.exec(frame);
  return match?.[1] !== undefined ? Math.max(0, nowMs - Number(match[1])) : undefined;
}
