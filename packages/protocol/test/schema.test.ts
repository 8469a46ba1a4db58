import { describe, expect, it } from "vitest";
import {
  ERROR_CODES,
  ErrorCode,
  Limits,
  ROOM_PATTERN,
  SUBPROTOCOL,
  USER_PATTERN,
  clientSchemas,
  jsonSchema,
  serverSchemas,
} from "../src/index.js";

interface ObjectSchema {
  type: string;
  additionalProperties: boolean;
  required: string[];
  properties: Record<string, { const?: string; pattern?: string; maxLength?: number; anyOf?: { const: string }[] }>;
}

function defs(): { ClientEnvelope: { anyOf: ObjectSchema[] }; ServerEnvelope: { anyOf: ObjectSchema[] } } {
  return (jsonSchema() as { $defs: ReturnType<typeof defs> }).$defs;
}

function variant(union: { anyOf: ObjectSchema[] }, type: string): ObjectSchema {
  const found = union.anyOf.find((s) => s.properties.type?.const === type);
  if (found === undefined) throw new Error(`no variant ${type}`);
  return found;
}

/** Every key anywhere in a value, including symbol keys, which JSON cannot carry. */
function hasSymbolOrFunction(value: unknown): boolean {
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") return true;
  if (typeof value !== "object" || value === null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return true;
  return Object.values(value).some(hasSymbolOrFunction);
}

describe("jsonSchema()", () => {
  it("is plain JSON: no TypeBox symbols, survives a JSON round trip unchanged", () => {
    const schema = jsonSchema();
    expect(hasSymbolOrFunction(schema)).toBe(false);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
  });

  it("has both unions, with one variant per envelope type", () => {
    const { ClientEnvelope, ServerEnvelope } = defs();
    expect(ClientEnvelope.anyOf.map((s) => s.properties.type?.const).sort()).toEqual(Object.keys(clientSchemas).sort());
    expect(ServerEnvelope.anyOf.map((s) => s.properties.type?.const).sort()).toEqual(Object.keys(serverSchemas).sort());
  });

  it("closes every envelope object and requires its type", () => {
    const { ClientEnvelope, ServerEnvelope } = defs();
    for (const s of [...ClientEnvelope.anyOf, ...ServerEnvelope.anyOf]) {
      expect(s.type).toBe("object");
      expect(s.additionalProperties).toBe(false);
      expect(s.required).toContain("type");
    }
  });

  it("carries the limits and name grammar the decoder enforces", () => {
    const { ClientEnvelope, ServerEnvelope } = defs();
    const send = variant(ClientEnvelope, "send");
    expect(send.required.sort()).toEqual(["cid", "room", "text", "type"]);
    expect(send.properties.text?.maxLength).toBe(Limits.maxTextLength);
    expect(send.properties.room?.pattern).toBe(ROOM_PATTERN);
    expect(variant(ClientEnvelope, "dm").properties.to?.pattern).toBe(USER_PATTERN);
    expect(variant(ServerEnvelope, "welcome").properties.protocol?.const).toBe(SUBPROTOCOL);
  });

  it("lists exactly the error codes of the error table", () => {
    const error = variant(defs().ServerEnvelope, "error");
    expect(error.properties.code?.anyOf?.map((c) => c.const)).toEqual([...ERROR_CODES]);
    expect(ERROR_CODES).toEqual(Object.values(ErrorCode));
  });

  it("returns a fresh copy, so a caller that edits it cannot change the next one", () => {
    const first = jsonSchema();
    (first as { title: string }).title = "edited";
    defs().ClientEnvelope.anyOf.length = 0;
    expect(jsonSchema().title).toBe("Parley wire protocol v1");
    expect(defs().ClientEnvelope.anyOf).toHaveLength(Object.keys(clientSchemas).length);
  });
});

describe("limits", () => {
  it("error codes are unique snake_case strings", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it("the default history page fits within the maximum", () => {
    expect(Limits.defaultHistoryLimit).toBeLessThanOrEqual(Limits.maxHistoryLimit);
  });
});
