import type { LimitsConfig } from "../config.js";
import type { TemplatedApp } from "./uws.js";

/**
 * `/echo`: sends every frame straight back, text as text and binary as binary. For diagnostics
 * and for latency baselines that exclude the chat logic.
 */
export function attachEcho(app: TemplatedApp, limits: LimitsConfig): void {
  app.ws("/echo", {
    maxPayloadLength: limits.maxPayloadBytes,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: limits.maxBackpressureBytes,
    closeOnBackpressureLimit: true as unknown as number,
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary);
    },
  });
}
