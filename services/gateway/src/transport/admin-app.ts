import type { Registry } from "prom-client";
import { respondAsync, writeJson } from "./http-util.js";
import type { TemplatedApp } from "./uws.js";

/** The admin port: Prometheus metrics only. Never exposed through the load balancer. */
export function attachAdminRoutes(app: TemplatedApp, registry: Registry): void {
  app.get("/metrics", (res) =>
    respondAsync(res, async () => {
      const body = await registry.metrics();
      return (r) => {
        r.writeStatus("200 OK").writeHeader("content-type", registry.contentType).end(body);
      };
    }),
  );
  app.any("/*", (res) => writeJson(res, "404 Not Found", { error: "not_found" }));
}
