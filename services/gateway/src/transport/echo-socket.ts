import type { LimitsConfig } from "../config.js";
import type { HttpRequest, HttpResponse, TemplatedApp } from "./uws.js";

/** What an /echo socket carries. */
export interface EchoData {
  readonly ip: string;
}

export interface EchoHooks {
  /** The upgrade checks (UpgradeGate): identity without guest mode, limits, handshake. */
  upgrade(res: HttpResponse, req: HttpRequest, context: unknown): void;
  opened(data: EchoData): void;
  closed(data: EchoData): void;
}

/**
 * `/echo`: sends every frame straight back, text as text and binary as binary. For diagnostics
 * and for latency baselines that exclude the chat logic. Its sockets pass the same gate as chat
 * sockets and count against the node's and the address's connection limits.
 */
export function attachEcho(app: TemplatedApp, limits: LimitsConfig, hooks: EchoHooks): void {
  app.ws<EchoData>("/echo", {
    maxPayloadLength: limits.maxPayloadBytes,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: limits.maxBackpressureBytes,
    closeOnBackpressureLimit: true as unknown as number,
    upgrade: (res, req, context) => hooks.upgrade(res, req, context),
    open: (ws) => hooks.opened(ws.getUserData()),
    close: (ws) => hooks.closed(ws.getUserData()),
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary);
    },
  });
}
