import {
  API_KEY_HEADER,
  ApiErrorCode,
  MAX_API_BODY_BYTES,
  SERVER_API_PREFIX,
  decodeServerBody,
  serverApiDocument,
  serverOperations,
  type ServerOperationName,
} from "@parley/protocol";
import type { Logger } from "pino";
import type { ServerApiConfig } from "../config.js";
import { NotReplicatedError, type RateBucket } from "../domain/ports.js";
import { OperationError, type ServerOps } from "../domain/server-ops.js";
import type { SharedLimits } from "../domain/shared-limits.js";
import type { Metrics } from "../metrics.js";
import { ApiKeys, presentedKey } from "./api-keys.js";
import { readBody } from "./request-body.js";
import type { HttpResponse, TemplatedApp } from "./uws.js";

export interface ServerApiDeps {
  readonly ops: ServerOps;
  readonly config: ServerApiConfig;
  readonly shared: SharedLimits;
  readonly metrics: Metrics;
  readonly log: Logger;
}

const STATUS: Record<ApiErrorCode, string> = {
  unauthorized: "401 Unauthorized",
  bad_request: "400 Bad Request",
  too_large: "400 Bad Request",
  not_found: "404 Not Found",
  unknown_room: "404 Not Found",
  unknown_user: "404 Not Found",
  not_member: "404 Not Found",
  forbidden: "403 Forbidden",
  method_not_allowed: "405 Method Not Allowed",
  rate_limited: "429 Too Many Requests",
  unavailable: "503 Service Unavailable",
};

type Handler = (ops: ServerOps, body: never) => Promise<unknown>;

/** Each operation's domain call; the body reaching it has passed the operation's schema. */
const HANDLERS: Record<ServerOperationName, Handler> = {
  publish: (ops, body) => ops.publish(body),
  broadcast: (ops, body) => ops.broadcast(body),
  dm: (ops, body) => ops.dm(body),
  disconnect: (ops, body) => ops.disconnect(body),
  remove_member: (ops, body) => ops.removeMember(body),
  revoke: (ops, body) => ops.revoke(body),
  online: (ops) => ops.online(),
  presence: (ops, body) => ops.presence(body),
  room: (ops, body) => ops.room(body),
  history: (ops, body) => ops.history(body),
  conversations: (ops, body) => ops.conversations(body),
  dead_letters: (ops, body) => ops.deadLetters(body),
  replay_dead_letters: (ops, body) => ops.replayDeadLetters(body),
};

/**
 * The server API (`POST /server/v1/<operation>`): another transport over the chat domain, for an
 * application's backend. Order of checks: API key (401), body size (400 too_large), the key's
 * cluster-wide rate bucket (429), JSON and the operation's schema (400, with the schema's reason),
 * then the operation (404 for an unknown room or user; 503 when Redis cannot answer).
 * `GET /server/v1/openapi.json` serves the OpenAPI document, generated from the same schemas.
 */
export function attachServerApi(app: TemplatedApp, deps: ServerApiDeps): void {
  const keys = new ApiKeys(deps.config.keys);
  const bucket: RateBucket | undefined =
    deps.config.ratePerSecond > 0 ? { name: "api", ratePerSecond: deps.config.ratePerSecond, burst: deps.config.burst } : undefined;
  const document = JSON.stringify(serverApiDocument());

  app.get(`${SERVER_API_PREFIX}openapi.json`, (res) => {
    res.writeStatus("200 OK").writeHeader("content-type", "application/json").end(document);
  });

  for (const name of Object.keys(serverOperations) as ServerOperationName[]) {
    const count = (outcome: string): void => deps.metrics.serverApiRequests.inc({ operation: name, outcome });
    app.post(`${SERVER_API_PREFIX}${name}`, (res, req) => {
      // HttpRequest dies when this function returns: copy everything now.
      const presented = presentedKey(req.getHeader(API_KEY_HEADER), req.getHeader("authorization"));
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      readBody(res, MAX_API_BODY_BYTES, (body) => {
        if (aborted) return;
        const started = performance.now();
        answer(name, presented, body).then(
          ([code, result]) => {
            count(code === undefined ? "ok" : code);
            deps.metrics.serverApiDuration.observe({ operation: name }, (performance.now() - started) / 1000);
            if (aborted) return;
            res.cork(() => {
              if (code === undefined) writeJson(res, "200 OK", result);
              else writeJson(res, STATUS[code], result);
            });
          },
          (err: unknown) => {
            // `answer` maps every failure to a code; reaching here is a bug, still answered.
            deps.log.error({ err, operation: name }, "server API handler failed");
            count(ApiErrorCode.unavailable);
            if (!aborted) res.cork(() => writeJson(res, STATUS.unavailable, { error: ApiErrorCode.unavailable, message: "internal error" }));
          },
        );
      });
    });
  }

  // Anything else under the prefix: a coded 404, or 405 for an operation asked with another method.
  app.any(`${SERVER_API_PREFIX}*`, (res, req) => {
    const operation = req.getUrl().slice(SERVER_API_PREFIX.length);
    const hasBody = req.getHeader("transfer-encoding") !== "" || !/^0?$/.test(req.getHeader("content-length"));
    const respond = (): void => {
      if (Object.hasOwn(serverOperations, operation)) {
        deps.metrics.serverApiRequests.inc({ operation, outcome: ApiErrorCode.methodNotAllowed });
        res.writeStatus(STATUS.method_not_allowed).writeHeader("allow", "POST");
        writeJson(res, undefined, { error: ApiErrorCode.methodNotAllowed, message: `${operation} takes POST` });
        return;
      }
      deps.metrics.serverApiRequests.inc({ operation: "other", outcome: ApiErrorCode.notFound });
      writeJson(res, STATUS.not_found, { error: ApiErrorCode.notFound, message: `no operation ${operation.slice(0, 64)}; see ${SERVER_API_PREFIX}openapi.json` });
    };
    if (!hasBody) return respond();
    // Read (and drop) the body first, so its bytes are not taken for the next request.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    readBody(res, 0, () => {
      if (!aborted) res.cork(respond);
    });
  });

  /** Runs one request to its answer: [undefined, result] on success, [code, error body] otherwise. */
  async function answer(name: ServerOperationName, presented: string, body: Buffer | "too_large"): Promise<[ApiErrorCode | undefined, unknown]> {
    const refuse = (code: ApiErrorCode, message: string): [ApiErrorCode, unknown] => [code, { error: code, message }];
    if (!keys.enabled) return refuse(ApiErrorCode.notFound, "the server API is off: set PARLEY_API_KEYS");
    const keyId = presented === "" ? undefined : keys.match(presented);
    if (keyId === undefined) {
      deps.metrics.apiRejected.inc({ reason: "auth" });
      return refuse(ApiErrorCode.unauthorized, presented === "" ? `pass an API key: ${API_KEY_HEADER}: <key>` : "not a valid API key");
    }
    if (body === "too_large") return refuse(ApiErrorCode.tooLarge, `the body is larger than ${MAX_API_BODY_BYTES} bytes`);
    if (bucket !== undefined && !(await deps.shared.allow(bucket, keyId))) return refuse(ApiErrorCode.rateLimited, "too many requests for this API key; retry later");
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      return refuse(ApiErrorCode.badRequest, "the body is not valid JSON");
    }
    const decoded = decodeServerBody(name, value);
    if (!decoded.ok) return refuse(ApiErrorCode.badRequest, decoded.message);
    try {
      return [undefined, await HANDLERS[name](deps.ops, decoded.value as never)];
    } catch (err) {
      if (err instanceof OperationError) return refuse(err.code, err.message);
      if (err instanceof NotReplicatedError) deps.metrics.replicationWaitFailures.inc();
      else deps.metrics.relayErrors.inc({ op: "server_api" });
      deps.log.warn({ err, operation: name }, "server API operation failed on the backend");
      return refuse(ApiErrorCode.unavailable, "the message service is unavailable; retry shortly (with the same idempotency key)");
    }
  }
}

/** A JSON response; `status` undefined when the caller already wrote it (and its headers). */
function writeJson(res: HttpResponse, status: string | undefined, body: unknown): void {
  if (status !== undefined) res.writeStatus(status);
  res.writeHeader("content-type", "application/json").writeHeader("cache-control", "no-store").end(JSON.stringify(body));
}
