import type { ClientEnvelope, ServerEnvelope } from "./envelopes.js";

/**
 * Envelopes are plain JSON objects; encoding is `JSON.stringify`. These helpers exist so that
 * callers state which direction they encode and the compiler checks the envelope's shape.
 */
export function encodeServer(envelope: ServerEnvelope): string {
  return JSON.stringify(envelope);
}

export function encodeClient(envelope: ClientEnvelope): string {
  return JSON.stringify(envelope);
}
