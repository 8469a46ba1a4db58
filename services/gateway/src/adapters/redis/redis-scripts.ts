import { readFileSync } from "node:fs";

/*
 * The Lua scripts (services/gateway/lua, shipped beside dist/). Each runs atomically on the Redis
 * that owns its keys' slot, which is what makes "append + publish" one step (offset order =
 * publish order) and presence counts race-free. A script names its KEYS and ARGV in its first
 * lines; shared helpers live in lua/lib and are pulled in by a `--#include lib/<file>.lua` line
 * (Redis runs one self-contained text per script, so the loader inlines them, each once).
 */

/** The scripts folder: `lua/` at the package root, from src/adapters/redis or dist/adapters/redis. */
const LUA_DIR = new URL("../../../lua/", import.meta.url);

const INCLUDE = /^--#include (lib\/[a-z0-9-]+\.lua)$/gm;

export interface LuaScript {
  readonly name: string;
  /** The script with its includes inlined. */
  readonly lua: string;
  /** How many of the call's arguments are keys: the highest `KEYS[n]` the script names. */
  readonly numberOfKeys: number;
}

function readLua(path: string): string {
  return readFileSync(new URL(path, LUA_DIR), "utf8");
}

/** Inlines `--#include` lines depth first, each library once (the first include wins). */
function inline(text: string, included: Set<string>): string {
  return text.replace(INCLUDE, (_line, path: string) => {
    if (included.has(path)) return `-- (${path} is included above)`;
    included.add(path);
    const lib = readLua(path);
    if (/\b(KEYS|ARGV)\[/.test(lib)) throw new Error(`${path}: a library takes its keys and arguments as parameters`);
    return inline(lib, included);
  });
}

const loaded = new Map<string, LuaScript>();

/** Reads `lua/<name>.lua` with its includes (once per process). Throws if the file is missing. */
export function loadScript(name: string): LuaScript {
  let script = loaded.get(name);
  if (script === undefined) {
    script = readScript(name);
    loaded.set(name, script);
  }
  return script;
}

function readScript(name: string): LuaScript {
  const own = readLua(`${name}.lua`);
  let numberOfKeys = 0;
  for (const match of own.matchAll(/\bKEYS\[(\d+)\]/g)) numberOfKeys = Math.max(numberOfKeys, Number(match[1]));
  return { name, lua: inline(own, new Set()), numberOfKeys };
}
