import { createRequire } from "node:module";
import type * as UWS from "uWebSockets.js";

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from "uWebSockets.js";

/**
 * Loads uWebSockets.js and refuses the repack's silent pure-JS fallback: when the native binary
 * does not load for this Node/glibc, the package quietly returns a slow emulation instead. A
 * gateway that would run on it must not start.
 */
export function loadNativeUws(): typeof UWS {
  const require = createRequire(import.meta.url);
  const uws = require("uWebSockets.js") as typeof UWS;
  if (!isNative(uws)) {
    throw new Error(
      "uWebSockets.js native binary did not load (the pure-JS fallback is active). " +
        `Parley needs the native build for Node ${process.versions.node} (ABI ${process.versions.modules}) ` +
        `on ${process.platform}-${process.arch} with glibc >= 2.36; unset UWS_USE_FALLBACK and check the install.`,
    );
  }
  return uws;
}

export function isNative(uws: typeof UWS): boolean {
  return String(uws.App).includes("[native code]");
}
