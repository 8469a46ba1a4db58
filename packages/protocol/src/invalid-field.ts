import type { TSchema } from "@sinclair/typebox";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { Limits } from "./limits.js";
import { CID_PATTERN, ROOM_PATTERN, USER_PATTERN } from "./names.js";

/*
 * The sentence a `bad_request` carries: which field is wrong and how, in words a person reads
 * (the CLI and the chat client print it as it is), instead of the validator's JSON pointer and
 * wording: `text is too long: at most 4000 characters (got 4001)`, not
 * `/text: Expected string length less or equal to 4000`.
 */

/** What each name grammar is called and allows, for a value that does not match it. */
const GRAMMARS: Readonly<Record<string, string>> = {
  [ROOM_PATTERN]: `a room name: letters, digits, '_', '.' or '-', starting with a letter or digit, at most ${Limits.maxRoomLength} characters (or dm:<user>:<user>)`,
  [USER_PATTERN]: `a user name: letters, digits, '_', '.' or '-', starting with a letter or digit, at most ${Limits.maxUserLength} characters`,
  [CID_PATTERN]: `an id: 1 to ${Limits.maxCidLength} letters, digits, '_' or '-'`,
};

/** The keys of a JSON pointer: `/since/epoch` → `["since", "epoch"]`. */
function keysOf(path: string): string[] {
  if (path === "" || path === "/") return [];
  return path
    .slice(1)
    .split("/")
    .map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Keys as the field people know: `since.epoch`; odd keys quoted. */
function fieldName(keys: readonly string[]): string {
  if (keys.length === 0) return "the envelope";
  return keys.map((k) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k))).join(".");
}

/** A short, quoted rendering of an offending value. */
function shown(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function lengthOf(value: unknown): number | undefined {
  return typeof value === "string" ? value.length : undefined;
}

/**
 * One sentence for the first thing wrong with an envelope of `type`, starting with the name of
 * the field at fault.
 */
export function describeInvalid(type: string, error: ValueError | undefined): string {
  if (error === undefined) return `the ${type} envelope is not valid`;
  const keys = keysOf(error.path);
  const field = fieldName(keys);
  const schema: TSchema = error.schema;
  const { value } = error;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${field} is missing`;
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {});
      const parent = keys.length <= 1 ? `a ${type}` : fieldName(keys.slice(0, -1));
      return `${fieldName(keys.slice(-1))} is not a field of ${parent} (its fields: ${known.join(", ")})`;
    }
    case ValueErrorType.StringMaxLength:
      return `${field} is too long: at most ${String(schema["maxLength"])} characters (got ${String(lengthOf(value))})`;
    case ValueErrorType.StringMinLength:
      return schema["minLength"] === 1 ? `${field} must not be empty` : `${field} is too short: at least ${String(schema["minLength"])} characters`;
    case ValueErrorType.StringPattern: {
      const grammar = GRAMMARS[String(schema["pattern"])];
      return grammar !== undefined ? `${field} ${shown(value)} is not ${grammar}` : `${field} ${shown(value)} has the wrong form`;
    }
    case ValueErrorType.String:
      return `${field} must be a string, not ${shown(value)}`;
    case ValueErrorType.Integer:
      return `${field} must be a whole number, not ${shown(value)}`;
    case ValueErrorType.Number:
      return `${field} must be a number, not ${shown(value)}`;
    case ValueErrorType.Boolean:
      return `${field} must be true or false, not ${shown(value)}`;
    case ValueErrorType.Object:
      return `${field} must be an object, not ${shown(value)}`;
    case ValueErrorType.Array:
      return `${field} must be an array, not ${shown(value)}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `${field} must be at least ${String(schema["minimum"])} (got ${shown(value)})`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `${field} must be at most ${String(schema["maximum"])} (got ${shown(value)})`;
    case ValueErrorType.Literal:
      return `${field} must be ${shown(schema["const"])}, not ${shown(value)}`;
    default:
      return `${field} is not valid: ${error.message}`;
  }
}
