import { defineConfig } from "vite";

/*
 * `vite build` writes the app to dist/, which the gateway serves at `/` (hashed files under
 * assets/ are cached for a year). `vite` (dev) proxies the socket and API to a local gateway.
 */
const gateway = process.env["PARLEY_DEV_GATEWAY"] ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: {
    proxy: {
      "/ws": { target: gateway, ws: true },
      "/api": { target: gateway },
    },
  },
});
