import { isValidRoom, isValidUser } from "@parley/protocol";

/*
 * What survives a reload: the profile (name and email, to fill the join form; the session copy
 * re-enters the chat without asking again) and each user's rooms. Storage can be disabled or
 * full, so every access tolerates failure, and what is read back is validated like input.
 */

export interface Profile {
  readonly name: string;
  readonly email: string;
}

export interface SavedRooms {
  readonly rooms: readonly string[];
  readonly active: string | undefined;
}

const PROFILE_KEY = "parley.profile";
const DEFAULT_ROOMS = ["lobby"];

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

export function loadRooms(user: string): SavedRooms {
  const value = read(local(), `parley.rooms.${user}`);
  const saved = typeof value === "object" && value !== null ? (value as { rooms?: unknown; active?: unknown }) : {};
  const rooms = Array.isArray(saved.rooms) ? saved.rooms.filter((r): r is string => typeof r === "string" && isValidRoom(r)).slice(0, 50) : [];
  const active = typeof saved.active === "string" && rooms.includes(saved.active) ? saved.active : undefined;
  return { rooms: rooms.length > 0 ? rooms : DEFAULT_ROOMS, active };
}

export function saveRooms(user: string, rooms: SavedRooms): void {
  write(local(), `parley.rooms.${user}`, rooms);
}
