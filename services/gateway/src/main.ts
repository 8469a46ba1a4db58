#!/usr/bin/env node
import { createAdapters } from "./adapters/adapters.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { Gateway } from "./gateway.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { announceListening } from "./ready-signal.js";
import { loadNativeUws } from "./transport/uws.js";

/** Composition root: config -> logger -> metrics -> adapters -> domain -> transport. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley-gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.server.nodeId);
  let uws: ReturnType<typeof loadNativeUws>;
  try {
    uws = loadNativeUws();
  } catch (err) {
    log.fatal({ err }, "refusing to start");
    process.stderr.write(`parley-gateway: ${(err as Error).message}\n`);
    process.exit(3);
  }
  const metrics = createMetrics();
  const adapters = await createAdapters(config, log.child({ component: "backend" }));
  const gateway = new Gateway({ uws, config, log, metrics, adapters });
  const { port, adminPort } = await gateway.listen();
  log.info({ port, adminPort, backend: adapters.kind, guests: config.auth.guests }, "gateway listening");
  // The readiness signal for a parent process: it holds at every LOG_LEVEL, unlike the line above.
  announceListening({ nodeId: config.server.nodeId, port, adminPort, backend: adapters.kind, webApp: gateway.servesWebApp }, (err) =>
    log.warn({ err }, "could not tell the parent process that this gateway listens"),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutdown requested");
    const hardStop = setTimeout(() => {
      log.warn({ timeoutMs: config.drain.timeoutMs }, "drain timed out; exiting");
      process.exit(0);
    }, config.drain.timeoutMs);
    gateway.drain().then(
      () => {
        clearTimeout(hardStop);
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "drain failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`parley-gateway: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
