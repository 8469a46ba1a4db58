import { createHash } from "node:crypto";
import { isValidUser } from "@parley/protocol";
import { createLocalJWKSet, importSPKI, jwtVerify, type CryptoKey, type JSONWebKeySet, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import type { AuthConfig } from "../config.js";
import { roomPatternsProblem } from "../domain/room-access.js";

export interface Identity {
  readonly user: string;
  /** Token expiry, seconds since the Unix epoch, when the identity came from a token. */
  readonly exp: number | undefined;
  /** The token's `rooms` claim (room patterns, see room-access.ts), when it had one. */
  readonly rooms: readonly string[] | undefined;
  /** Present when the identity came from a token: its `jti` and `iat` (seconds), for revocations. */
  readonly token?: { readonly jti: string | undefined; readonly iat: number | undefined };
  /**
   * A guest's browser: a hash of the `key` it sent ("" when it sent none). Undefined for a
   * token's user (JWT mode is unchanged: no name claims).
   */
  readonly guestKey?: string;
}

/** A guest's browser secret: long enough not to be guessed, URL-safe. */
const GUEST_KEY = /^[A-Za-z0-9_-]{16,128}$/;

export type IdentityResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string };

/** Public-key algorithms accepted; a key only ever verifies its own family (no `alg` confusion). */
const PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;
/** Longer tokens are refused unread (uWS caps the request head at a few KiB anyway). */
const MAX_TOKEN_LENGTH = 8192;

interface VerificationKey {
  readonly key: Uint8Array | CryptoKey | JWTVerifyGetKey;
  readonly algorithms: readonly string[];
}

/**
 * Who is connecting: a verified JWT (`sub` is the user name) from the `token` query parameter or
 * an `Authorization: Bearer` header, or, in guest mode, the `name` query parameter.
 *
 * Keys: `PARLEY_JWT_SECRET` (HS256), `PARLEY_JWT_PUBLIC_KEY` (SPKI PEM of an RSA, P-256 or
 * Ed25519 key, or a JWK set as JSON) or `PARLEY_JWT_JWKS_FILE`. `exp` is enforced when present,
 * `aud`/`iss` when PARLEY_JWT_AUDIENCE/PARLEY_JWT_ISSUER are set; `nbf` as jose does.
 */
export class IdentityVerifier {
  private readonly key: Promise<VerificationKey> | undefined;

  constructor(private readonly config: AuthConfig) {
    if (config.jwtSecret !== undefined) {
      this.key = Promise.resolve({ key: new TextEncoder().encode(config.jwtSecret), algorithms: ["HS256"] });
    } else if (config.jwtJwks !== undefined) {
      this.key = Promise.resolve({ key: createLocalJWKSet(config.jwtJwks as JSONWebKeySet), algorithms: PUBLIC_KEY_ALGORITHMS });
    } else if (config.jwtPublicKey !== undefined) {
      this.key = loadPublicKey(config.jwtPublicKey);
    } else {
      this.key = undefined;
    }
    // A bad key fails `check()` at start; keep the rejection from being unhandled until then.
    this.key?.catch(() => undefined);
  }

  /** Rejects when the configured key cannot be used, so the gateway refuses to start. */
  async check(): Promise<void> {
    await this.key;
  }

  /** Synchronous answer for guests, so most upgrades need no async step. */
  guest(name: string, key = ""): IdentityResult {
    if (!this.config.guests) return { ok: false, status: 401, reason: "guest access is disabled; pass ?token=<JWT>" };
    if (name === "") return { ok: false, status: 401, reason: "pass ?name=<user> (guest) or ?token=<JWT>" };
    if (!isValidUser(name)) {
      return { ok: false, status: 400, reason: "user names are 1-32 of A-Z a-z 0-9 _ . - and start with a letter or digit" };
    }
    if (name === this.config.systemUser) return { ok: false, status: 400, reason: `the name ${name} is reserved` };
    if (key !== "" && !GUEST_KEY.test(key)) return { ok: false, status: 400, reason: "a guest key is 16-128 of A-Z a-z 0-9 _ -" };
    // Only a hash is kept (in Redis too): the secret itself never leaves this process.
    const guestKey = key === "" ? "" : createHash("sha256").update(key).digest("base64url").slice(0, 32);
    return { ok: true, identity: { user: name, exp: undefined, rooms: undefined, guestKey } };
  }

  async token(token: string): Promise<IdentityResult> {
    if (this.key === undefined) return { ok: false, status: 401, reason: "tokens are not accepted: no JWT key is configured" };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, status: 401, reason: "invalid token" };
    try {
      const { key, algorithms } = await this.key;
      const options: JWTVerifyOptions = {
        algorithms: [...algorithms],
        ...(this.config.jwtAudience !== undefined ? { audience: this.config.jwtAudience } : {}),
        ...(this.config.jwtIssuer !== undefined ? { issuer: this.config.jwtIssuer } : {}),
      };
      const { payload } = await (typeof key === "function" ? jwtVerify(token, key, options) : jwtVerify(token, key, options));
      const sub = payload.sub;
      if (typeof sub !== "string" || !isValidUser(sub)) return { ok: false, status: 401, reason: "token subject is not a valid user name" };
      if (sub === this.config.systemUser) return { ok: false, status: 401, reason: `the name ${sub} is reserved` };
      const rooms: unknown = payload["rooms"];
      if (rooms !== undefined) {
        const problem = roomPatternsProblem(rooms);
        if (problem !== undefined) return { ok: false, status: 401, reason: `token rooms claim ${problem}` };
      }
      const jti = typeof payload.jti === "string" ? payload.jti : undefined;
      return { ok: true, identity: { user: sub, exp: payload.exp, rooms: rooms as readonly string[] | undefined, token: { jti, iat: payload.iat } } };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const reason =
        code === "ERR_JWT_EXPIRED" ? "token expired" : code === "ERR_JWT_CLAIM_VALIDATION_FAILED" ? `token ${(err as { claim?: string }).claim ?? "claim"} not accepted` : "invalid token";
      return { ok: false, status: 401, reason };
    }
  }
}

/** The token of an HTTP request: `Authorization: Bearer <jwt>` first, else `?token=`. */
export function bearerToken(authorization: string, queryToken: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1] ?? queryToken;
}

async function loadPublicKey(text: string): Promise<VerificationKey> {
  if (text.trim().startsWith("{")) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(text) as JSONWebKeySet;
    } catch {
      throw new Error("PARLEY_JWT_PUBLIC_KEY looks like JSON but does not parse as a JWK set");
    }
    return { key: createLocalJWKSet(jwks), algorithms: PUBLIC_KEY_ALGORITHMS };
  }
  for (const alg of PUBLIC_KEY_ALGORITHMS) {
    try {
      return { key: await importSPKI(text, alg), algorithms: [alg] };
    } catch {
      // try the next algorithm family
    }
  }
  throw new Error("PARLEY_JWT_PUBLIC_KEY is not a PEM public key (RSA, EC P-256 or Ed25519) or a JWK set");
}
