import { readFileSync } from "node:fs";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { describe, expect, it } from "vitest";
import { ApiErrorCode, PublishBody, RevokeBody, SERVER_API_PREFIX, serverApiDocument, serverOperations } from "../src/index.js";

describe("the server API's OpenAPI document", () => {
  it("is committed as generated: regenerate with `pnpm build && pnpm --filter @parley/protocol openapi` after changing a schema", () => {
    const committed: unknown = JSON.parse(readFileSync(new URL("../openapi.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(serverApiDocument())));
  });

  it("is OpenAPI 3.1 with one POST path per operation, each with its body and result schema", () => {
    const doc = serverApiDocument() as {
      openapi: string;
      paths: Record<string, { post: { operationId: string; requestBody: unknown; responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(serverOperations).map((op) => `${SERVER_API_PREFIX}${op}`).sort());
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(item.post.operationId).toBe(path.slice(SERVER_API_PREFIX.length));
      expect(Object.keys(item.post.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "429", "503"]));
      for (const ref of JSON.stringify(item).match(/#\/components\/schemas\/\w+/g) ?? []) {
        expect(doc.components.schemas[ref.split("/").pop() ?? ""], ref).toBeDefined();
      }
    }
  });

  it("lists every error code in the ApiError schema", () => {
    const text = JSON.stringify(serverApiDocument());
    for (const code of Object.values(ApiErrorCode)) expect(text).toContain(`"const":"${code}"`);
  });
});

describe("server API bodies", () => {
  const publish = TypeCompiler.Compile(PublishBody);
  const revoke = TypeCompiler.Compile(RevokeBody);

  it("accept what the docs show and refuse unknown fields, bad names and empty text", () => {
    expect(publish.Check({ room: "general", text: "hi" })).toBe(true);
    expect(publish.Check({ room: "general", text: "hi", from: "alice", idempotencyKey: "k-1" })).toBe(true);
    expect(publish.Check({ room: "general", text: "hi", extra: 1 })).toBe(false);
    expect(publish.Check({ room: "gen eral", text: "hi" })).toBe(false);
    expect(publish.Check({ room: "general", text: "" })).toBe(false);
  });

  it("revoke takes a jti, or a user with a time, not a mix", () => {
    expect(revoke.Check({ jti: "abc" })).toBe(true);
    expect(revoke.Check({ user: "bob", issuedBefore: 1_700_000_000_000 })).toBe(true);
    expect(revoke.Check({ user: "bob" })).toBe(false);
    expect(revoke.Check({ jti: "abc", user: "bob", issuedBefore: 1 })).toBe(false);
  });
});
