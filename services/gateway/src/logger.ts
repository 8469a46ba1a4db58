import { pino, type Logger } from "pino";

export type { Logger };

/** The one root logger; components take children with their own bindings. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { node: nodeId },
    // Tokens travel in the upgrade query string; never let one reach a log line.
    redact: { paths: ["token", "*.token", "query.token", "req.query.token", "headers.authorization"], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
