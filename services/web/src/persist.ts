import { isValidRoom, isValidUser } from "@parley/protocol";

/*
 * What survives a reload: the profile (name and email, to fill the join form; the session copy
 * re-enters the chat without asking again), the room each user had open, and this browser's
 * guest key. Storage can be disabled or full, so every access tolerates failure, and what is
 * read back is validated like input.
 */

export interface Profile {
  readonly name: string;
  readonly email: string;
}

const PROFILE_KEY = "parley.profile";
const KEY_KEY = "parley.key";

function read(storage: Storage | undefined, key: string): unknown {
  try {
    const raw = storage?.getItem(key);
    return raw == null ? undefined : (JSON.parse(raw) as unknown);
  } catch {
    return undefined;
  }
}

function write(storage: Storage | undefined, key: string, value: unknown): void {
  try {
    if (value === undefined) storage?.removeItem(key);
    else storage?.setItem(key, JSON.stringify(value));
  } catch {
    // Storage disabled or full: the app still works, it just forgets on reload.
  }
}

function local(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

function session(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

function asProfile(value: unknown): Profile | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { name, email } = value as { name?: unknown; email?: unknown };
  if (typeof name !== "string" || !isValidUser(name)) return undefined;
  return { name, email: typeof email === "string" ? email.slice(0, 254) : "" };
}

/** The last profile used in this browser (fills the join form). */
export function lastProfile(): Profile | undefined {
  return asProfile(read(local(), PROFILE_KEY));
}

/** The profile of this tab's session, if it already joined (a reload goes straight back in). */
export function sessionProfile(): Profile | undefined {
  return asProfile(read(session(), PROFILE_KEY));
}

export function saveProfile(profile: Profile | undefined): void {
  if (profile !== undefined) write(local(), PROFILE_KEY, profile);
  write(session(), PROFILE_KEY, profile);
}

/** The conversation this user had on screen last (their rooms themselves are kept by the server). */
export function loadActive(user: string): string | undefined {
  const value = read(local(), `parley.active.${user}`);
  return typeof value === "string" && isValidRoom(value) ? value : undefined;
}

export function saveActive(user: string, room: string | undefined): void {
  write(local(), `parley.active.${user}`, room);
}

/**
 * This browser's guest key: a random secret made once and kept, sent with the name on every
 * connect. The server lets only the browser holding a name's key use it (more tabs included).
 */
export function guestKey(): string | undefined {
  const storage = local();
  const saved = read(storage, KEY_KEY);
  if (typeof saved === "string" && /^[A-Za-z0-9_-]{16,128}$/.test(saved)) return saved;
  const subtle = globalThis.crypto as Crypto | undefined;
  if (subtle === undefined || storage === undefined) return undefined;
  const bytes = subtle.getRandomValues(new Uint8Array(24));
  const key = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
  write(storage, KEY_KEY, key);
  // Storage may refuse (private mode, full): without a kept key there is no key at all.
  return read(storage, KEY_KEY) === key ? key : undefined;
}
