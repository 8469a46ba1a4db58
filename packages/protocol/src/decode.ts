import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import {
  clientSchemas,
  serverSchemas,
  type ClientEnvelope,
  type ClientType,
  type ServerEnvelope,
  type ServerType,
} from "./envelopes.js";
import { parseCanonicalMessage } from "./canonical-frame.js";
import { ErrorCode } from "./error-codes.js";
import { Limits } from "./limits.js";
import { describeInvalid } from "./invalid-field.js";
import { dmMembers, dmRoom, isCanonicalRoom } from "./names.js";

export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly message: string;
      /**
       * What the rejected envelope named itself by, when readable: the `cid` of a `send` or `dm`,
       * the `id` of any other request (see `refOf`).
       */
      readonly ref?: string;
      /** The `room` of the rejected envelope, when it had a readable one. */
      readonly room?: string;
    };

export interface DecodeOptions {
  /** Largest accepted frame in bytes; defaults to `Limits.maxFrameBytes`. */
  readonly maxFrameBytes?: number;
}

type Checkers<K extends string> = Readonly<Record<K, TypeCheck<TSchema>>>;

function compileAll<K extends string>(schemas: Record<K, TSchema>): Checkers<K> {
  const out = {} as Record<K, TypeCheck<TSchema>>;
  for (const key of Object.keys(schemas) as K[]) out[key] = TypeCompiler.Compile(schemas[key]);
  return out;
}

// Compiled once at module load: validation is then a generated function, no interpretation.
const clientCheckers: Checkers<ClientType> = compileAll(clientSchemas);
const serverCheckers: Checkers<ServerType> = compileAll(serverSchemas);

const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail<T>(code: ErrorCode, message: string, value?: unknown): DecodeResult<T> {
  const ref = refOf(value);
  const room = readString(value, "room");
  return {
    ok: false,
    code,
    message,
    ...(ref !== undefined ? { ref } : {}),
    ...(room !== undefined ? { room } : {}),
  };
}

/**
 * The reference an error echoes: a `send` or `dm` is known by its `cid`, every other request by
 * its request `id` (falling back to a `cid`, for a frame of unknown type that carries one).
 */
function refOf(value: unknown): string | undefined {
  const type = readString(value, "type");
  if (type === "send" || type === "dm") return readString(value, "cid");
  return readString(value, "id") ?? readString(value, "cid");
}

/** Reads a short string field for error correlation, never trusting its shape. */
function readString(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" && field.length <= 128 ? field : undefined;
}

/**
 * Whether `frame`'s UTF-8 encoding is longer than `maxBytes`. A JS string's UTF-8 size is at most
 * 3 bytes per code unit, so short strings are decided without looking at them; longer ones are
 * counted, stopping as soon as the count passes the limit. A lone surrogate counts 3 bytes: the
 * U+FFFD that `TextEncoder` (and a WebSocket) writes in its place.
 */
function exceedsBytes(frame: string, maxBytes: number): boolean {
  if (frame.length > maxBytes) return true;
  if (frame.length * 3 <= maxBytes) return false;
  let bytes = 0;
  for (let i = 0; i < frame.length && bytes <= maxBytes; i++) {
    const c = frame.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < frame.length && isLowSurrogate(frame.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes > maxBytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function decodeWith<K extends string, T>(
  frame: string | Uint8Array,
  checkers: Checkers<K>,
  options: DecodeOptions | undefined,
): DecodeResult<T> {
  const maxBytes = options?.maxFrameBytes ?? Limits.maxFrameBytes;
  let text: string;
  if (typeof frame === "string") {
    if (exceedsBytes(frame, maxBytes)) {
      return fail(ErrorCode.tooLarge, `frame exceeds ${maxBytes} bytes`);
    }
    text = frame;
  } else {
    if (frame.byteLength > maxBytes) return fail(ErrorCode.tooLarge, `frame exceeds ${maxBytes} bytes`);
    // Most frames are messages spelled as the SDKs spell them: those skip decoding the whole
    // frame and JSON.parse. Anything that is not, or is not valid, takes the general path below.
    const message = parseCanonicalMessage(frame);
    if (message !== undefined && isValid(message, checkers)) return { ok: true, value: message as T };
    try {
      text = utf8.decode(frame);
    } catch {
      return fail(ErrorCode.badJson, "frame is not valid UTF-8");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(ErrorCode.badJson, "frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(ErrorCode.badRequest, "an envelope must be a JSON object");
  }
  const type: unknown = (value as { type?: unknown }).type;
  if (typeof type !== "string") return fail(ErrorCode.badRequest, "missing string field 'type'", value);
  if (!Object.hasOwn(checkers, type)) {
    return fail(ErrorCode.unknownType, `unknown type '${type.slice(0, 32)}'`, value);
  }
  const checker = checkers[type as K];
  if (!checker.Check(value)) {
    return fail(ErrorCode.badRequest, describeInvalid(type, checker.Errors(value).First()), value);
  }
  if (!hasCanonicalRoom(value)) return fail(ErrorCode.badRequest, unsortedDmRoom((value as { room: string }).room), value);
  return { ok: true, value: value as T };
}

function unsortedDmRoom(room: string): string {
  const pair = dmMembers(room);
  const sorted = pair === undefined ? room : dmRoom(pair[0], pair[1]);
  return `room ${JSON.stringify(room)} must name its two users sorted: ${JSON.stringify(sorted)}, as dmRoom() does`;
}

function isValid<K extends string>(value: { readonly type: string }, checkers: Checkers<K>): boolean {
  return Object.hasOwn(checkers, value.type) && checkers[value.type as K].Check(value) && hasCanonicalRoom(value);
}

/**
 * The schema's room pattern accepts `dm:bob:alice`; only `dm:alice:bob` is that DM's name. An
 * `error`'s `room` is an echo of whatever the request said, not a room name, so it is exempt.
 */
function hasCanonicalRoom(value: object): boolean {
  const { type, room } = value as { type?: unknown; room?: unknown };
  return type === "error" || typeof room !== "string" || isCanonicalRoom(room);
}

/**
 * Decodes one client frame. Never throws: any input yields either a valid envelope or a coded
 * error whose `ref`/`room` echo the request where they could be read.
 */
export function decodeClient(frame: string | Uint8Array, options?: DecodeOptions): DecodeResult<ClientEnvelope> {
  return decodeWith(frame, clientCheckers, options);
}

/** Decodes one server frame (for clients and tests). Never throws. */
export function decodeServer(frame: string | Uint8Array, options?: DecodeOptions): DecodeResult<ServerEnvelope> {
  return decodeWith(frame, serverCheckers, { maxFrameBytes: options?.maxFrameBytes ?? Number.MAX_SAFE_INTEGER });
}

/** Whether a value is a valid client envelope (for property tests and SDK-side checks). */
export function isClientEnvelope(value: unknown): value is ClientEnvelope {
  if (typeof value !== "object" || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    typeof type === "string" &&
    Object.hasOwn(clientCheckers, type) &&
    clientCheckers[type as ClientType].Check(value) &&
    hasCanonicalRoom(value)
  );
}

/** Whether a value is a valid server envelope. */
export function isServerEnvelope(value: unknown): value is ServerEnvelope {
  if (typeof value !== "object" || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return (
    typeof type === "string" &&
    Object.hasOwn(serverCheckers, type) &&
    serverCheckers[type as ServerType].Check(value) &&
    hasCanonicalRoom(value)
  );
}
