import type { HttpResponse } from "./uws.js";

/** Writes a complete JSON response; call only inside a cork or synchronously in the handler. */
export function writeJson(res: HttpResponse, status: string, body: unknown): void {
  res.writeStatus(status).writeHeader("content-type", "application/json").writeHeader("cache-control", "no-store").end(JSON.stringify(body));
}

export function writeText(res: HttpResponse, status: string, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeStatus(status).writeHeader("content-type", type).end(body);
}

/**
 * Runs an async handler safely: registers `onAborted` first (uWS aborts the process when a
 * response is used after the client went away without one) and corks the final write.
 */
export function respondAsync(res: HttpResponse, produce: () => Promise<(res: HttpResponse) => void>): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  produce().then(
    (write) => {
      if (!aborted) res.cork(() => write(res));
    },
    (err: unknown) => {
      if (!aborted) res.cork(() => writeJson(res, "503 Service Unavailable", { error: "unavailable", message: String((err as Error)?.message ?? err) }));
    },
  );
}
