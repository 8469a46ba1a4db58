import type { TSchema } from "@sinclair/typebox";
import { API_KEY_HEADER, ApiError, SERVER_API_PREFIX, serverOperations, type ServerOperation } from "./server-api.js";

/** A TypeBox schema as plain JSON (TypeBox marks its objects with symbols JSON cannot carry). */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/ApiError" } } },
});

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_m: string, _sep: string, c: string) => c.toUpperCase());
}

function operationPaths(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(serverOperations) as [string, ServerOperation][]) {
    const responses: Record<string, unknown> = {
      "200": { description: "Done", content: { "application/json": { schema: { $ref: `#/components/schemas/${pascal(name)}Result` } } } },
      "400": errorResponse("The body is not JSON, too large, or does not match the schema (`bad_request`, `too_large`)"),
      "401": errorResponse("No API key, or not a configured one (`unauthorized`)"),
      "405": errorResponse("Operations take POST (`method_not_allowed`)"),
      "429": errorResponse("This key's rate limit is exhausted (`rate_limited`)"),
      "503": errorResponse("Redis is unreachable; nothing was stored (`unavailable`)"),
    };
    if (op.forbidden === true) responses["403"] = errorResponse("A DM room takes messages from its two users or the system (`forbidden`)");
    if (op.notFound) responses["404"] = errorResponse("Unknown room or user (`unknown_room`, `unknown_user`, `not_member`)");
    paths[`${SERVER_API_PREFIX}${name}`] = {
      post: {
        operationId: name,
        summary: op.summary,
        security: [{ apiKey: [] }, { bearer: [] }],
        requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${pascal(name)}Body` } } } },
        responses,
      },
    };
  }
  return paths;
}

function componentSchemas(): Record<string, unknown> {
  const schemas: Record<string, unknown> = { ApiError: plain(ApiError) };
  for (const [name, op] of Object.entries(serverOperations) as [string, ServerOperation][]) {
    schemas[`${pascal(name)}Body`] = plain(op.body);
    schemas[`${pascal(name)}Result`] = plain(op.result);
  }
  return schemas;
}

/**
 * The server API as an OpenAPI 3.1 document, generated from the same schemas the gateway
 * validates request bodies with (server-api.ts). The gateway serves it at
 * `/server/v1/openapi.json`; a committed copy (openapi.json) is checked against it by a test.
 */
export function serverApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Parley server API",
      version: "1.0.0",
      description:
        "What an application's backend calls: publish, broadcast, DMs, disconnects, room removal and bans, token revocation, presence and history. Every operation is a POST with a JSON body and an API key (PARLEY_API_KEYS). Errors are JSON `{error, message}` with a stable `error` code.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths: operationPaths(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: API_KEY_HEADER },
        bearer: { type: "http", scheme: "bearer", description: "The API key as a bearer token" },
      },
    },
  };
}
