import { isValidUser } from "@parley/protocol";
import { createLocalJWKSet, importSPKI, jwtVerify, type CryptoKey, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { AuthConfig } from "../config.js";

export interface Identity {
  readonly user: string;
  /** Token expiry, seconds since the Unix epoch, when the identity came from a token. */
  readonly exp: number | undefined;
}

export type IdentityResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: 400 | 401; readonly reason: string };

/**
 * Who is connecting: a verified JWT (`sub` is the user name) from the `token` query parameter,
 * or, in guest mode, the `name` query parameter.
 */
export class IdentityVerifier {
  private readonly key: Promise<Uint8Array | CryptoKey | JWTVerifyGetKey> | undefined;
  private readonly algorithms: string[];

  constructor(private readonly config: AuthConfig) {
    if (config.jwtSecret !== undefined) {
      this.key = Promise.resolve(new TextEncoder().encode(config.jwtSecret));
      this.algorithms = ["HS256"];
    } else if (config.jwtPublicKey !== undefined) {
      this.key = loadPublicKey(config.jwtPublicKey);
      this.algorithms = ["RS256", "ES256", "EdDSA"];
    } else {
      this.key = undefined;
      this.algorithms = [];
    }
    // A bad key is reported on first use; keep the rejection from being unhandled until then.
    this.key?.catch(() => undefined);
  }

  /** Synchronous answer for guests, so most upgrades need no async step. */
  guest(name: string): IdentityResult {
    if (!this.config.guests) return { ok: false, status: 401, reason: "guest access is disabled; pass ?token=<JWT>" };
    if (name === "") return { ok: false, status: 401, reason: "pass ?name=<user> (guest) or ?token=<JWT>" };
    if (!isValidUser(name)) {
      return { ok: false, status: 400, reason: "user names are 1-32 of A-Z a-z 0-9 _ . - and start with a letter or digit" };
    }
    return { ok: true, identity: { user: name, exp: undefined } };
  }

  async token(token: string): Promise<IdentityResult> {
    if (this.key === undefined) return { ok: false, status: 401, reason: "tokens are not accepted: no JWT key is configured" };
    try {
      const key = await this.key;
      const { payload } = await (typeof key === "function"
        ? jwtVerify(token, key, { algorithms: this.algorithms })
        : jwtVerify(token, key, { algorithms: this.algorithms }));
      const sub = payload.sub;
      if (typeof sub !== "string" || !isValidUser(sub)) return { ok: false, status: 401, reason: "token subject is not a valid user name" };
      return { ok: true, identity: { user: sub, exp: payload.exp } };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const reason = code === "ERR_JWT_EXPIRED" ? "token expired" : "invalid token";
      return { ok: false, status: 401, reason };
    }
  }
}

async function loadPublicKey(pem: string): Promise<CryptoKey | JWTVerifyGetKey> {
  if (pem.trim().startsWith("{")) {
    return createLocalJWKSet(JSON.parse(pem) as JSONWebKeySet);
  }
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    try {
      return await importSPKI(pem, alg);
    } catch {
      // try the next algorithm family
    }
  }
  throw new Error("PARLEY_JWT_PUBLIC_KEY is not a PEM public key (RSA, EC P-256 or Ed25519) or a JWKS");
}
